"""Fit every configured baseline and emit its exposures on the full history.

One fit per (baseline, seed, pool): a pool is one instrument for the
per-instrument baselines, or the instruments of a market / of the universe
for pooled ones (:mod:`mm_drex.baselines.pooled`). Deterministic baselines run
on the first seed only. Every fitted baseline then gives one exposure per bar
of each of its instruments' full history; the backtest keeps the evaluated
segment.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mm_drex.backtest.projection import ExposureLimits
from mm_drex.backtest.settings import BacktestSettings
from mm_drex.backtest.sleeves import (
    EXPOSURE_COLUMNS,
    market_of_instruments,
    resolve_cost_bps,
)
from mm_drex.baselines.base import (
    SHARED_PARAMETERS,
    Baseline,
    InstrumentContext,
    segment_activity,
)
from mm_drex.baselines.data import InstrumentData
from mm_drex.baselines.pooled import PooledBaseline
from mm_drex.baselines.registry import BASELINES
from mm_drex.baselines.settings import BaselineSettings
from mm_drex.data.split import assign_segments
from mm_drex.features.settings import FeatureSettings

logger = logging.getLogger(__name__)

SELECTION_COLUMNS = [
    "strategy",
    "seed",
    "instrument",
    "parameters",
    "selection_score",
    "selection_activity",
    "n_candidates",
    "candidate_sharpe_sd",
]
FIT_LOG_COLUMNS = [
    "strategy",
    "seed",
    "pool",
    "n_instruments",
    "fit_seconds",
    "exposure_seconds",
]


def strategy_parameters(params: Mapping[str, Any], name: str) -> dict[str, Any]:
    """One baseline's parameters: ``params['strategies'][name]`` over the
    stage-wide ``num_threads`` / ``features`` / ``feature_clip`` of ``params``."""
    own = dict((params.get("strategies") or {}).get(name) or {})
    shared = {k: params[k] for k in SHARED_PARAMETERS if params.get(k) is not None}
    return {**shared, **own}


def instrument_histories(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    limits: ExposureLimits | None = None,
    cost_override_bps: Mapping[str, float] | None = None,
    resources: Mapping[str, Any] | None = None,
    min_activity: float = 0.0,
) -> list[InstrumentData]:
    """Each instrument's bars, segments and context (in ``ohlcv`` order)."""
    limits = limits or ExposureLimits()
    costs = resolve_cost_bps(instruments, cost_override_bps)
    segments = assign_segments(ohlcv, split).to_numpy()
    info = instruments.set_index("instrument")
    histories = []
    for instrument, rows in ohlcv.groupby("instrument", sort=False).indices.items():
        context = InstrumentContext(
            instrument=str(instrument),
            asset_class=str(info.loc[instrument, "asset_class"]),
            periods_per_year=int(info.loc[instrument, "periods_per_year"]),
            cost_bps=float(costs[instrument]),
            allow_short=bool(info.loc[instrument, "allow_short"]),
            limits=limits,
            min_activity=float(min_activity),
            resources=dict(resources or {}),
        )
        bars = ohlcv.iloc[rows].reset_index(drop=True)
        histories.append(InstrumentData(bars, segments[rows], context))
    return histories


def pools(
    histories: Sequence[InstrumentData],
    pooling: str,
    markets: Mapping[str, Sequence[str]] | None = None,
) -> list[list[InstrumentData]]:
    """Group the instruments as a baseline is fitted: each alone (``instrument``),
    per market (``market``: the backtest's markets by asset class; an
    instrument of no market is a pool of its own) or all together."""
    if pooling == "instrument":
        return [[h] for h in histories]
    if pooling == "universe":
        return [list(histories)]
    if pooling != "market":
        raise ValueError(f"unknown pooling {pooling!r}: instrument | market | universe")
    table = pd.DataFrame(
        {
            "instrument": [h.instrument for h in histories],
            "asset_class": [h.context.asset_class for h in histories],
        }
    )
    market_of = market_of_instruments(table, markets or {})
    grouped: dict[str, list[InstrumentData]] = {}
    for history in histories:
        key = str(market_of.get(history.instrument, history.instrument))
        grouped.setdefault(key, []).append(history)
    return list(grouped.values())


def _with_resources(
    histories: Sequence[InstrumentData], resources: Mapping[str, Any] | None
) -> list[InstrumentData]:
    if not resources:
        return list(histories)
    return [
        dataclasses.replace(
            h,
            context=dataclasses.replace(
                h.context, resources={**h.context.resources, **resources}
            ),
        )
        for h in histories
    ]


def fit_baseline(
    baseline_class: type[Baseline],
    params: Mapping[str, Any],
    seed: int,
    histories: Sequence[InstrumentData],
    markets: Mapping[str, Sequence[str]] | None = None,
    resources: Mapping[str, Any] | None = None,
) -> dict[str, Baseline]:
    """Fit one baseline with one seed; ``{instrument: fitted baseline}``.

    A per-instrument baseline is fitted on each history; a pooled one once per
    pool (its ``pooling`` parameter), the same object serving every
    instrument of the pool. ``resources`` are added to every context.
    """
    histories = _with_resources(histories, resources)
    probe = baseline_class(params, seed=seed)
    if not isinstance(probe, PooledBaseline):
        return {
            h.instrument: baseline_class(params, seed=seed).fit(
                h.bars, h.segment, h.context
            )
            for h in histories
        }
    fitted: dict[str, Baseline] = {}
    for pool in pools(histories, probe.pooling, markets):
        model = baseline_class(params, seed=seed).fit_pooled(pool)
        fitted.update({h.instrument: model for h in pool})
    return fitted


def _selection_row(
    name: str, seed: int, instrument: str, model: Baseline
) -> dict[str, Any]:
    if isinstance(model, PooledBaseline):
        chosen, score = (
            model.selected_params(instrument),
            model.selection_score(instrument),
        )
    else:
        chosen, score = model.selected_params(), model.selection_score()
    n_candidates, candidate_sd = (
        (1, float("nan"))
        if isinstance(model, PooledBaseline)
        else model.selection_trials()
    )
    return {
        "strategy": name,
        "seed": seed,
        "instrument": instrument,
        "parameters": json.dumps(chosen, default=float),
        "selection_score": score,
        "n_candidates": n_candidates,
        "candidate_sharpe_sd": candidate_sd,
    }


def run_baselines(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    strategies: Mapping[str, Mapping[str, Any] | None],
    seeds: list[int],
    limits: ExposureLimits | None = None,
    cost_override_bps: Mapping[str, float] | None = None,
    markets: Mapping[str, Sequence[str]] | None = None,
    resources: Mapping[str, Any] | None = None,
    shared: Mapping[str, Any] | None = None,
    min_activity: float = 0.0,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Fit each baseline (per seed and pool) and compute its exposures.

    Args:
        ohlcv, instruments, split: ingestion's tables.
        strategies: baseline name (a key of :data:`BASELINES`) -> its parameters.
        seeds: seeds of stochastic baselines; deterministic ones use the first.
        limits, cost_override_bps: as in the backtest, so that selection on
            validation sees the same costs and limits as the evaluation.
        markets: market -> asset classes (pooling ``market``).
        resources: run-level inputs some baselines read from their context
            (``tower_embeddings`` for the LLMoE router).
        shared: stage-wide parameters (:data:`~mm_drex.baselines.base.SHARED_PARAMETERS`) under each
            baseline's own.
        min_activity: the activity floor of val selection (a candidate
            exposed on fewer val bars is chosen only when none is active).

    Returns:
        ``(exposures, selection, fit_log)``: the long exposure table on the
        full history (``strategy, seed, instrument, timestamp,
        target_exposure``); one row per (strategy, seed, instrument) with the
        chosen ``parameters`` (JSON), ``selection_score`` (val Sharpe) and
        ``selection_activity`` (share of val bars with an exposure); one row
        per fit with its wall time.
    """
    unknown = sorted(set(strategies) - set(BASELINES))
    if unknown:
        raise ValueError(
            f"parameters baselines.strategies: unknown baseline(s) {unknown}; "
            f"registered: {sorted(BASELINES)}"
        )
    if not seeds:
        raise ValueError("parameters baselines.seeds is empty")
    histories = instrument_histories(
        ohlcv, instruments, split, limits, cost_override_bps, resources, min_activity
    )
    exposures, selection, fit_log = [], [], []
    for name in strategies:
        baseline_class = BASELINES[name]
        params = strategy_parameters(
            {**dict(shared or {}), "strategies": strategies}, name
        )
        for seed in seeds[:1] if baseline_class.deterministic else seeds:
            started = time.perf_counter()
            fitted = fit_baseline(baseline_class, params, seed, histories, markets)
            fit_seconds = time.perf_counter() - started
            started = time.perf_counter()
            for history in histories:
                model = fitted[history.instrument]
                exposure = np.asarray(model.target_exposure(history.bars), dtype=float)
                if exposure.shape != (len(history.bars),):
                    raise ValueError(
                        f"baseline {name}, instrument {history.instrument}: "
                        f"target_exposure returned shape {exposure.shape}, expected "
                        f"({len(history.bars)},)"
                    )
                exposures.append(
                    pd.DataFrame(
                        {
                            "strategy": name,
                            "seed": seed,
                            "instrument": history.instrument,
                            "timestamp": history.bars["timestamp"].to_numpy(),
                            "target_exposure": exposure,
                        }
                    )
                )
                selection.append(
                    {
                        **_selection_row(name, seed, history.instrument, model),
                        "selection_activity": float(
                            segment_activity(exposure[:, None], history.segment)[0]
                        ),
                    }
                )
            exposure_seconds = time.perf_counter() - started
            first = next(iter(fitted.values()))
            fit_log.append(
                {
                    "strategy": name,
                    "seed": seed,
                    "pool": first.pooling
                    if isinstance(first, PooledBaseline)
                    else "instrument",
                    "n_instruments": len(fitted),
                    "fit_seconds": fit_seconds,
                    "exposure_seconds": exposure_seconds,
                }
            )
            logger.info(
                "baseline %s seed %d: fit %.1f s, exposures %.1f s",
                name,
                seed,
                fit_seconds,
                exposure_seconds,
            )
    exposure_table = pd.concat(exposures, ignore_index=True)[EXPOSURE_COLUMNS]
    exposure_table = exposure_table.astype(
        {"strategy": str, "instrument": str, "seed": np.int64}
    )
    selection_table = pd.DataFrame(selection, columns=SELECTION_COLUMNS).astype(
        {
            "strategy": str,
            "instrument": str,
            "parameters": str,
            "seed": np.int64,
            "n_candidates": np.int64,
        }
    )
    log_table = pd.DataFrame(fit_log, columns=FIT_LOG_COLUMNS).astype(
        {"strategy": str, "seed": np.int64, "pool": str, "n_instruments": np.int64}
    )
    return exposure_table, selection_table, log_table


def run_stage_baselines(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    router_decision_points: pd.DataFrame,
    router_text_embeddings: Mapping[str, Any],
    router_chart_trunk: Mapping[str, Any],
    settings: BaselineSettings,
    backtest: BacktestSettings,
    features: FeatureSettings,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """:func:`run_baselines` with the stage's settings: the backtest's costs,
    limits and markets, the feature stage's windows and clip, and the router
    stage's frozen caches as the LLMoE router's tower embeddings (built only
    when a configured baseline needs them)."""
    from mm_drex.baselines.llmoe_router import RESOURCE as TOWER_EMBEDDINGS
    from mm_drex.baselines.towers import CachedTowerEmbeddings

    needed = {
        resource
        for name in settings.strategies
        if name in BASELINES
        for resource in BASELINES[name].required_resources
    }
    resources = {}
    if TOWER_EMBEDDINGS in needed:
        resources[TOWER_EMBEDDINGS] = CachedTowerEmbeddings(
            router_decision_points,
            router_text_embeddings,
            router_chart_trunk,
            num_threads=settings.tower_threads,
        )
    shared = {
        "num_threads": settings.num_threads,
        "features": dataclasses.asdict(features.indicators),
        "feature_clip": features.normaliser.clip,
    }
    return run_baselines(
        ohlcv,
        instruments,
        split,
        settings.strategies,
        list(settings.seeds),
        limits=backtest.limits,
        cost_override_bps=backtest.cost_override_bps,
        markets=backtest.markets,
        resources=resources,
        shared=shared,
        min_activity=settings.min_activity,
    )
