"""Figures of MM-DREX's behaviour: routing weights over time with the labelled
regime shaded, and per-expert attribution. ``matplotlib.figure.Figure`` only
(no pyplot state); saved by the catalog."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

REGIME_COLOURS = {"uptrend": "#2ca02c", "downtrend": "#d62728", "sideways": "#7f7f7f"}


def _empty(message: str, dpi: int) -> Figure:
    figure = Figure(figsize=(6, 2), dpi=dpi)
    axes = figure.subplots()
    axes.axis("off")
    axes.text(0.5, 0.5, message, ha="center", va="center")
    return figure


def routing_weights_figure(
    decision_log: pd.DataFrame,
    regimes: pd.DataFrame,
    experts: Sequence[str],
    strategy: str = "mm_drex",
    dpi: int = 110,
) -> Figure:
    """Per instrument, the seed-mean routing weights as a stacked area, with the
    bar's labelled regime (``regimes.regime``, a forward label: shown for
    reading, never an input) shaded in a strip below."""
    log = decision_log[decision_log["strategy"] == strategy]
    if log.empty:
        return _empty(f"no decision log of {strategy} in this run", dpi)
    columns = [f"w_{e}" for e in experts]
    weights = log.groupby(["instrument", "timestamp"], sort=False)[columns].mean()
    instruments = list(dict.fromkeys(weights.index.get_level_values(0)))
    labels = regimes.set_index(["instrument", "timestamp"])["regime"]
    figure = Figure(figsize=(10, 2.2 * len(instruments)), dpi=dpi, layout="constrained")
    axes_grid = figure.subplots(
        2 * len(instruments),
        1,
        squeeze=False,
        gridspec_kw={"height_ratios": [5, 1] * len(instruments)},
    )[:, 0]
    for i, instrument in enumerate(instruments):
        area, strip = axes_grid[2 * i], axes_grid[2 * i + 1]
        frame = weights.loc[instrument]
        time = frame.index.to_numpy()
        area.stackplot(time, frame.to_numpy().T, labels=list(experts), alpha=0.85)
        area.set_ylim(0, 1)
        area.set_xlim(time[0], time[-1])
        area.set_title(f"{instrument}: routing weights ({strategy}, seed mean)")
        area.tick_params(labelsize=7, labelbottom=False)
        if i == 0:
            area.legend(fontsize=7, loc="upper left", ncols=len(experts))
        regime = labels.reindex(pd.MultiIndex.from_product([[instrument], time]))
        for name, colour in REGIME_COLOURS.items():
            mask = (regime == name).to_numpy()
            strip.fill_between(
                time, 0, 1, where=mask, color=colour, lw=0, step="mid", label=name
            )
        strip.set_xlim(time[0], time[-1])
        strip.set_yticks([])
        strip.tick_params(labelsize=7)
        if i == 0:
            strip.legend(fontsize=6, loc="center left", ncols=3)
    return figure


def attribution_figure(
    attribution: pd.DataFrame, strategy: str = "mm_drex", dpi: int = 110
) -> Figure:
    """Seed-mean attributed total return and drawdown return per expert,
    grouped by instrument."""
    table = attribution[attribution["strategy"] == strategy]
    if table.empty:
        return _empty(f"no attribution of {strategy} in this run", dpi)
    figure = Figure(figsize=(10, 5), dpi=dpi, layout="constrained")
    axes = figure.subplots(2, 1, sharex=True)
    for ax, column, title in (
        (axes[0], "total_return", "attributed return"),
        (axes[1], "drawdown_return", "attributed return within the max drawdown"),
    ):
        wide = table.groupby(["instrument", "expert"], sort=False)[column].mean()
        wide = wide.unstack("expert")
        positions = np.arange(len(wide))
        width = 0.8 / max(len(wide.columns), 1)
        for k, expert in enumerate(wide.columns):
            ax.bar(
                positions + k * width,
                wide[expert].to_numpy() * 100,
                width,
                label=str(expert),
            )
        ax.set_xticks(positions + 0.4 - width / 2, list(wide.index), fontsize=7)
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_ylabel("%")
        ax.set_title(title)
        ax.grid(alpha=0.3, axis="y")
    axes[0].legend(fontsize=7, ncols=5)
    return figure
