"""Backtest nodes: thin wrappers over :mod:`mm_drex.backtest`.

One engine, one set of costs and limits (``params:backtest``) for every
strategy: MM-DREX, its ablations and the baselines.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from mm_drex.backtest import (
    BacktestSettings,
    collect_exposures,
    compute_metrics,
    market_returns,
    run_backtest,
    sharpe_tests,
)

Params = Mapping[str, Any]


def exposures(*tables: pd.DataFrame) -> pd.DataFrame:
    """Every strategy's exposure table in one (``strategy, seed, instrument,
    timestamp, target_exposure``); a strategy may come from one table only."""
    return collect_exposures(*tables)


def positions(
    strategy_exposures: pd.DataFrame,
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    params: Params,
) -> pd.DataFrame:
    """Execute the exposures on the evaluated segment: the ``positions`` table."""
    settings = BacktestSettings.from_params(params)
    return run_backtest(
        strategy_exposures,
        ohlcv,
        instruments,
        split,
        segment=settings.segment,
        limits=settings.limits,
        cost_override_bps=settings.cost_override_bps,
    )


def markets(
    positions: pd.DataFrame, instruments: pd.DataFrame, params: Params
) -> pd.DataFrame:
    """Equal-weight market portfolios of the sleeves."""
    return market_returns(
        positions, instruments, BacktestSettings.from_params(params).markets
    )


def metrics(
    positions: pd.DataFrame,
    market_table: pd.DataFrame,
    instruments: pd.DataFrame,
    params: Params,
) -> pd.DataFrame:
    """Metrics per instrument, market and equal-market average (per seed)."""
    settings = BacktestSettings.from_params(params)
    return compute_metrics(
        positions, market_table, instruments, settings.markets, settings.bootstrap
    )


def significance(
    positions: pd.DataFrame,
    market_table: pd.DataFrame,
    instruments: pd.DataFrame,
    params: Params,
) -> pd.DataFrame:
    """Bootstrap intervals of each strategy's Sharpe minus the benchmark's."""
    settings = BacktestSettings.from_params(params)
    return sharpe_tests(
        positions,
        market_table,
        instruments,
        settings.markets,
        settings.benchmark_strategy,
        settings.bootstrap,
    )
