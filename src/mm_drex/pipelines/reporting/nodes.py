"""Reporting nodes: thin wrappers over :mod:`mm_drex.reporting`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from mm_drex.audit import audit_trail
from mm_drex.backtest import ExposureLimits
from mm_drex.baselines import BASELINES
from mm_drex.experts.report import regime_performance
from mm_drex.experts.templates import EXPERTS
from mm_drex.regimes.labels import REGIMES
from mm_drex.reporting import (
    instrument_nav_figure,
    market_nav_drawdown_figure,
    market_nav_drawdown_figures,
    report,
    results_markdown,
    results_table,
)
from mm_drex.reporting.attribution import attribution_markdown, expert_attribution
from mm_drex.reporting.comparison import (
    HEADLINE_METRICS,
    comparison_markdown,
    comparison_table,
)
from mm_drex.reporting.plots import attribution_figure, routing_weights_figure
from mm_drex.reporting.regimes import regime_markdown
from mm_drex.reporting.report import data_quality_markdown, gather_report
from mm_drex.reporting.sensitivity import cost_sensitivity, cost_sensitivity_markdown
from mm_drex.reporting.significance import significance_markdown, significance_tables
from mm_drex.reporting.tearsheets import market_tearsheets


def results(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per-seed metrics -> mean ± sd over seeds per strategy and instrument/market."""
    return results_table(metrics)


def results_report(
    results: pd.DataFrame,
    sharpe_tests: pd.DataFrame,
    selection: pd.DataFrame,
    backtest_params: Mapping[str, Any],
    params: Mapping[str, Any],
) -> str:
    """The markdown results report."""
    limits = backtest_params.get("limits", {})
    overrides = backtest_params.get("costs", {}).get("override_bps") or {}
    context = {
        "segment": backtest_params["segment"],
        "cost": "per instrument from the instruments table (10 bps default)"
        + (f", overridden by {dict(overrides)}" if overrides else ""),
        "limits": ", ".join(f"{k}={v}" for k, v in limits.items()),
    }
    return results_markdown(
        results, sharpe_tests, selection, context, params["table_metrics"]
    )


def comparison(results: pd.DataFrame, params: Mapping[str, Any]) -> str:
    """The paper-style table: MM-DREX (when present), every other strategy and
    the baselines per market and equal-market average (mean ± sd over seeds)."""
    metrics = list(params.get("comparison_metrics", HEADLINE_METRICS))
    return comparison_markdown(
        comparison_table(results, list(BASELINES), metrics),
        metrics,
        title="# Comparison on the test segment\n\nMean ± sd over seeds; per market "
        "(equal weight of its instruments) and the equal-market average.",
    )


def market_figures(
    market_returns: pd.DataFrame, params: Mapping[str, Any]
) -> tuple[Figure, dict[str, Figure]]:
    """NAV and drawdown of the market portfolios: all in one, and one per market."""
    dpi = int(params.get("figure_dpi", 110))
    return (
        market_nav_drawdown_figure(market_returns, dpi=dpi),
        market_nav_drawdown_figures(market_returns, dpi=dpi),
    )


def instrument_figure(positions: pd.DataFrame, params: Mapping[str, Any]) -> Figure:
    """NAV of every strategy per instrument."""
    return instrument_nav_figure(positions, dpi=int(params.get("figure_dpi", 110)))


# ---- the run report (issue 9) ------------------------------------------------


def _unique_strategies(primary: pd.DataFrame, extra: pd.DataFrame) -> pd.DataFrame:
    """``primary`` plus the rows of ``extra`` whose strategy is not in it."""
    if extra.empty:
        return primary
    if primary.empty:
        return extra
    new = extra[~extra["strategy"].isin(set(primary["strategy"]))]
    return pd.concat([primary, new], ignore_index=True)


def combine_strategies(
    backtest_metrics: pd.DataFrame,
    mmdrex_metrics: pd.DataFrame,
    backtest_market_returns: pd.DataFrame,
    mmdrex_market_returns: pd.DataFrame,
    backtest_positions: pd.DataFrame,
    mmdrex_positions: pd.DataFrame,
    baseline_exposures: pd.DataFrame,
    mmdrex_exposures: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every evaluated strategy in one table each: the backtest stage's and
    the expert_rl stage's (MM-DREX and ablations) when the backtest stage does
    not already hold them. -> metrics, market returns, positions, exposures."""
    return (
        _unique_strategies(backtest_metrics, mmdrex_metrics),
        _unique_strategies(backtest_market_returns, mmdrex_market_returns),
        _unique_strategies(backtest_positions, mmdrex_positions),
        _unique_strategies(baseline_exposures, mmdrex_exposures),
    )


def main_table(
    metrics: pd.DataFrame, params: Mapping[str, Any]
) -> tuple[pd.DataFrame, str]:
    """The paper-style main table: parquet and markdown."""
    baselines = list(BASELINES)
    return report.main_table(metrics, baselines), report.main_table_markdown(
        metrics, baselines
    )


def significance(
    market_returns: pd.DataFrame,
    metrics: pd.DataFrame,
    backtest_params: Mapping[str, Any],
    params: Mapping[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """Sharpe-difference intervals and SPA p-values of the lead strategy
    against every baseline present, per market."""
    lead = params["lead_strategy"]
    returns = market_returns.rename(columns={"market": "name"})
    periods = (
        metrics[metrics["level"] == "market"]
        .groupby("name")["periods_per_year"]
        .first()
        .to_dict()
    )
    bootstrap = {**backtest_params["bootstrap"], **params.get("significance", {})}
    sharpe, spa = significance_tables(
        returns, lead, list(BASELINES), periods, bootstrap
    )
    return sharpe, spa, significance_markdown(sharpe, spa, lead)


def costs(
    exposures: pd.DataFrame,
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    backtest_params: Mapping[str, Any],
    params: Mapping[str, Any],
) -> tuple[pd.DataFrame, str]:
    """Cost sensitivity of every strategy (same exposures, overridden costs)."""
    table = cost_sensitivity(
        exposures,
        ohlcv,
        instruments,
        split,
        backtest_params["markets"],
        params["cost_sensitivity_bps"],
        segment=backtest_params["segment"],
        limits=ExposureLimits.from_params(backtest_params.get("limits")),
    )
    return table, cost_sensitivity_markdown(table)


def by_regime(
    positions: pd.DataFrame,
    regimes: pd.DataFrame,
    instruments: pd.DataFrame,
    backtest_params: Mapping[str, Any],
) -> tuple[pd.DataFrame, str]:
    """Sleeve returns per market grouped by the decision bar's labelled regime."""
    table = regime_performance(
        positions, regimes, instruments, backtest_params["markets"], REGIMES
    )
    return table, regime_markdown(table)


def attribution(
    decision_log: pd.DataFrame, params: Mapping[str, Any]
) -> tuple[pd.DataFrame, str, Figure]:
    """Per-expert attribution of the lead strategy's return and drawdown."""
    lead = params["lead_strategy"]
    table = expert_attribution(decision_log, EXPERTS)
    dpi = int(params.get("figure_dpi", 110))
    return (
        table,
        attribution_markdown(table, lead),
        attribution_figure(table, lead, dpi=dpi),
    )


def routing_figure(
    decision_log: pd.DataFrame, regimes: pd.DataFrame, params: Mapping[str, Any]
) -> Figure:
    """Routing weights over time (stacked area) with the labelled regime shaded."""
    return routing_weights_figure(
        decision_log,
        regimes,
        EXPERTS,
        params["lead_strategy"],
        dpi=int(params.get("figure_dpi", 110)),
    )


def run_report(
    main_md: str,
    significance_md: str,
    costs_md: str,
    regime_md: str,
    attribution_md: str,
    results_md: str,
    data_quality: pd.DataFrame,
    label_report: str,
    expert_report: str,
    router_evaluation_report: str,
    mmdrex_report: str,
    sample_charts: Mapping[str, Any],
    params: Mapping[str, Any],
) -> str:
    """``report.md``: every table of the run, and the figures linked (the
    sample charts by their partition names; they are not loaded)."""
    sections = {
        "Main table": main_md,
        "Significance": significance_md,
        "Cost sensitivity": costs_md,
        "Results by regime": regime_md,
        "Per-expert attribution": attribution_md,
        "MM-DREX and its ablations (expert_rl stage)": mmdrex_report,
        "Router evaluation (router_sft stage)": router_evaluation_report,
        "Experts alone (experts stage)": expert_report,
        "Regime labels (labeling stage)": label_report,
        "Data quality (ingestion stage)": data_quality_markdown(data_quality),
        "All results (per instrument, market, average)": results_md,
    }
    figures = [(f["caption"], f["path"]) for f in params.get("report_figures", [])]
    figures += [
        (f"Chart the router saw: {name}", f"sample_charts/{name}.png")
        for name in sorted(sample_charts)
    ]
    return gather_report(
        sections, figures, params.get("report_title", "MM-DREX run report")
    )


def tearsheets(
    market_returns: pd.DataFrame,
    metrics: pd.DataFrame,
    backtest_params: Mapping[str, Any],
    params: Mapping[str, Any],
) -> dict[str, str]:
    """quantstats HTML pages: the lead and the best baseline per market, buy &
    hold (the backtest's benchmark strategy) as benchmark."""
    return dict(
        market_tearsheets(
            market_returns,
            metrics,
            params["lead_strategy"],
            list(BASELINES),
            backtest_params["benchmark_strategy"],
            params.get("tearsheet_markets"),
        )
    )


def audit(
    decision_log: pd.DataFrame, chart_index: pd.DataFrame, ohlcv: pd.DataFrame
) -> pd.DataFrame:
    """The decision log joined with the chart index and the prices."""
    return audit_trail(decision_log, chart_index, ohlcv)


def headline_metrics(main_table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """``{"<strategy>.<market>.<metric>": {"value": seed mean, "step": 0}}`` of
    the main table's TR, Sharpe and MDD: the run's metrics for the tracking
    store (kedro-mlflow's metrics dataset format)."""
    return {
        name: {"value": value, "step": 0}
        for name, value in report.headline_metrics(main_table).items()
    }
