"""Fit every configured baseline on every instrument and emit its exposures."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mm_drex.backtest.projection import ExposureLimits
from mm_drex.backtest.sleeves import EXPOSURE_COLUMNS, resolve_cost_bps
from mm_drex.baselines.base import InstrumentContext
from mm_drex.baselines.registry import BASELINES
from mm_drex.data.split import assign_segments

SELECTION_COLUMNS = [
    "strategy",
    "seed",
    "instrument",
    "parameters",
    "selection_score",
]


def run_baselines(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    strategies: Mapping[str, Mapping[str, Any] | None],
    seeds: list[int],
    limits: ExposureLimits | None = None,
    cost_override_bps: Mapping[str, float] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fit each baseline per instrument (and seed) and compute its exposures.

    Args:
        ohlcv, instruments, split: ingestion's tables.
        strategies: baseline name (a key of :data:`BASELINES`) -> its parameters.
        seeds: seeds of stochastic baselines; deterministic ones use the first.
        limits, cost_override_bps: as in the backtest, so that selection on
            validation sees the same costs and limits as the evaluation.

    Returns:
        ``(exposures, selection)``: the long exposure table on the full history
        (``strategy, seed, instrument, timestamp, target_exposure``) and one row
        per fit with the chosen ``parameters`` (JSON) and ``selection_score``.
    """
    unknown = sorted(set(strategies) - set(BASELINES))
    if unknown:
        raise ValueError(
            f"parameters backtest.baselines.strategies: unknown baseline(s) {unknown}; "
            f"registered: {sorted(BASELINES)}"
        )
    if not seeds:
        raise ValueError("parameters backtest.baselines.seeds is empty")
    limits = limits or ExposureLimits()
    costs = resolve_cost_bps(instruments, cost_override_bps)
    segments = assign_segments(ohlcv, split).to_numpy()
    info = instruments.set_index("instrument")
    exposures, selection = [], []
    for instrument, rows in ohlcv.groupby("instrument", sort=False).indices.items():
        bars = ohlcv.iloc[rows].reset_index(drop=True)
        context = InstrumentContext(
            instrument=str(instrument),
            asset_class=str(info.loc[instrument, "asset_class"]),
            periods_per_year=int(info.loc[instrument, "periods_per_year"]),
            cost_bps=float(costs[instrument]),
            allow_short=bool(info.loc[instrument, "allow_short"]),
            limits=limits,
        )
        for name, params in strategies.items():
            baseline_class = BASELINES[name]
            for seed in seeds[:1] if baseline_class.deterministic else seeds:
                baseline = baseline_class(params, seed=seed).fit(
                    bars, segments[rows], context
                )
                exposure = np.asarray(baseline.target_exposure(bars), dtype=float)
                if exposure.shape != (len(bars),):
                    raise ValueError(
                        f"baseline {name}, instrument {instrument}: target_exposure "
                        f"returned shape {exposure.shape}, expected ({len(bars)},)"
                    )
                exposures.append(
                    pd.DataFrame(
                        {
                            "strategy": name,
                            "seed": seed,
                            "instrument": instrument,
                            "timestamp": bars["timestamp"].to_numpy(),
                            "target_exposure": exposure,
                        }
                    )
                )
                selection.append(
                    {
                        "strategy": name,
                        "seed": seed,
                        "instrument": instrument,
                        "parameters": json.dumps(baseline.selected_params()),
                        "selection_score": baseline.selection_score(),
                    }
                )
    exposure_table = pd.concat(exposures, ignore_index=True)[EXPOSURE_COLUMNS]
    exposure_table = exposure_table.astype(
        {"strategy": str, "instrument": str, "seed": np.int64}
    )
    selection_table = pd.DataFrame(selection, columns=SELECTION_COLUMNS).astype(
        {"strategy": str, "instrument": str, "parameters": str, "seed": np.int64}
    )
    return exposure_table, selection_table
