"""The labeling stage's report: the label rule and the class distribution."""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from mm_drex.markdown import markdown_table
from mm_drex.regimes.labels import REGIMES, LabelSettings

REGIME_COLOURS = {"downtrend": "#d62728", "sideways": "#9e9e9e", "uptrend": "#009650"}


def label_report_markdown(distribution: pd.DataFrame, settings: LabelSettings) -> str:
    """Markdown report of the label rule and the class distribution
    (``settings``: :class:`LabelSettings` or the raw ``labeling`` parameters)."""
    settings = LabelSettings.of(settings)
    rows = []
    for row in distribution.itertuples(index=False):
        shares = [
            ""
            if pd.isna(getattr(row, f"share_{name}"))
            else f"{100 * getattr(row, f'share_{name}'):.1f}"
            for name in REGIMES
        ]
        rows.append(
            [row.instrument, row.segment, row.downtrend, row.sideways, row.uptrend]
            + [row.unlabelled, *shares]
        )
    header = ["instrument", "segment", "downtrend", "sideways", "uptrend"]
    header += ["unlabelled", "% down", "% side", "% up"]
    unit = " bars" if isinstance(settings.horizon, int) else " (each instrument's bars)"
    rule = (
        f"Rule: forward simple return over H = {settings.horizon}{unit} versus "
        f"theta * sigma * sqrt(H), theta = {settings.theta}, sigma = std of the last "
        f"{settings.volatility_window} bar returns at t. Decision points t >= "
        f"{settings.window - 1}. Unlabelled = horizon incomplete, crosses a split "
        "boundary, or t in a purge gap."
    )
    table = markdown_table(header, rows, align="llr")
    return (
        "\n".join(["# Regime labels: class distribution", "", rule, "", table]) + "\n"
    )


def label_distribution_figure(distribution: pd.DataFrame) -> Figure:
    """Stacked class shares per instrument, one panel per segment."""
    figure = Figure(figsize=(14, 4), layout="tight")
    axes = figure.subplots(1, 3, sharey=True)
    for axis, segment in zip(axes, ("train", "val", "test"), strict=True):
        rows = distribution[distribution["segment"] == segment]
        bottom = None
        for name in REGIMES:
            shares = rows[f"share_{name}"].fillna(0.0).to_numpy()
            axis.bar(
                rows["instrument"],
                shares,
                bottom=bottom,
                color=REGIME_COLOURS[name],
                label=name,
            )
            bottom = shares if bottom is None else bottom + shares
        axis.set_title(segment)
        axis.tick_params(axis="x", rotation=60)
    axes[0].set_ylabel("share of labelled decision points")
    axes[-1].legend(loc="upper right", fontsize=8)
    return figure
