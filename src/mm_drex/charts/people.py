"""mplfinance renderer: charts for people (reports, kedro-viz), not for models.

Shows the same window as the raster chart: candles, volume, the same two
causal moving averages (passed in, not recomputed inside the window, so the
first bars are not blank) and an indicator panel (RSI with 30/70 guides, or
MACD with signal and histogram).
"""

from __future__ import annotations

from collections.abc import Mapping

import mplfinance as mpf
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mm_drex.charts.raster import DEFAULT_COLOURS


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
