"""Backtest nodes: thin wrappers over :mod:`mm_drex.backtest`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from mm_drex.backtest import (
    ExposureLimits,
    compute_metrics,
    market_returns,
    run_backtest,
    sharpe_tests,
)


def collect_exposures(*tables: pd.DataFrame) -> pd.DataFrame:
    """Every strategy's exposure table in one (``strategy, seed, instrument,
    timestamp, target_exposure``); a strategy may come from one table only."""
    owner: dict[str, int] = {}
    for index, table in enumerate(tables):
        for strategy in table["strategy"].unique():
            if owner.setdefault(strategy, index) != index:
                raise ValueError(
                    f"strategy {strategy} is in exposure tables #{owner[strategy]} and "
                    f"#{index}: every strategy needs a unique name"
                )
    return pd.concat(tables, ignore_index=True)


def positions(
    exposures: pd.DataFrame,
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    params: Mapping[str, Any],
) -> pd.DataFrame:
    """Execute the exposures on the evaluated segment: the ``positions`` table."""
    return run_backtest(
        exposures,
        ohlcv,
        instruments,
        split,
        segment=params["segment"],
        limits=ExposureLimits.from_params(params.get("limits")),
        cost_override_bps=params.get("costs", {}).get("override_bps"),
    )


def markets(
    positions: pd.DataFrame, instruments: pd.DataFrame, params: Mapping[str, Any]
) -> pd.DataFrame:
    """Equal-weight market portfolios of the sleeves."""
    return market_returns(positions, instruments, params["markets"])


def metrics(
    positions: pd.DataFrame,
    market_table: pd.DataFrame,
    instruments: pd.DataFrame,
    params: Mapping[str, Any],
) -> pd.DataFrame:
    """Metrics per instrument, market and equal-market average (per seed)."""
    return compute_metrics(
        positions, market_table, instruments, params["markets"], params["bootstrap"]
    )


def significance(
    positions: pd.DataFrame,
    market_table: pd.DataFrame,
    instruments: pd.DataFrame,
    params: Mapping[str, Any],
) -> pd.DataFrame:
    """Bootstrap intervals of each strategy's Sharpe minus the benchmark's."""
    return sharpe_tests(
        positions,
        market_table,
        instruments,
        params["markets"],
        params["benchmark_strategy"],
        params["bootstrap"],
    )
