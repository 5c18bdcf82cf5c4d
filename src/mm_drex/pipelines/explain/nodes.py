"""Explain nodes: thin wrappers over :mod:`mm_drex.audit`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mm_drex.audit import chart_figure, explanation_markdown, select_decision
from mm_drex.charts.store import ChartStore
from mm_drex.experts.templates import EXPERTS
from mm_drex.regimes.labels import REGIMES


def explain_decision(
    audit_trail: pd.DataFrame,
    chart_index: pd.DataFrame,
    chart_shards: Mapping[str, Callable[[], np.ndarray]],
    regimes: pd.DataFrame,
    params: Mapping[str, Any],
) -> tuple[str, Figure]:
    """``params:explain`` (instrument, date, strategy, seed, chart_file) ->
    the explanation page (markdown) and the chart the router saw (PNG)."""
    decision = select_decision(
        audit_trail,
        str(params["instrument"]),
        params["date"],
        str(params.get("strategy", "mm_drex")),
        params.get("seed"),
    )
    instrument, timestamp = decision["instrument"], pd.Timestamp(decision["timestamp"])
    chart = ChartStore(chart_index, chart_shards, cache_shards=1).get(
        instrument, timestamp
    )
    label = regimes.loc[
        (regimes["instrument"] == instrument) & (regimes["timestamp"] == timestamp),
        "regime",
    ]
    page = explanation_markdown(
        decision,
        EXPERTS,
        REGIMES,
        str(params.get("chart_file", "explanation_chart.png")),
        None if label.empty or pd.isna(label.iloc[0]) else str(label.iloc[0]),
    )
    figure = chart_figure(chart, f"{instrument} at the close of {timestamp.date()}")
    return page, figure
