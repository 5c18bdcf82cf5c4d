"""Reporting nodes: thin wrappers over :mod:`mm_drex.reporting`.

Every table reads the backtest stage's outputs: one engine evaluated every
strategy (MM-DREX, its ablations, the baselines) with one set of costs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from mm_drex.backtest.settings import BacktestSettings
from mm_drex.backtest.sleeves import market_of_instruments
from mm_drex.baselines import BASELINES
from mm_drex.regimes.labels import REGIMES
from mm_drex.reporting import report
from mm_drex.reporting.comparison import comparison_markdown, comparison_table
from mm_drex.reporting.deflated import deflated_sharpe_report
from mm_drex.reporting.regimes import regime_markdown, regime_performance
from mm_drex.reporting.sensitivity import cost_sensitivity, cost_sensitivity_markdown
from mm_drex.reporting.settings import ReportingSettings
from mm_drex.reporting.significance import significance_report
from mm_drex.reporting.tables import results_report, results_table

Params = Mapping[str, Any]


def results(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per-seed metrics -> mean ± sd over seeds per strategy and instrument/market."""
    return results_table(metrics)


def results_markdown(
    results: pd.DataFrame,
    sharpe_tests: pd.DataFrame,
    selection: pd.DataFrame,
    backtest: Params,
    params: Params,
) -> str:
    """The markdown results report (every strategy, level and Sharpe test)."""
    return results_report(
        results,
        sharpe_tests,
        selection,
        BacktestSettings.from_params(backtest),
        ReportingSettings.from_params(params).table_metrics,
    )


def comparison(results: pd.DataFrame, params: Params) -> str:
    """The paper-style table: MM-DREX, every other strategy and the baselines
    per market and equal-market average (mean ± sd over seeds)."""
    metrics = ReportingSettings.from_params(params).comparison_metrics
    return comparison_markdown(
        comparison_table(results, list(BASELINES), metrics),
        metrics,
        title="# Comparison on the test segment\n\nMean ± sd over seeds; per market "
        "(equal weight of its instruments) and the equal-market average.",
    )


def main_table(metrics: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The paper-style main table: parquet and markdown."""
    baselines = list(BASELINES)
    return report.main_table(metrics, baselines), report.main_table_markdown(
        metrics, baselines
    )


def significance(
    market_returns: pd.DataFrame,
    metrics: pd.DataFrame,
    backtest: Params,
    params: Params,
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Sharpe-difference intervals and SPA p-values of the lead strategy
    against every baseline present, per market."""
    settings = ReportingSettings.from_params(params)
    bootstrap = settings.significance_bootstrap(BacktestSettings.from_params(backtest))
    return significance_report(
        market_returns, metrics, settings.lead_strategy, list(BASELINES), bootstrap
    )


def deflated_sharpe(
    market_returns: pd.DataFrame,
    metrics: pd.DataFrame,
    baseline_selection: pd.DataFrame,
    rl_training_log: pd.DataFrame,
    instruments: pd.DataFrame,
    backtest: Params,
    params: Params,
) -> tuple[pd.DataFrame, str]:
    """Deflated Sharpe ratio of every strategy chosen among several val trials
    (the baselines' candidates, MM-DREX's RL checkpoints), per market."""
    settings = ReportingSettings.from_params(params)
    markets_of = market_of_instruments(
        instruments, BacktestSettings.from_params(backtest).markets
    )
    return deflated_sharpe_report(
        market_returns,
        metrics,
        baseline_selection,
        rl_training_log,
        markets_of,
        settings.lead_strategy,
        list(BASELINES),
    )


def costs(
    exposures: pd.DataFrame,
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    backtest: Params,
    params: Params,
) -> tuple[pd.DataFrame, str]:
    """Cost sensitivity of every strategy (same exposures, overridden costs)."""
    settings = BacktestSettings.from_params(backtest)
    table = cost_sensitivity(
        exposures,
        ohlcv,
        instruments,
        split,
        settings.markets,
        ReportingSettings.from_params(params).cost_sensitivity_bps,
        segment=settings.segment,
        limits=settings.limits,
    )
    return table, cost_sensitivity_markdown(table)


def by_regime(
    positions: pd.DataFrame,
    regimes: pd.DataFrame,
    instruments: pd.DataFrame,
    backtest: Params,
) -> tuple[pd.DataFrame, str]:
    """Sleeve returns per market grouped by the decision bar's labelled regime."""
    markets = BacktestSettings.from_params(backtest).markets
    table = regime_performance(positions, regimes, instruments, markets, REGIMES)
    return table, regime_markdown(table)
