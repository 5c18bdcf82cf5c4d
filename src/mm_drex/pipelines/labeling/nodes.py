"""Labeling nodes: thin wrappers over :mod:`mm_drex.regimes`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from mm_drex.data.calendar import instrument_bars
from mm_drex.regimes.labels import LabelSettings, label_distribution, label_regimes
from mm_drex.reporting.labels import label_distribution_figure, label_report_markdown


def regimes(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    params: Mapping[str, Any],
) -> pd.DataFrame:
    """Forward regime label of every decision point (NaN where incomplete or
    purged); a horizon given as a duration is converted per instrument."""
    s = LabelSettings.from_params(params)
    horizon = instrument_bars(s.horizon, instruments, "labeling.horizon")
    return label_regimes(ohlcv, split, horizon, s.theta, s.volatility_window, s.window)


def label_report(
    regimes: pd.DataFrame, params: Mapping[str, Any]
) -> tuple[pd.DataFrame, str]:
    """Class counts per instrument and segment, as a table and as markdown."""
    distribution = label_distribution(regimes)
    settings = LabelSettings.from_params(params)
    return distribution, label_report_markdown(distribution, settings)


def label_distribution_plot(distribution: pd.DataFrame) -> Figure:
    """Stacked class shares per instrument, one panel per segment."""
    return label_distribution_figure(distribution)
