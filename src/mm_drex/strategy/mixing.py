"""Fixed-weight mixes of the experts: the MM-DREX ablations that need no policy.

Every strategy here is ``e_t = Σ_k w_k,t h_k,t`` (paper-notes v3, ``h_raw``)
with the experts' default exposures and weights that do not depend on the
sleeve, so the whole exposure path is one vectorised product; the backtest
engine then projects and executes it. The weights are

- ``uniform``: ``1/4`` each;
- ``static``: one weight vector for all decisions, *learned on train*: the
  point of a simplex grid whose mix has the best after-cost train score;
- ``single expert``: the expert with the best validation score (per market,
  or over all markets);
- ``router``: a router's own weights per decision (the SFT router, or a
  router trained without the chart view).

Scores are the backtest engine's after-cost Sharpe ratios of each
instrument's segment, averaged equally over markets (the mean over markets of
the mean over each market's instruments).
"""

from __future__ import annotations

from itertools import product

import numpy as np
import pandas as pd

from mm_drex.backtest.engine import BPS, simulate
from mm_drex.backtest.metrics import sharpe_ratio
from mm_drex.backtest.projection import ExposureLimits
from mm_drex.experts.templates import EXPERTS
from mm_drex.rl.panel import PanelArrays

SCOPES = ("market", "all")


def simplex_grid(step: float, n: int = len(EXPERTS)) -> np.ndarray:
    """All weight vectors ``(P, n)`` with entries in multiples of ``step`` summing to 1."""
    units = round(1.0 / step)
    if units < 1 or not np.isclose(units * step, 1.0):
        raise ValueError(f"the simplex grid step must divide 1, got {step}")
    points = [c for c in product(range(units + 1), repeat=n - 1) if sum(c) <= units]
    grid = np.array([[*c, units - sum(c)] for c in points], dtype=float)
    return grid / units


def mixed_exposure(panel: PanelArrays, weights: np.ndarray) -> np.ndarray:
    """``Σ_k w_k h_k`` per decision row: ``weights`` ``(4,)``, ``(N, 4)`` or
    ``(P, 4)`` candidates (then ``(N, P)``) with the experts' default exposures."""
    weights = np.asarray(weights, dtype=float)
    if weights.ndim == 1:
        return panel.exposures @ weights
    if weights.shape == panel.exposures.shape:
        return (panel.exposures * weights).sum(axis=1)
    return panel.exposures @ weights.T


def segment_net_returns(
    panel: PanelArrays,
    targets: np.ndarray,
    segment: str,
    limits: ExposureLimits,
) -> list[tuple[int, int, np.ndarray]]:
    """Candidate exposure paths executed on one segment by the backtest engine.

    Args:
        targets: ``(N, P)`` target exposures of ``P`` candidates per decision row.
        segment: each instrument's run of this segment is simulated from flat
            with the backtest engine (same costs and limits as the backtest).

    Returns:
        Per instrument run: ``(first_row, stop_row, net)`` with ``net``
        ``(stop − first − 1, P)`` the after-cost returns of its bars after the first.
    """
    targets = np.asarray(targets, dtype=float)
    runs = []
    for first, stop in panel.segment_runs(segment):
        result = simulate(
            targets[first:stop],
            panel.open_price[first:stop],
            panel.close_price[first:stop],
            cost_bps=panel.cost_rate[first] / BPS,
            allow_short=bool(panel.allow_short[first]),
            limits=limits,
        )
        runs.append((first, stop, result.net_return[1:]))
    return runs


def segment_sharpes(
    panel: PanelArrays,
    targets: np.ndarray,
    segment: str,
    limits: ExposureLimits,
) -> pd.DataFrame:
    """After-cost Sharpe of candidate exposure paths on one segment
    (:func:`segment_net_returns`).

    Returns:
        One row per (instrument, candidate): instrument, market, candidate, sharpe.
    """
    rows = [
        pd.DataFrame(
            {
                "instrument": panel.instrument[first],
                "market": panel.market[first],
                "candidate": np.arange(net.shape[1]),
                "sharpe": np.atleast_1d(
                    sharpe_ratio(net, panel.periods_per_year[first])
                ),
            }
        )
        for first, _, net in segment_net_returns(panel, targets, segment, limits)
    ]
    return pd.concat(rows, ignore_index=True)


def equal_market_score(table: pd.DataFrame, column: str = "sharpe") -> pd.Series:
    """Per candidate: mean over markets of the mean over their instruments."""
    by_market = table.groupby(["candidate", "market"], sort=True)[column].mean()
    return by_market.groupby(level="candidate").mean()


def learned_static_weights(
    panel: PanelArrays,
    limits: ExposureLimits,
    segment: str = "train",
    grid_step: float = 0.1,
) -> tuple[np.ndarray, pd.DataFrame]:
    """The static weight vector with the best ``segment`` score on a simplex grid.

    Returns ``(weights (4,), scores)``: scores has one row per grid point
    with its weights and score (ties: the first point of the grid).
    """
    grid = simplex_grid(grid_step)
    score = equal_market_score(
        segment_sharpes(panel, mixed_exposure(panel, grid), segment, limits)
    )
    scores = pd.DataFrame(grid, columns=[f"w_{e}" for e in EXPERTS])
    scores["score"] = score.reindex(range(len(grid))).to_numpy()
    best = int(np.nanargmax(scores["score"].to_numpy()))
    return grid[best], scores


def best_single_expert(
    panel: PanelArrays,
    limits: ExposureLimits,
    segment: str = "val",
    scope: str = "market",
) -> tuple[dict[str, str], pd.DataFrame]:
    """The expert with the best ``segment`` score, per market (``scope =
    "market"``) or one for all markets (``"all"``).

    Returns ``({market: expert}, scores)`` with scores: market, expert, score.
    """
    if scope not in SCOPES:
        raise ValueError(
            f"best_single_expert.scope must be one of {SCOPES}, got {scope!r}"
        )
    table = segment_sharpes(panel, panel.exposures, segment, limits)
    table["expert"] = np.asarray(EXPERTS)[table["candidate"].to_numpy()]
    per_market = (
        table.groupby(["market", "expert"], sort=False)["sharpe"].mean().reset_index()
    )
    markets = sorted(set(panel.market) - {""})
    if scope == "all":
        overall = per_market.groupby("expert", sort=False)["sharpe"].mean()
        chosen = str(overall.idxmax())
        choice = {m: chosen for m in markets}
        scores = overall.rename("score").reset_index().assign(market="all")
    else:
        choice = {}
        for market in markets:
            group = per_market[per_market["market"] == market]
            choice[market] = str(group.loc[group["sharpe"].idxmax(), "expert"])
        scores = per_market.rename(columns={"sharpe": "score"})
    return choice, scores[["market", "expert", "score"]]


def single_expert_weights(panel: PanelArrays, choice: dict[str, str]) -> np.ndarray:
    """One-hot weights ``(N, 4)``: each row's market's chosen expert."""
    index = {e: k for k, e in enumerate(EXPERTS)}
    weights = np.zeros((len(panel), len(EXPERTS)))
    for market, expert in choice.items():
        weights[panel.market == market, index[expert]] = 1.0
    missing = weights.sum(axis=1) == 0
    if missing.any():
        raise ValueError(
            f"best single expert: no choice for instrument {panel.instrument[missing][0]} "
            f"(market '{panel.market[missing][0]}')"
        )
    return weights
