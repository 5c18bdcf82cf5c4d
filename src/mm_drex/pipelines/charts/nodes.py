"""Charts nodes: thin wrappers over :mod:`mm_drex.charts`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mm_drex.charts.people import renderer_comparison, sample_charts
from mm_drex.charts.settings import ChartSettings
from mm_drex.charts.store import index_with_hashes, shard_renderers, store_summary
from mm_drex.charts.windows import plan_charts

ChartShards = Mapping[str, Callable[[], np.ndarray]]


def plan(
    ohlcv: pd.DataFrame, split: pd.DataFrame, params: Mapping[str, Any]
) -> pd.DataFrame:
    """Every decision point (t >= window - 1, all segments) with its shard and row."""
    settings = ChartSettings.from_params(params)
    return plan_charts(ohlcv, split, settings.window, settings.shard_size)


def render_shards(
    ohlcv: pd.DataFrame, chart_plan: pd.DataFrame, params: Mapping[str, Any]
) -> dict[str, Callable[[], np.ndarray]]:
    """Lazy ``{shard: render}``: the catalog writes one shard at a time."""
    settings = ChartSettings.from_params(params)
    series = settings.series.series(ohlcv)
    return shard_renderers(chart_plan, series, settings.window, settings.raster)


def index_shards(chart_plan: pd.DataFrame, chart_shards: ChartShards) -> pd.DataFrame:
    """The chart index: the plan plus the sha256 of every stored chart's pixels."""
    return index_with_hashes(chart_plan, chart_shards)


def samples(
    ohlcv: pd.DataFrame, chart_index: pd.DataFrame, params: Mapping[str, Any]
) -> dict[str, Callable[[], Figure]]:
    """mplfinance PNGs for a seeded sample of decision points (lazy figures)."""
    return sample_charts(ohlcv, chart_index, ChartSettings.from_params(params))


def renderers(
    ohlcv: pd.DataFrame, chart_index: pd.DataFrame, params: Mapping[str, Any]
) -> Figure:
    """One decision point drawn by both renderers side by side (kedro-viz preview)."""
    return renderer_comparison(ohlcv, chart_index, ChartSettings.from_params(params))


def summary(chart_index: pd.DataFrame, params: Mapping[str, Any]) -> dict[str, Any]:
    """Counts and storage of the chart shards."""
    return store_summary(chart_index, ChartSettings.from_params(params).raster)
