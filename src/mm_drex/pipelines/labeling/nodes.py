"""Labeling nodes: thin wrappers over :mod:`mm_drex.regimes`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from mm_drex.regimes.labels import (
    REGIMES,
    label_distribution,
    label_regimes_from_params,
    label_report_markdown,
)


def regimes(
    ohlcv: pd.DataFrame, split: pd.DataFrame, params: Mapping[str, Any]
) -> pd.DataFrame:
    """Forward regime label of every decision point (NaN where incomplete or purged)."""
    return label_regimes_from_params(ohlcv, split, params)


def label_report(
    regimes: pd.DataFrame, params: Mapping[str, Any]
) -> tuple[pd.DataFrame, str]:
    """Class counts per instrument and segment, as a table and as markdown."""
    distribution = label_distribution(regimes)
    return distribution, label_report_markdown(distribution, params)


def label_distribution_plot(distribution: pd.DataFrame) -> Figure:
    """Stacked class shares per instrument, one panel per segment."""
    import matplotlib.pyplot as plt

    segments = ["train", "val", "test"]
    figure, axes = plt.subplots(1, 3, figsize=(14, 4), sharey=True)
    colours = {"downtrend": "#d62728", "sideways": "#9e9e9e", "uptrend": "#009650"}
    for axis, segment in zip(axes, segments, strict=True):
        rows = distribution[distribution["segment"] == segment]
        bottom = None
        for name in REGIMES:
            shares = rows[f"share_{name}"].fillna(0.0).to_numpy()
            axis.bar(
                rows["instrument"],
                shares,
                bottom=bottom,
                color=colours[name],
                label=name,
            )
            bottom = shares if bottom is None else bottom + shares
        axis.set_title(segment)
        axis.tick_params(axis="x", rotation=60)
    axes[0].set_ylabel("share of labelled decision points")
    axes[-1].legend(loc="upper right", fontsize=8)
    figure.tight_layout()
    return figure
