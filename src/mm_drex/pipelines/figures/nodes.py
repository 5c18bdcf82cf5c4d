"""Figures nodes: thin wrappers over :mod:`mm_drex.reporting`'s figures."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from mm_drex.backtest.settings import BacktestSettings
from mm_drex.baselines import BASELINES
from mm_drex.experts.templates import EXPERTS
from mm_drex.reporting import (
    instrument_nav_figure,
    market_nav_drawdown_figure,
    market_nav_drawdown_figures,
)
from mm_drex.reporting.plots import routing_weights_figure
from mm_drex.reporting.settings import ReportingSettings
from mm_drex.reporting.tearsheets import market_tearsheets

Params = Mapping[str, Any]


def market_figures(
    market_returns: pd.DataFrame, params: Params
) -> tuple[Figure, dict[str, Figure]]:
    """NAV and drawdown of the market portfolios: all in one, and one per market."""
    dpi = ReportingSettings.from_params(params).figure_dpi
    return (
        market_nav_drawdown_figure(market_returns, dpi=dpi),
        market_nav_drawdown_figures(market_returns, dpi=dpi),
    )


def instrument_figure(positions: pd.DataFrame, params: Params) -> Figure:
    """NAV of every strategy per instrument."""
    dpi = ReportingSettings.from_params(params).figure_dpi
    return instrument_nav_figure(positions, dpi=dpi)


def routing_figure(
    decision_log: pd.DataFrame, regimes: pd.DataFrame, params: Params
) -> Figure:
    """Routing weights over time (stacked area) with the labelled regime shaded."""
    settings = ReportingSettings.from_params(params)
    return routing_weights_figure(
        decision_log, regimes, EXPERTS, settings.lead_strategy, dpi=settings.figure_dpi
    )


def tearsheets(
    market_returns: pd.DataFrame,
    metrics: pd.DataFrame,
    backtest: Params,
    params: Params,
) -> dict[str, str]:
    """quantstats HTML pages: the lead and the best baseline per market, the
    backtest's benchmark strategy (buy & hold) as benchmark."""
    settings = ReportingSettings.from_params(params)
    return dict(
        market_tearsheets(
            market_returns,
            metrics,
            settings.lead_strategy,
            list(BASELINES),
            BacktestSettings.from_params(backtest).benchmark_strategy,
            settings.tearsheet_markets,
        )
    )
