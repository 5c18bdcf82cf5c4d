"""Charts nodes: thin wrappers over :mod:`mm_drex.charts`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mm_drex.charts.people import render_people_chart
from mm_drex.charts.raster import RasterStyle
from mm_drex.charts.store import index_with_hashes, render_points, shard_renderers
from mm_drex.charts.windows import chart_series_from_params, plan_charts, sample_points


def plan(
    ohlcv: pd.DataFrame, split: pd.DataFrame, params: Mapping[str, Any]
) -> pd.DataFrame:
    """Every decision point (t >= window - 1, all segments) with its shard and row."""
    return plan_charts(ohlcv, split, int(params["window"]), int(params["shard_size"]))


def render_shards(
    ohlcv: pd.DataFrame, chart_plan: pd.DataFrame, params: Mapping[str, Any]
) -> dict[str, Callable[[], np.ndarray]]:
    """Lazy ``{shard: render}``: the catalog writes one shard at a time."""
    series = chart_series_from_params(ohlcv, params["series"])
    style = RasterStyle.from_params(params["raster"])
    return shard_renderers(chart_plan, series, int(params["window"]), style)


def index_shards(
    chart_plan: pd.DataFrame, chart_shards: Mapping[str, Callable[[], np.ndarray]]
) -> pd.DataFrame:
    """The chart index: the plan plus the sha256 of every stored chart's pixels."""
    return index_with_hashes(chart_plan, chart_shards)


def _people_chart(
    ohlcv: pd.DataFrame,
    point: Any,
    series: Any,
    params: Mapping[str, Any],
    indicator: str | None = None,
) -> Callable[[], Figure]:
    window = int(params["window"])
    bars = ohlcv[ohlcv["instrument"] == point.instrument]
    timestamps = bars["timestamp"].to_numpy()[point.t - window + 1 : point.t + 1]
    title = (
        f"{point.instrument} {pd.Timestamp(point.timestamp):%Y-%m-%d} ({point.segment})"
    )
    samples = params["samples"]

    def draw() -> Figure:
        windows = series.windows([point.instrument], [point.t], window)
        return render_people_chart(
            {k: v[0] for k, v in windows.items()},
            timestamps,
            title,
            indicator=indicator or samples["indicator"],
            ma_labels=tuple(f"SMA {w}" for w in params["series"]["ma_windows"]),
            figsize=tuple(samples["figsize"]),
        )

    return draw


def sample_charts(
    ohlcv: pd.DataFrame, chart_index: pd.DataFrame, params: Mapping[str, Any]
) -> dict[str, Callable[[], Figure]]:
    """mplfinance PNGs for a seeded sample of decision points (lazy figures)."""
    samples = params["samples"]
    points = sample_points(
        chart_index, int(samples["per_instrument"]), int(samples["seed"])
    )
    series = chart_series_from_params(ohlcv, params["series"])
    return {
        f"{p.instrument}_{pd.Timestamp(p.timestamp):%Y-%m-%d}": _people_chart(
            ohlcv, p, series, params
        )
        for p in points.itertuples(index=False)
    }


def renderer_comparison(
    ohlcv: pd.DataFrame, chart_index: pd.DataFrame, params: Mapping[str, Any]
) -> Figure:
    """One decision point drawn by both renderers side by side (kedro-viz preview)."""
    import matplotlib.pyplot as plt

    samples = params["samples"]
    point = next(
        sample_points(chart_index, 1, int(samples["seed"])).itertuples(index=False)
    )
    series = chart_series_from_params(ohlcv, params["series"])
    style = RasterStyle.from_params(params["raster"])
    raster = render_points(
        series, [point.instrument], [point.t], int(params["window"]), style
    )[0]
    people = _people_chart(ohlcv, point, series, params, indicator=style.indicator)()
    people.canvas.draw()
    people_pixels = np.asarray(people.canvas.buffer_rgba())[..., :3]
    figure, axes = plt.subplots(1, 2, figsize=(12, 5))
    axes[0].imshow(raster.transpose(1, 2, 0), interpolation="nearest")
    axes[0].set_title(f"raster renderer (model input, {style.height}x{style.width})")
    axes[1].imshow(people_pixels)
    axes[1].set_title("mplfinance renderer (people)")
    for axis in axes:
        axis.set_axis_off()
    figure.suptitle(
        f"{point.instrument} at {pd.Timestamp(point.timestamp):%Y-%m-%d}, last {params['window']} bars"
    )
    plt.close(people)
    return figure


def charts_summary(
    chart_index: pd.DataFrame, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Counts and storage of the chart shards."""
    raster = RasterStyle.from_params(params["raster"])
    bytes_per_chart = 3 * raster.height * raster.width
    return {
        "charts": len(chart_index),
        "shards": int(chart_index["shard"].nunique()),
        "image_shape": [3, raster.height, raster.width],
        "indicator": raster.indicator,
        "bytes": int(len(chart_index) * bytes_per_chart),
        "distinct_charts": int(chart_index["sha256"].nunique()),
        "charts_per_segment": {
            str(k): int(v)
            for k, v in chart_index["segment"].value_counts().sort_index().items()
        },
    }
