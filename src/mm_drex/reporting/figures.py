"""Figures of the backtest: NAV and drawdown per market, NAV per instrument.

Built on ``matplotlib.figure.Figure`` (no pyplot state); the catalog saves them
with ``matplotlib.MatplotlibDataset``. A strategy with several seeds is drawn as
the mean over seeds with a band from the lowest to the highest seed.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter
from matplotlib.figure import Figure

GAP_FACTOR = 10


def _break_gaps(series: pd.Series) -> pd.Series:
    """Insert NaN where consecutive timestamps are > GAP_FACTOR typical spacings
    apart, so that a line is not drawn across a period with no data (a market
    whose instruments cover different years)."""
    if len(series) < 3:
        return series
    spacing = series.index.to_series().diff()
    gaps = spacing > GAP_FACTOR * spacing.median()
    if not gaps.any():
        return series
    breaks = pd.Series(
        np.nan, index=series.index[gaps.to_numpy()] - pd.Timedelta(1, "ns")
    )
    return pd.concat([series, breaks]).sort_index()


def _draw(axes: Axes, table: pd.DataFrame, column: str) -> None:
    for strategy, lines in table.groupby("strategy", sort=True):
        by_time = lines.groupby("timestamp", sort=True)[column]
        mean = _break_gaps(by_time.mean())
        (line,) = axes.plot(mean.index, mean.to_numpy(), lw=1.0, label=str(strategy))
        if lines["seed"].nunique() > 1:
            low, high = _break_gaps(by_time.min()), _break_gaps(by_time.max())
            axes.fill_between(
                low.index,
                low.to_numpy(),
                high.to_numpy(),
                color=line.get_color(),
                alpha=0.2,
                lw=0,
            )
    locator = AutoDateLocator()
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))


def _nav_and_drawdown(
    nav_axes: Axes, dd_axes: Axes, table: pd.DataFrame, title: str
) -> None:
    _draw(nav_axes, table, "nav")
    _draw(dd_axes, table, "drawdown")
    nav_axes.set_title(title)
    nav_axes.set_ylabel("NAV")
    nav_axes.axhline(1.0, color="grey", lw=0.5)
    dd_axes.set_ylabel("drawdown")
    dd_axes.yaxis.set_major_formatter(lambda value, _: f"{value:.0%}")
    nav_axes.legend(fontsize=7, loc="upper left")
    for axes in (nav_axes, dd_axes):
        axes.grid(alpha=0.3)
        axes.tick_params(labelsize=7)


def _market_table(market_returns: pd.DataFrame) -> pd.DataFrame:
    keys = ["strategy", "seed", "market"]
    peak = market_returns.groupby(keys, sort=False)["nav"].cummax()
    return market_returns.assign(drawdown=market_returns["nav"] / peak - 1.0)


def market_nav_drawdown_figures(
    market_returns: pd.DataFrame, dpi: int = 110
) -> dict[str, Figure]:
    """One figure per market (``<market>.png``): NAV on top, drawdown below."""
    table = _market_table(market_returns)
    figures = {}
    for market, lines in table.groupby("market", sort=False):
        figure = Figure(figsize=(9, 5.5), dpi=dpi, layout="constrained")
        nav_axes, dd_axes = figure.subplots(
            2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]}
        )
        _nav_and_drawdown(nav_axes, dd_axes, lines, f"{market}: NAV and drawdown")
        figures[f"{market}.png"] = figure
    return figures


def market_nav_drawdown_figure(market_returns: pd.DataFrame, dpi: int = 110) -> Figure:
    """All markets side by side: NAV (top row) and drawdown (bottom row)."""
    table = _market_table(market_returns)
    markets = list(dict.fromkeys(table["market"]))
    figure = Figure(
        figsize=(4.5 * max(len(markets), 1), 5.5), dpi=dpi, layout="constrained"
    )
    axes = figure.subplots(
        2, max(len(markets), 1), squeeze=False, gridspec_kw={"height_ratios": [2, 1]}
    )
    for column, market in enumerate(markets):
        lines = table[table["market"] == market]
        _nav_and_drawdown(axes[0, column], axes[1, column], lines, str(market))
    figure.suptitle("Market portfolios: NAV and drawdown")
    return figure


def instrument_nav_figure(
    positions: pd.DataFrame, columns: int = 4, dpi: int = 110
) -> Figure:
    """NAV of every strategy on every instrument, one panel per instrument."""
    instruments = list(dict.fromkeys(positions["instrument"]))
    rows = max(math.ceil(len(instruments) / columns), 1)
    figure = Figure(figsize=(3.6 * columns, 2.6 * rows), dpi=dpi, layout="constrained")
    axes = np.atleast_2d(figure.subplots(rows, columns, squeeze=False))
    for index, axes_ in enumerate(axes.ravel()):
        if index >= len(instruments):
            axes_.set_visible(False)
            continue
        instrument = instruments[index]
        _draw(axes_, positions[positions["instrument"] == instrument], "nav")
        axes_.set_title(instrument, fontsize=9)
        axes_.axhline(1.0, color="grey", lw=0.5)
        axes_.grid(alpha=0.3)
        axes_.tick_params(labelsize=6)
        if index == 0:
            axes_.legend(fontsize=6, loc="upper left")
    figure.suptitle("NAV per instrument (evaluated segment)")
    return figure
