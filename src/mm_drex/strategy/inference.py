"""Inference for practitioners: MM-DREX's decision at the latest bar.

Given the bars of the instruments in ``ohlcv`` (e.g. refreshed through the
ingestion stage with the user's files) and the trained artifacts, for each
instrument's decision bar ``t`` (its last bar, or the last bar at or before
``as_of``):

1. recompute the router's three views over the last bars, exactly as the
   upstream stages do: causal features normalised with the saved train
   statistics (:mod:`mm_drex.features`), the text view, the raster chart
   (:mod:`mm_drex.charts`, same pixels and sha256 as ``chart_index``);
2. run the trained router (regime probabilities ``p``, SFT weights, state
   ``z``) and the experts' audited pools (:mod:`mm_drex.experts.pools`) on
   the instrument's full causal history;
3. roll the trained policy forward from a flat sleeve ``sleeve_history_bars``
   bars before ``t`` (or from ``sleeve_start``) to ``t``, so that its sleeve
   state (exposure, drawdown, volatility) is defined — every executed bar in
   that window uses the backtest engine's accounting;
4. report the decision at ``t``: regime probabilities, weights, each expert's
   exposure, pool and driving member, the mixed exposure and the **target
   exposure for the next open** after the bounds and leverage limits (a
   turnover cap, if configured, is applied at that open, when the overnight
   move is known: ``delta_turnover`` is NaN here).

Only bars ``<= t`` are read. The output rows have the decision log's columns
(execution columns are NaN: the next open has not happened), plus
``sleeve_exposure`` (held now) and ``target_exposure_next_open``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from mm_drex.backtest.projection import ExposureLimits, project_bounds_and_leverage
from mm_drex.charts.raster import RasterStyle
from mm_drex.charts.store import pixel_sha256, render_points
from mm_drex.charts.windows import chart_series_from_params
from mm_drex.experts.history import build_histories, pooling_groups
from mm_drex.experts.pools import expert_exposure_table
from mm_drex.features.normalise import apply_normaliser
from mm_drex.features.sequence import FeatureSequences
from mm_drex.features.temporal import FeatureSpec, compute_raw_features, feature_columns
from mm_drex.features.text_view import TextSpec, build_text_view
from mm_drex.regimes.labels import REGIMES
from mm_drex.rl.env import BatchRoutingEnv, Rollout, rollout
from mm_drex.rl.panel import PanelArrays, build_panel, pool_priors
from mm_drex.rl.ppo import torch_policy
from mm_drex.rl.training import load_policies
from mm_drex.router import (
    EXPERTS,
    RouterInputs,
    RuntimeConfig,
    configure_torch,
    load_backend,
)
from mm_drex.router.data import strided_sequences
from mm_drex.strategy.decision_log import DECISION_LOG_COLUMNS, EXECUTION_COLUMNS
from mm_drex.strategy.mmdrex import STRATEGY

INFERENCE_COLUMNS = [
    *DECISION_LOG_COLUMNS,
    "sleeve_exposure",
    "target_exposure_next_open",
]


@dataclass(frozen=True)
class InferenceConfig:
    """``params:inference``.

    ``instruments``: names (None = every instrument of ``ohlcv``); ``as_of``:
    decide at the last bar at or before this timestamp (None = the last bar);
    ``sleeve_history_bars``: decisions rolled forward from flat before the
    decision bar; ``sleeve_start``: or a timestamp where the sleeve starts
    flat (overrides ``sleeve_history_bars``); ``seed``: which trained policy.
    """

    instruments: tuple[str, ...] | None = None
    as_of: pd.Timestamp | None = None
    sleeve_history_bars: int = 250
    sleeve_start: pd.Timestamp | None = None
    seed: int = 42

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> InferenceConfig:
        def timestamp(value: Any) -> pd.Timestamp | None:
            return None if value in (None, "") else pd.Timestamp(value)

        names = params.get("instruments")
        config = cls(
            instruments=None if not names else tuple(str(n) for n in names),
            as_of=timestamp(params.get("as_of")),
            sleeve_history_bars=int(params.get("sleeve_history_bars", 250)),
            sleeve_start=timestamp(params.get("sleeve_start")),
            seed=int(params.get("seed", 42)),
        )
        if config.sleeve_history_bars < 1:
            raise ValueError("inference.sleeve_history_bars must be >= 1")
        return config


def decision_windows(
    ohlcv: pd.DataFrame, config: InferenceConfig, chart_window: int
) -> pd.DataFrame:
    """Per instrument: the decision bar ``t`` and the first bar of the sleeve window.

    Returns instrument, timestamp (of ``t``), t, first_t.
    """
    names = (
        list(pd.unique(ohlcv["instrument"]))
        if config.instruments is None
        else list(config.instruments)
    )
    rows = []
    for name in names:
        bars = ohlcv[ohlcv["instrument"] == name]
        if bars.empty:
            raise ValueError(f"inference.instruments: '{name}' has no bars in ohlcv")
        timestamps = bars["timestamp"].to_numpy()
        t = len(bars) - 1
        if config.as_of is not None:
            t = (
                int(
                    np.searchsorted(
                        timestamps, np.datetime64(config.as_of), side="right"
                    )
                )
                - 1
            )
            if t < 0:
                raise ValueError(
                    f"instrument {name}: no bar at or before as_of {config.as_of}"
                )
        if t < chart_window - 1:
            raise ValueError(
                f"instrument {name}: bar {t} ({pd.Timestamp(timestamps[t])}) has fewer than "
                f"{chart_window} bars of history; the router needs a full chart window"
            )
        if config.sleeve_start is not None:
            first = int(
                np.searchsorted(
                    timestamps, np.datetime64(config.sleeve_start), side="left"
                )
            )
        else:
            first = t - config.sleeve_history_bars + 1
        first = min(max(first, chart_window - 1), t)
        rows.append(
            {
                "instrument": name,
                "timestamp": pd.Timestamp(timestamps[t]),
                "t": t,
                "first_t": first,
            }
        )
    return pd.DataFrame(rows)


def router_views(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    points: pd.DataFrame,
    feature_params: Mapping[str, Any],
    chart_params: Mapping[str, Any],
    router_params: Mapping[str, Any],
    feature_normaliser: pd.DataFrame,
) -> tuple[RouterInputs, list[str]]:
    """The router's inputs at ``points`` (instrument, t) and each chart's sha256."""
    spec = FeatureSpec.from_params(feature_params.get("indicators"))
    columns = feature_columns(spec)
    raw = compute_raw_features(ohlcv, instruments, split, spec)
    features = apply_normaliser(
        raw, feature_normaliser, columns, float(feature_params["normaliser"]["clip"])
    )
    text = build_text_view(
        ohlcv,
        raw,
        int(feature_params["window"]),
        TextSpec.from_params(feature_params.get("text")),
    )
    keys = points[["instrument", "t"]].merge(
        text[["instrument", "t", "timestamp", "segment", "text"]],
        on=["instrument", "t"],
        how="left",
    )
    if keys["text"].isna().any():
        row = keys[keys["text"].isna()].iloc[0]
        raise ValueError(
            f"instrument {row['instrument']}, bar {row['t']}: no text view (before the first window)"
        )
    codes, texts = pd.factorize(keys["text"], sort=False)
    temporal = strided_sequences(
        FeatureSequences(features, columns).gather,
        keys["instrument"].to_numpy(dtype=object),
        keys["t"].to_numpy(),
        int(router_params["temporal"]["steps"]),
        int(router_params["temporal"]["stride"]),
    )
    series = chart_series_from_params(ohlcv, chart_params["series"])
    charts = render_points(
        series,
        keys["instrument"].tolist(),
        keys["t"].to_numpy(),
        int(chart_params["window"]),
        RasterStyle.from_params(chart_params["raster"]),
    )
    inputs = RouterInputs(
        keys=keys[["instrument", "timestamp", "segment"]],
        temporal=temporal,
        text_ids=codes.astype(np.int64),
        texts=list(texts),
        charts=charts,
    )
    return inputs, pixel_sha256(charts)


def run_router(
    inputs: RouterInputs,
    router_model: Mapping[str, torch.Tensor],
    router_config: Mapping[str, Any],
    router_params: Mapping[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``router_weights``- and ``router_states``-shaped tables for ``inputs``."""
    runtime = RuntimeConfig(
        seed=int(router_params["seed"]),
        num_threads=int(router_params["num_threads"]),
        device=str(router_params["device"]),
        precision=str(router_params["precision"]),
    )
    configure_torch(runtime)
    backend = load_backend(dict(router_config), dict(router_model), runtime)
    prediction = backend.predict(
        inputs, batch_size=int(router_params.get("predict_batch_size", 512))
    )
    weights = inputs.keys.copy()
    for i, regime in enumerate(REGIMES):
        weights[f"p_{regime}"] = prediction.regime_probs[:, i]
    for k, expert in enumerate(EXPERTS):
        weights[f"w_{expert}"] = prediction.weights[:, k]
    states = inputs.keys.copy()
    for i in range(prediction.states.shape[1]):
        states[f"z_{i:02d}"] = prediction.states[:, i]
    return weights, states


def latest_decisions(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    feature_normaliser: pd.DataFrame,
    router_model: Mapping[str, torch.Tensor],
    router_config: Mapping[str, Any],
    expert_pools: Mapping[str, Any],
    rl_policy: Mapping[str, torch.Tensor],
    rl_policy_config: Mapping[str, Any],
    config: InferenceConfig,
    params: Mapping[str, Mapping[str, Any]],
) -> pd.DataFrame:
    """The decision at each instrument's decision bar (module docstring).

    Args:
        params: ``features``, ``charts``, ``router_sft``, ``experts``,
            ``backtest`` parameter sections.

    Returns:
        One row per instrument with :data:`INFERENCE_COLUMNS`.
    """
    features, charts = params["features"], params["charts"]
    experts, backtest = params["experts"], params["backtest"]
    windows = decision_windows(ohlcv, config, int(charts["window"]))
    ohlcv = ohlcv[ohlcv["instrument"].isin(windows["instrument"])]
    # only bars <= t of each instrument: nothing after the decision can leak in
    cutoff = ohlcv["instrument"].map(windows.set_index("instrument")["timestamp"])
    ohlcv = ohlcv[ohlcv["timestamp"] <= cutoff].reset_index(drop=True)
    instruments = instruments[
        instruments["instrument"].isin(windows["instrument"])
    ].reset_index(drop=True)
    order = {name: i for i, name in enumerate(instruments["instrument"])}
    windows = windows.sort_values("instrument", key=lambda c: c.map(order)).reset_index(
        drop=True
    )
    points = pd.DataFrame(
        [
            {"instrument": w.instrument, "t": t}
            for w in windows.itertuples(index=False)
            for t in range(w.first_t, w.t + 1)
        ]
    )
    inputs, hashes = router_views(
        ohlcv,
        instruments,
        split,
        points,
        features,
        charts,
        params["router_sft"],
        feature_normaliser,
    )
    router_weights, router_states = run_router(
        inputs, router_model, router_config, params["router_sft"]
    )
    chart_index = inputs.keys[["instrument", "timestamp"]].assign(sha256=hashes)

    markets = backtest["markets"]
    no_labels = pd.DataFrame(
        {
            "instrument": pd.Series([], dtype=str),
            "timestamp": pd.Series([], dtype="datetime64[ns]"),
            "regime": pd.Series([], dtype=object),
        }
    )
    histories = build_histories(
        ohlcv,
        instruments,
        split,
        no_labels,
        pooling_groups(instruments, markets, experts["pool_by"]),
    )
    temperature = float(experts["pooling"]["temperature"])
    exposures = expert_exposure_table(
        histories, expert_pools, temperature, experts["experts"]
    )
    priors = pool_priors(
        expert_pools, instruments, markets, experts["pool_by"], temperature
    )
    panel = build_panel(
        router_weights,
        router_states,
        exposures,
        ohlcv,
        instruments,
        split,
        chart_index,
        no_labels,
        priors,
        markets,
    )
    limits = ExposureLimits.from_params(backtest.get("limits"))
    arrays = PanelArrays.from_panel(
        panel, instruments, limits, (backtest.get("costs") or {}).get("override_bps")
    )
    policies = load_policies(rl_policy, rl_policy_config)
    torch.set_num_threads(1)
    env = BatchRoutingEnv(arrays, policies.reward, limits, policies.action)
    runs = []
    for name in windows["instrument"]:
        rows = np.flatnonzero(arrays.instrument == name)
        runs.append((int(rows[0]), int(rows[-1]) + 1))
    result = rollout(env, torch_policy(policies.model(config.seed)), runs)
    last = np.array([stop - 1 for _, stop in runs])
    at = np.searchsorted(result.rows, last)
    # the sleeve's exposure held now: executed at the open of t by the decision at t-1
    held = np.array(
        [
            result.executed_exposure[i - 1]
            if i > 0 and result.rows[i - 1] == row - 1
            else 0.0
            for i, row in zip(at, last, strict=True)
        ]
    )
    return _decision_rows(panel, arrays, result, at, last, held, limits, config.seed)


def _decision_rows(
    panel: pd.DataFrame,
    arrays: PanelArrays,
    result: Rollout,
    at: np.ndarray,
    last: np.ndarray,
    held: np.ndarray,
    limits: ExposureLimits,
    seed: int,
) -> pd.DataFrame:
    """Decision-log rows of the decisions at panel rows ``last`` (rollout index ``at``)."""
    target = result.mixed_exposure[at]
    after_bounds, after_leverage = project_bounds_and_leverage(
        target[None, :, None],
        arrays.lower[last],
        arrays.upper[last],
        limits.gross_leverage,
    )
    after_bounds, after_leverage = after_bounds[0, :, 0], after_leverage[0, :, 0]
    base = panel.iloc[last].reset_index(drop=True)
    rows = pd.DataFrame(
        {
            "instrument": base["instrument"],
            "timestamp": base["timestamp"],
            "t": base["t"].astype(np.int64),
            "segment": base["segment"],
            "strategy": STRATEGY,
            "seed": np.int64(seed),
            "chart_sha256": base["chart_sha256"],
        }
    )
    for regime in REGIMES:
        rows[f"p_{regime}"] = base[f"p_{regime}"]
    rows["regime_pred"] = np.asarray(REGIMES, dtype=object)[
        base[[f"p_{r}" for r in REGIMES]].to_numpy().argmax(axis=1)
    ]
    for expert in EXPERTS:
        rows[f"w_sft_{expert}"] = base[f"w_sft_{expert}"]
    for k, expert in enumerate(EXPERTS):
        rows[f"w_{expert}"] = result.weights[at, k]
    for k, expert in enumerate(EXPERTS):
        rows[f"exposure_{expert}"] = result.expert_exposures[at, k]
    for k, expert in enumerate(EXPERTS):
        rows[f"pool_{expert}"] = np.asarray(REGIMES, dtype=object)[
            result.pool_mix[at, k].argmax(axis=1)
        ]
    for expert in EXPERTS:
        rows[f"member_{expert}"] = base[f"member_{expert}"]
    rows["mixed_exposure"] = target
    rows["delta_bounds"] = after_bounds - target
    rows["delta_leverage"] = after_leverage - after_bounds
    rows["delta_turnover"] = np.nan
    rows["projected_exposure"] = after_leverage
    for column in EXECUTION_COLUMNS:
        rows[column] = np.nan
    rows["execution_timestamp"] = pd.NaT
    rows["reward"] = np.nan
    rows["sleeve_exposure"] = held
    rows["target_exposure_next_open"] = after_leverage
    return rows[INFERENCE_COLUMNS]


def inference_markdown(decisions: pd.DataFrame) -> str:
    """A short human-readable summary of the latest decisions."""
    lines = [
        "# MM-DREX: decisions for the next open",
        "",
        "| instrument | bar | regime (p) | weights trend/reversal/breakout/positioning | "
        "experts' exposures | held now | target at next open |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in decisions.to_dict("records"):
        probs = ", ".join(f"{r} {row[f'p_{r}']:.2f}" for r in REGIMES)
        weights = " / ".join(f"{row[f'w_{e}']:.2f}" for e in EXPERTS)
        exposures = " / ".join(f"{row[f'exposure_{e}']:+.2f}" for e in EXPERTS)
        lines.append(
            f"| {row['instrument']} | {pd.Timestamp(row['timestamp']):%Y-%m-%d} | {row['regime_pred']} ({probs}) "
            f"| {weights} | {exposures} | {row['sleeve_exposure']:+.2f} | {row['target_exposure_next_open']:+.2f} |"
        )
    return "\n".join(lines) + "\n"
