"""mplfinance renderer: charts for people (reports, kedro-viz), not for models.

Shows the same window as the raster chart: candles, volume, the same two
causal moving averages (passed in, not recomputed inside the window, so the
first bars are not blank) and an indicator panel (RSI with 30/70 guides, or
MACD with signal and histogram).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import mplfinance as mpf
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mm_drex.charts.raster import DEFAULT_COLOURS
from mm_drex.charts.settings import ChartSettings
from mm_drex.charts.store import render_points
from mm_drex.charts.windows import ChartSeries, sample_points


def _addplot(data: np.ndarray, **kwargs) -> dict:
    # One shared y axis per panel: mplfinance would otherwise put series of a
    # different range (the 30/70 guides) on a secondary axis.
    return mpf.make_addplot(data, secondary_y=False, **kwargs)


def _hex(name: str) -> str:
    return "#{:02x}{:02x}{:02x}".format(*DEFAULT_COLOURS[name])


def window_frame(
    window: Mapping[str, np.ndarray], timestamps: np.ndarray
) -> pd.DataFrame:
    """One window's series (1-D arrays) as the DatetimeIndex frame mplfinance wants."""
    frame = pd.DataFrame(
        {
            k.capitalize(): np.asarray(window[k], dtype=float)
            for k in ("open", "high", "low", "close")
        },
        index=pd.DatetimeIndex(timestamps, name="Date"),
    )
    frame["Volume"] = np.nan_to_num(np.asarray(window["volume"], dtype=float))
    return frame


def render_people_chart(
    window: Mapping[str, np.ndarray],
    timestamps: np.ndarray,
    title: str,
    indicator: str = "rsi",
    ma_labels: tuple[str, str] = ("SMA 20", "SMA 50"),
    figsize: tuple[float, float] = (8.0, 6.0),
) -> Figure:
    """A matplotlib Figure of one window (series as in :func:`render_windows`)."""
    frame = window_frame(window, timestamps)
    has_volume = bool(np.isfinite(np.asarray(window["volume"], dtype=float)).any())
    indicator_panel = 2 if has_volume else 1
    plots = [
        _addplot(
            window["ma_fast"], color=_hex("ma_fast"), width=1.0, label=ma_labels[0]
        ),
        _addplot(
            window["ma_slow"], color=_hex("ma_slow"), width=1.0, label=ma_labels[1]
        ),
    ]
    if indicator == "rsi":
        plots += [
            _addplot(
                window["rsi"],
                panel=indicator_panel,
                color=_hex("indicator"),
                ylabel="RSI",
                ylim=(0, 100),
            ),
            _addplot(
                np.full(len(frame), 70.0),
                panel=indicator_panel,
                color="grey",
                linestyle="--",
                width=0.6,
            ),
            _addplot(
                np.full(len(frame), 30.0),
                panel=indicator_panel,
                color="grey",
                linestyle="--",
                width=0.6,
            ),
        ]
    else:
        plots += [
            _addplot(
                window["macd_hist"],
                panel=indicator_panel,
                type="bar",
                color="grey",
                ylabel="MACD",
            ),
            _addplot(window["macd"], panel=indicator_panel, color=_hex("indicator")),
            _addplot(
                window["macd_signal"], panel=indicator_panel, color=_hex("signal")
            ),
        ]
    colours = mpf.make_marketcolors(
        up=_hex("up"), down=_hex("down"), edge="inherit", wick="inherit", volume="in"
    )
    style = mpf.make_mpf_style(
        base_mpf_style="default",
        marketcolors=colours,
        rc={
            "font.weight": "normal",
            "axes.titleweight": "bold",
            "axes.labelweight": "normal",
        },
    )
    figure, _ = mpf.plot(
        frame,
        type="candle",
        volume=has_volume,
        addplot=plots,
        style=style,
        title={"title": title, "weight": "bold"},
        panel_ratios=(3, 1, 1) if has_volume else (3, 1),
        figsize=figsize,
        returnfig=True,
        warn_too_much_data=len(frame) + 1,
    )
    return figure


def people_chart(
    ohlcv: pd.DataFrame,
    point: Any,
    series: ChartSeries,
    settings: ChartSettings,
    indicator: str | None = None,
) -> Callable[[], Figure]:
    """A lazy mplfinance figure of the window ending at ``point`` (a row of the
    chart index: instrument, timestamp, t, segment)."""
    window = settings.window
    bars = ohlcv[ohlcv["instrument"] == point.instrument]
    timestamps = bars["timestamp"].to_numpy()[point.t - window + 1 : point.t + 1]
    title = (
        f"{point.instrument} {pd.Timestamp(point.timestamp):%Y-%m-%d} ({point.segment})"
    )

    def draw() -> Figure:
        windows = series.windows([point.instrument], [point.t], window)
        return render_people_chart(
            {k: v[0] for k, v in windows.items()},
            timestamps,
            title,
            indicator=indicator or settings.samples.indicator,
            ma_labels=tuple(f"SMA {w}" for w in settings.series.ma_windows),
            figsize=settings.samples.figsize,
        )

    return draw


def sample_charts(
    ohlcv: pd.DataFrame, chart_index: pd.DataFrame, settings: ChartSettings
) -> dict[str, Callable[[], Figure]]:
    """``{"<instrument>_<date>": lazy figure}`` for a seeded sample of decision
    points (``charts.samples``)."""
    samples = settings.samples
    points = sample_points(chart_index, samples.per_instrument, samples.seed)
    series = settings.series.series(ohlcv)
    return {
        f"{p.instrument}_{pd.Timestamp(p.timestamp):%Y-%m-%d}": people_chart(
            ohlcv, p, series, settings
        )
        for p in points.itertuples(index=False)
    }


def renderer_comparison(
    ohlcv: pd.DataFrame, chart_index: pd.DataFrame, settings: ChartSettings
) -> Figure:
    """One sampled decision point drawn by both renderers side by side."""
    import matplotlib.pyplot as plt

    point = next(
        sample_points(chart_index, 1, settings.samples.seed).itertuples(index=False)
    )
    series = settings.series.series(ohlcv)
    style = settings.raster
    raster = render_points(
        series, [point.instrument], [point.t], settings.window, style
    )[0]
    people = people_chart(ohlcv, point, series, settings, indicator=style.indicator)()
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
        f"{point.instrument} at {pd.Timestamp(point.timestamp):%Y-%m-%d}, "
        f"last {settings.window} bars"
    )
    plt.close(people)
    return figure
