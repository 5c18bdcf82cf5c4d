"""Reporting: results tables (seed mean ± sd) and figures, from the backtest's tables."""

from mm_drex.reporting.figures import (
    instrument_nav_figure,
    market_nav_drawdown_figure,
    market_nav_drawdown_figures,
)
from mm_drex.reporting.tables import results_markdown, results_table

__all__ = [
    "instrument_nav_figure",
    "market_nav_drawdown_figure",
    "market_nav_drawdown_figures",
    "results_markdown",
    "results_table",
]
