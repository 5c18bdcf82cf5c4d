"""Reporting nodes: thin wrappers over :mod:`mm_drex.reporting`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from mm_drex.reporting import (
    instrument_nav_figure,
    market_nav_drawdown_figure,
    market_nav_drawdown_figures,
    results_markdown,
    results_table,
)


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
