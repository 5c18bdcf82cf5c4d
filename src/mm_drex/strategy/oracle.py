"""How much routing could be worth, and how much of it the router captures.

Routing among the experts can add value only where the state is perceivable
and the experts differ by state. The diagnostics below execute, with the
backtest engine (costs, limits, next-open execution, each segment run from
flat), exposure paths that the router **cannot** trade because they read the
future, beside the router itself and uniform weights:

| candidate | weights and exposures |
|---|---|
| ``uniform`` | 1/4 each, the experts' default exposures |
| ``sft_only`` | the SFT router's weights, default exposures |
| ``mm_drex`` | the trained policy's weights and exposures (mean over seeds) |
| ``oracle_router_mapping`` | the SFT router fed the *true* regime: ``softmax(log w_sft + B (onehot(y) − p))`` (its own regime-to-expert matrix ``B``) |
| ``oracle_fixed_weights`` | one weight vector per *true* regime, each chosen on the ``fit_segment`` (a simplex grid; the other regimes at 1/4 while one is searched) |
| ``oracle_regime_pools`` | 1/4 each, every expert trading its *true* regime's pool |
| ``oracle_hindsight_expert`` | at each bar the expert whose exposure earns most over the next ``horizon`` bars |

``captured share = (router − uniform) / (oracle − uniform)`` of the
equal-market Sharpe ratio: 1 when the router reaches the oracle, 0 when it is
no better than uniform weights, negative when it is worse (undefined when the
oracle does not beat uniform weights; a small headroom makes the share
noisy, so the report prints the headroom beside it).

The weights the router gives by *predicted* regime are tested against noise
with a block permutation: the statistic is the share of the weights' variance
explained by the predicted regime (the between-regime sum of squares over the
total); the null draws shift each instrument's predicted-regime sequence
circularly by a random offset, which keeps the persistence of both series and
breaks only their alignment.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mm_drex.backtest.metrics import sharpe_ratio
from mm_drex.backtest.projection import ExposureLimits
from mm_drex.backtest.settings import BacktestSettings
from mm_drex.experts.templates import EXPERTS
from mm_drex.regimes.labels import REGIMES
from mm_drex.rl.env import LOG_FLOOR, softmax
from mm_drex.rl.panel import PanelArrays
from mm_drex.rl.settings import DiagnosticsSettings
from mm_drex.strategy.mixing import (
    equal_market_score,
    segment_net_returns,
    segment_sharpes,
    simplex_grid,
)

ROUTER = "mm_drex"
UNIFORM = "uniform"
ORACLES = (
    "oracle_router_mapping",
    "oracle_fixed_weights",
    "oracle_regime_pools",
    "oracle_hindsight_expert",
)
CANDIDATES = (UNIFORM, "sft_only", ROUTER, *ORACLES)
RETURN_COLUMNS = [
    "candidate",
    "instrument",
    "market",
    "segment",
    "timestamp",
    "target_exposure",
    "net_return",
]


def regime_codes(labels: pd.Series) -> np.ndarray:
    """``(N,)`` index of each row's regime in :data:`REGIMES` (-1: no label)."""
    index = {r: i for i, r in enumerate(REGIMES)}
    return labels.map(index).fillna(-1).to_numpy(np.int64)


def router_mapping_weights(
    panel: PanelArrays, truth: np.ndarray, regime_to_expert: np.ndarray
) -> np.ndarray:
    """The SFT router's weights had it seen the true regime ``(N, 4)``.

    ``log w = f(z) + B p + c`` (the router's routing head), so replacing ``p``
    by the one-hot true regime is ``log w_sft + B (onehot − p)``; rows
    without a label keep the router's weights.
    """
    onehot = np.zeros_like(panel.regime_probs)
    known = truth >= 0
    onehot[known, truth[known]] = 1.0
    delta = np.where(known[:, None], onehot - panel.regime_probs, 0.0)
    logits = (
        np.log(np.maximum(panel.sft_weights, LOG_FLOOR)) + delta @ regime_to_expert.T
    )
    return softmax(logits)


def true_pool_exposures(panel: PanelArrays, truth: np.ndarray) -> np.ndarray:
    """``(N, 4)``: every expert trading its true regime's pool (default
    exposure where the row has no label)."""
    rows = np.arange(len(panel))
    pooled = panel.pool_exposures[rows, :, np.maximum(truth, 0)]
    return np.where((truth >= 0)[:, None], pooled, panel.exposures)


def close_to_close(panel: PanelArrays) -> np.ndarray:
    """``(N,)`` the asset's return over bar ``t`` (close ``t-1`` -> close ``t``)."""
    return (1.0 + panel.overnight) * (1.0 + panel.intraday) - 1.0


def hindsight_expert(panel: PanelArrays, horizon: int) -> np.ndarray:
    """``(N,)`` index of the expert whose exposure path earns most (gross)
    over bars ``t+1 .. t+horizon`` of the same instrument (reads the future)."""
    asset = close_to_close(panel)
    # exposure decided at t earns bar t+1; rows of one instrument are contiguous
    earned = np.zeros_like(panel.exposures)
    earned[:-1] = panel.exposures[:-1] * asset[1:, None]
    earned[:-1] *= panel.has_next[:-1, None]
    gain = np.zeros_like(panel.exposures)
    for instrument_id in np.unique(panel.instrument_id):
        rows = np.flatnonzero(panel.instrument_id == instrument_id)
        cumulative = np.vstack([np.zeros(len(EXPERTS)), np.cumsum(earned[rows], 0)])
        stop = np.minimum(np.arange(len(rows)) + horizon, len(rows))
        gain[rows] = cumulative[stop] - cumulative[np.arange(len(rows))]
    return gain.argmax(axis=1)


def fixed_weights_per_regime(
    panel: PanelArrays,
    truth: np.ndarray,
    segment: str,
    limits: ExposureLimits,
    grid_step: float,
) -> tuple[np.ndarray, pd.DataFrame]:
    """One weight vector per true regime ``(3, 4)``, each the grid point with
    the best ``segment`` score when the rows of that regime use it and the
    others use 1/4 each. Returns ``(weights, choices)``."""
    grid = simplex_grid(grid_step)
    chosen = np.full((len(REGIMES), len(EXPERTS)), 1.0 / len(EXPERTS))
    uniform = np.full(len(EXPERTS), 1.0 / len(EXPERTS))
    candidates = panel.exposures @ grid.T
    rows = []
    for r, regime in enumerate(REGIMES):
        current = np.where((truth >= 0)[:, None], chosen[np.maximum(truth, 0)], uniform)
        base = (current * panel.exposures).sum(axis=1)
        targets = np.where((truth == r)[:, None], candidates, base[:, None])
        score = equal_market_score(
            segment_sharpes(panel, targets, segment, limits)
        ).to_numpy()
        best = int(np.nanargmax(score))
        chosen[r] = grid[best]
        rows.append(
            {
                "regime": regime,
                "chosen_on": segment,
                **{f"w_{e}": grid[best, k] for k, e in enumerate(EXPERTS)},
                "score": float(score[best]),
            }
        )
    return chosen, pd.DataFrame(rows)


def candidate_targets(
    panel: PanelArrays,
    truth: np.ndarray,
    router_targets: np.ndarray,
    regime_to_expert: np.ndarray,
    fixed_weights: np.ndarray,
    horizon: int,
) -> np.ndarray:
    """``(N, len(CANDIDATES))`` target exposures of every candidate."""
    uniform = np.full(len(EXPERTS), 1.0 / len(EXPERTS))
    mapped = router_mapping_weights(panel, truth, regime_to_expert)
    regime_weights = np.where(
        (truth >= 0)[:, None], fixed_weights[np.maximum(truth, 0)], uniform
    )
    best = hindsight_expert(panel, horizon)
    columns = {
        UNIFORM: panel.exposures @ uniform,
        "sft_only": (panel.sft_weights * panel.exposures).sum(axis=1),
        ROUTER: router_targets,
        "oracle_router_mapping": (mapped * panel.exposures).sum(axis=1),
        "oracle_fixed_weights": (regime_weights * panel.exposures).sum(axis=1),
        "oracle_regime_pools": true_pool_exposures(panel, truth) @ uniform,
        "oracle_hindsight_expert": panel.exposures[np.arange(len(panel)), best],
    }
    return np.column_stack([columns[c] for c in CANDIDATES])


def router_targets_of(
    panel_frame: pd.DataFrame, routing: pd.DataFrame, strategy: str = ROUTER
) -> np.ndarray:
    """``(N,)`` the router's mean target exposure over seeds per panel row
    (NaN where it made no decision)."""
    mine = routing[routing["strategy"] == strategy]
    if mine.empty:
        raise ValueError(f"mmdrex_routing has no decision of strategy '{strategy}'")
    mean = mine.groupby(["instrument", "timestamp"])["mixed_exposure"].mean()
    keys = pd.MultiIndex.from_frame(panel_frame[["instrument", "timestamp"]])
    return mean.reindex(keys).to_numpy(float)


def routing_returns(
    panel_frame: pd.DataFrame,
    panel: PanelArrays,
    routing: pd.DataFrame,
    regime_to_expert: np.ndarray,
    limits: ExposureLimits,
    settings: DiagnosticsSettings,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every candidate's net returns on ``settings.segments`` (one row per
    candidate, instrument and executed bar) and the per-regime fixed weights
    chosen on ``settings.fit_segment``."""
    truth = regime_codes(panel_frame["regime"])
    fixed, choices = fixed_weights_per_regime(
        panel, truth, settings.fit_segment, limits, settings.grid_step
    )
    router = router_targets_of(panel_frame, routing)
    targets = candidate_targets(
        panel,
        truth,
        router,
        np.asarray(regime_to_expert, float),
        fixed,
        settings.horizon,
    )
    timestamps = panel_frame["timestamp"].to_numpy()
    frames = []
    for segment in settings.segments:
        runs = panel.segment_runs(segment)
        missing = [a for a, b in runs if np.isnan(router[a:b]).any()]
        if missing:
            raise ValueError(
                f"routing diagnostics: strategy '{ROUTER}' has no decision on part of "
                f"the '{segment}' rows of {panel.instrument[missing[0]]}; add "
                f"'{segment}' to expert_rl.strategy.segments"
            )
        for first, stop, net in segment_net_returns(panel, targets, segment, limits):
            for p, candidate in enumerate(CANDIDATES):
                frames.append(
                    pd.DataFrame(
                        {
                            "candidate": candidate,
                            "instrument": panel.instrument[first],
                            "market": panel.market[first],
                            "segment": segment,
                            "timestamp": timestamps[first + 1 : stop],
                            "target_exposure": targets[first : stop - 1, p],
                            "net_return": net[:, p],
                        }
                    )
                )
    return pd.concat(frames, ignore_index=True)[RETURN_COLUMNS], choices


def weights_by_predicted_regime(
    panel_frame: pd.DataFrame,
    routing: pd.DataFrame,
    segment: str,
    permutations: int,
    seed: int,
    strategy: str = ROUTER,
) -> pd.DataFrame:
    """Mean routing weights and |net exposure| of ``strategy`` by the SFT
    router's predicted regime on ``segment`` (seeds pooled), with the block
    permutation test of the module docstring (columns ``r2``, ``p_value``)."""
    probs = panel_frame[["instrument", "timestamp", *[f"p_{r}" for r in REGIMES]]]
    mine = routing[(routing["strategy"] == strategy) & (routing["segment"] == segment)]
    table = mine.merge(probs, on=["instrument", "timestamp"], how="left")
    predicted = table[[f"p_{r}" for r in REGIMES]].to_numpy(float).argmax(axis=1)
    weights = table[[f"w_{e}" for e in EXPERTS]].to_numpy(float)
    groups = list(table.groupby(["instrument", "seed"], sort=False).indices.values())
    observed = explained_share(weights, predicted)
    rng = np.random.default_rng(seed)
    null = np.empty(permutations)
    for draw in range(permutations):
        shifted = predicted.copy()
        for rows in groups:
            shifted[rows] = np.roll(predicted[rows], int(rng.integers(len(rows))))
        null[draw] = explained_share(weights, shifted)
    p_value = (1 + np.sum(null >= observed)) / (1 + permutations)
    out = []
    for r, regime in enumerate(REGIMES):
        chosen = predicted == r
        out.append(
            {
                "segment": segment,
                "predicted_regime": regime,
                "n_decisions": int(chosen.sum()),
                **{
                    f"w_{e}": float(weights[chosen, k].mean())
                    if chosen.any()
                    else np.nan
                    for k, e in enumerate(EXPERTS)
                },
                "mean_abs_exposure": float(
                    np.abs(table["mixed_exposure"].to_numpy()[chosen]).mean()
                )
                if chosen.any()
                else np.nan,
                "r2": observed,
                "p_value": float(p_value),
            }
        )
    return pd.DataFrame(out)


def explained_share(weights: np.ndarray, groups: np.ndarray) -> float:
    """Between-group sum of squares of ``weights`` ``(n, k)`` over the total."""
    centred = weights - weights.mean(axis=0)
    total = float((centred**2).sum())
    if total == 0.0:
        return 0.0
    between = 0.0
    for g in np.unique(groups):
        members = groups == g
        between += members.sum() * float((centred[members].mean(axis=0) ** 2).sum())
    return between / total


def summary(
    returns: pd.DataFrame, periods_per_year: Mapping[str, float]
) -> pd.DataFrame:
    """Per segment and candidate: equal-market Sharpe, mean |target exposure|
    and, for the router and SFT-only, the captured share of every oracle."""
    frame = returns.assign(
        periods=returns["instrument"].map(periods_per_year).to_numpy(float)
    )
    rows = []
    for (segment, candidate, _), group in frame.groupby(
        ["segment", "candidate", "instrument"], sort=False
    ):
        rows.append(
            {
                "segment": segment,
                "candidate": candidate,
                "market": group["market"].iat[0],
                "sharpe": float(
                    sharpe_ratio(
                        group["net_return"].to_numpy(), group["periods"].iat[0]
                    )
                ),
                "abs_exposure": float(group["target_exposure"].abs().mean()),
            }
        )
    per_instrument = pd.DataFrame(rows)
    by_market = per_instrument.groupby(["segment", "candidate", "market"])[
        ["sharpe", "abs_exposure"]
    ].mean()
    table = by_market.groupby(level=["segment", "candidate"]).mean().reset_index()
    score = table.pivot(index="segment", columns="candidate", values="sharpe")
    for learner in ("sft_only", ROUTER):
        for oracle in ORACLES:
            headroom = score[oracle] - score[UNIFORM]
            share = ((score[learner] - score[UNIFORM]) / headroom).where(headroom > 0)
            table[f"captured_{learner}_{oracle}"] = np.where(
                table["candidate"] == learner, table["segment"].map(share), np.nan
            )
    order = {c: i for i, c in enumerate(CANDIDATES)}
    return table.sort_values(
        ["segment", "candidate"],
        key=lambda c: c.map(order) if c.name == "candidate" else c,
    ).reset_index(drop=True)


def regime_to_expert_matrix(router_tensors: Mapping[str, Any]) -> np.ndarray:
    """The router's ``B`` ``(4, 3)`` from its saved tensors."""
    keys = [k for k in router_tensors if k.split(".")[-1] == "regime_to_expert"]
    if len(keys) != 1:
        raise ValueError(
            "routing diagnostics: the router's tensors hold "
            f"{len(keys)} 'regime_to_expert' matrices (keys {keys}); expected one"
        )
    matrix = np.asarray(router_tensors[keys[0]].detach().cpu().numpy(), float)
    if matrix.shape != (len(EXPERTS), len(REGIMES)):
        raise ValueError(
            f"routing diagnostics: {keys[0]} has shape {matrix.shape}, expected "
            f"{(len(EXPERTS), len(REGIMES))}"
        )
    return matrix


def stage_diagnostics(
    rl_panel: pd.DataFrame,
    instruments: pd.DataFrame,
    routing: pd.DataFrame,
    router_tensors: Mapping[str, Any],
    settings: DiagnosticsSettings,
    backtest: BacktestSettings,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The diagnostics of one run of the chain (a fold, or the single split).

    Returns ``(returns, summary, oracle_weights, by_predicted_regime)``:
    every candidate's net returns, the per-segment summary with captured
    shares, the per-regime fixed weights and the router's weights by
    predicted regime per segment with the permutation test.
    """
    panel = PanelArrays.for_backtest(rl_panel, instruments, backtest)
    returns, choices = routing_returns(
        rl_panel,
        panel,
        routing,
        regime_to_expert_matrix(router_tensors),
        backtest.limits,
        settings,
    )
    periods = instruments.set_index("instrument")["periods_per_year"].to_dict()
    by_regime = pd.concat(
        [
            weights_by_predicted_regime(
                rl_panel, routing, segment, settings.permutations, settings.seed
            )
            for segment in settings.segments
        ],
        ignore_index=True,
    )
    return returns, summary(returns, periods), choices, by_regime
