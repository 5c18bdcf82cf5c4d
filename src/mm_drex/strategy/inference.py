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
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from mm_drex.audit.decision_log import DECISION_LOG_COLUMNS, EXECUTION_COLUMNS
from mm_drex.backtest.projection import ExposureLimits, project_bounds_and_leverage
from mm_drex.backtest.settings import BacktestSettings
from mm_drex.charts.settings import ChartSettings
from mm_drex.charts.store import pixel_sha256, render_points
from mm_drex.config import Settings, setting
from mm_drex.experts.history import market_histories
from mm_drex.experts.pools import expert_exposure_table
from mm_drex.experts.settings import ExpertSettings
from mm_drex.features.normalise import apply_normaliser
from mm_drex.features.settings import FeatureSettings
from mm_drex.features.temporal import compute_raw_features
from mm_drex.features.text_view import build_text_view
from mm_drex.markdown import markdown_table
from mm_drex.regimes.labels import REGIMES
from mm_drex.rl.env import BatchRoutingEnv, Rollout, rollout
from mm_drex.rl.panel import PanelArrays, stage_panel
from mm_drex.rl.ppo import torch_policy
from mm_drex.rl.training import load_policies
from mm_drex.router import EXPERTS, RouterInputs
from mm_drex.router.io import predict_router, start_runtime, temporal_view
from mm_drex.router.settings import RouterSettings
from mm_drex.strategy.mmdrex import STRATEGY

INFERENCE_COLUMNS = [
    *DECISION_LOG_COLUMNS,
    "sleeve_exposure",
    "target_exposure_next_open",
]


@dataclass(frozen=True)
class InferenceSettings(Settings):
    """``params:inference``.

    ``instruments``: names (null = every instrument of ``ohlcv``); ``as_of``:
    decide at the last bar at or before this timestamp (null = the last bar);
    ``sleeve_history_bars``: decisions rolled forward from flat before the
    decision bar; ``sleeve_start``: or a timestamp where the sleeve starts
    flat (overrides ``sleeve_history_bars``); ``seed``: which trained policy.
    """

    group: ClassVar[str] = "inference"

    instruments: tuple[str, ...] | None = None
    as_of: pd.Timestamp | None = None
    sleeve_history_bars: int = setting(250, ge=1)
    sleeve_start: pd.Timestamp | None = None
    seed: int = 42


@dataclass(frozen=True)
class StageSettings:
    """The other stages' settings inference recomputes their views with."""

    features: FeatureSettings
    charts: ChartSettings
    router: RouterSettings
    experts: ExpertSettings
    backtest: BacktestSettings


def decision_windows(
    ohlcv: pd.DataFrame, config: InferenceSettings, chart_window: int
) -> pd.DataFrame:
    """Per instrument: the decision bar ``t`` and the first bar of the sleeve window.

    Returns instrument, timestamp (of ``t``), t, first_t.
    """
    names = list(config.instruments or pd.unique(ohlcv["instrument"]))
    rows = []
    for name in names:
        bars = ohlcv[ohlcv["instrument"] == name]
        if bars.empty:
            raise ValueError(f"inference.instruments: '{name}' has no bars in ohlcv")
        timestamps = bars["timestamp"].to_numpy()
        t = len(bars) - 1
        if config.as_of is not None:
            as_of = np.datetime64(config.as_of)
            t = int(np.searchsorted(timestamps, as_of, side="right")) - 1
            if t < 0:
                raise ValueError(
                    f"instrument {name}: no bar at or before as_of {config.as_of} "
                    "(parameters inference.as_of)"
                )
        if t < chart_window - 1:
            raise ValueError(
                f"instrument {name}: bar {t} ({pd.Timestamp(timestamps[t])}) has fewer than "
                f"{chart_window} bars of history; the router needs a full chart window"
            )
        if config.sleeve_start is not None:
            start = np.datetime64(config.sleeve_start)
            first = int(np.searchsorted(timestamps, start, side="left"))
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


def bars_up_to_decisions(
    ohlcv: pd.DataFrame, instruments: pd.DataFrame, windows: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Only bars ``<= t`` of each decided instrument (nothing after a decision
    can leak in), its ``instruments`` rows, and the windows in universe order."""
    ohlcv = ohlcv[ohlcv["instrument"].isin(windows["instrument"])]
    cutoff = ohlcv["instrument"].map(windows.set_index("instrument")["timestamp"])
    ohlcv = ohlcv[ohlcv["timestamp"] <= cutoff].reset_index(drop=True)
    instruments = instruments[
        instruments["instrument"].isin(windows["instrument"])
    ].reset_index(drop=True)
    order = {name: i for i, name in enumerate(instruments["instrument"])}
    windows = windows.sort_values("instrument", key=lambda c: c.map(order))
    return ohlcv, instruments, windows.reset_index(drop=True)


def window_points(windows: pd.DataFrame) -> pd.DataFrame:
    """Every decision point (instrument, t) of the sleeve windows."""
    return pd.DataFrame(
        [
            {"instrument": w.instrument, "t": t}
            for w in windows.itertuples(index=False)
            for t in range(w.first_t, w.t + 1)
        ]
    )


def router_views(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    points: pd.DataFrame,
    feature_normaliser: pd.DataFrame,
    stages: StageSettings,
) -> tuple[RouterInputs, list[str]]:
    """The router's inputs at ``points`` (instrument, t) and each chart's
    sha256, computed as the features, charts and router_inputs stages do."""
    features, charts = stages.features, stages.charts
    raw = compute_raw_features(ohlcv, instruments, split, features.indicators)
    normalised = apply_normaliser(
        raw, feature_normaliser, features.columns, features.normaliser.clip
    )
    text = build_text_view(ohlcv, raw, features.window, features.text)
    keys = points[["instrument", "t"]].merge(
        text[["instrument", "t", "timestamp", "segment", "text"]],
        on=["instrument", "t"],
        how="left",
    )
    if keys["text"].isna().any():
        row = keys[keys["text"].isna()].iloc[0]
        raise ValueError(
            f"instrument {row['instrument']}, bar {row['t']}: no text view "
            "(before the first window)"
        )
    codes, texts = pd.factorize(keys["text"], sort=False)
    temporal = temporal_view(keys, normalised, features.columns, stages.router)
    pixels = render_points(
        charts.series.series(ohlcv),
        keys["instrument"].tolist(),
        keys["t"].to_numpy(),
        charts.window,
        charts.raster,
    )
    inputs = RouterInputs(
        keys=keys[["instrument", "timestamp", "segment"]],
        temporal=temporal,
        text_ids=codes.astype(np.int64),
        texts=list(texts),
        charts=pixels,
    )
    return inputs, pixel_sha256(pixels)


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
    config: InferenceSettings,
    stages: StageSettings,
) -> pd.DataFrame:
    """The decision at each instrument's decision bar (module docstring).

    Returns:
        One row per instrument with :data:`INFERENCE_COLUMNS`.
    """
    windows = decision_windows(ohlcv, config, stages.charts.window)
    ohlcv, instruments, windows = bars_up_to_decisions(ohlcv, instruments, windows)
    inputs, hashes = router_views(
        ohlcv, instruments, split, window_points(windows), feature_normaliser, stages
    )
    runtime = start_runtime(stages.router)
    router_weights, router_states = predict_router(
        inputs, router_model, router_config, stages.router, runtime
    )
    chart_index = inputs.keys[["instrument", "timestamp"]].assign(sha256=hashes)
    markets = stages.backtest.markets
    no_labels = pd.DataFrame(
        {
            "instrument": pd.Series([], dtype=str),
            "timestamp": pd.Series([], dtype="datetime64[ns]"),
            "regime": pd.Series([], dtype=object),
        }
    )
    experts = stages.experts
    histories = market_histories(
        ohlcv, instruments, split, no_labels, markets, experts.pool_by
    )
    exposures = expert_exposure_table(
        histories, expert_pools, experts.pooling.temperature, experts.experts
    )
    panel = stage_panel(
        router_weights,
        router_states,
        exposures,
        ohlcv,
        instruments,
        split,
        chart_index,
        no_labels,
        expert_pools,
        experts,
        markets,
    )
    limits = stages.backtest.limits
    arrays = PanelArrays.for_backtest(panel, instruments, stages.backtest)
    return _roll_forward(
        panel, arrays, windows, rl_policy, rl_policy_config, limits, config.seed
    )


def _roll_forward(
    panel: pd.DataFrame,
    arrays: PanelArrays,
    windows: pd.DataFrame,
    rl_policy: Mapping[str, torch.Tensor],
    rl_policy_config: Mapping[str, Any],
    limits: ExposureLimits,
    seed: int,
) -> pd.DataFrame:
    """Roll the policy of ``seed`` over each instrument's sleeve window from
    flat; the decision-log rows of the last decisions."""
    policies = load_policies(rl_policy, rl_policy_config)
    torch.set_num_threads(1)
    env = BatchRoutingEnv(arrays, policies.reward, limits, policies.action)
    runs = []
    for name in windows["instrument"]:
        rows = np.flatnonzero(arrays.instrument == name)
        runs.append((int(rows[0]), int(rows[-1]) + 1))
    result = rollout(env, torch_policy(policies.model(seed)), runs)
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
    return _decision_rows(panel, arrays, result, at, last, held, limits, seed)


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
    rows["exposure_scale"] = result.exposure_scale[at]
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
    rows = []
    for row in decisions.to_dict("records"):
        probs = ", ".join(f"{r} {row[f'p_{r}']:.2f}" for r in REGIMES)
        rows.append(
            [
                row["instrument"],
                f"{pd.Timestamp(row['timestamp']):%Y-%m-%d}",
                f"{row['regime_pred']} ({probs})",
                " / ".join(f"{row[f'w_{e}']:.2f}" for e in EXPERTS),
                " / ".join(f"{row[f'exposure_{e}']:+.2f}" for e in EXPERTS),
                f"{row['sleeve_exposure']:+.2f}",
                f"{row['target_exposure_next_open']:+.2f}",
            ]
        )
    header = [
        "instrument",
        "bar",
        "regime (p)",
        "weights trend/reversal/breakout/positioning",
        "experts' exposures",
        "held now",
        "target at next open",
    ]
    table = markdown_table(header, rows)
    return "# MM-DREX: decisions for the next open\n\n" + table + "\n"
