"""Vectorised raster renderer: many candlestick windows -> uint8 ``(N, 3, H, W)``.

Layout, top to bottom: price panel (candles with body and wick, up/down
colours, two moving-average lines), a separator row, volume panel (bars from
the bottom, up/down colours), a separator row, indicator panel (RSI on a fixed
0..100 scale with 30/70 guides, or MACD line, signal and histogram around
zero). Prices, moving averages, volume and MACD are min-max scaled within the
window only; nothing outside the window's bars is read (the moving averages
and indicators are causal series computed on the history up to each bar).

Horizontal mapping of ``B`` bars onto ``W`` pixel columns:

* ``W >= B``: every bar gets a slot of ``p = W // B`` columns (the slack is
  split into left/right margins). With ``p >= 3`` the body fills the first
  ``p - 1`` columns (one column of gap) and the 1-px wick sits in the middle
  column of the body; with ``p < 3`` body and wick fill the slot.
* ``W < B``: consecutive bars that share a column are merged into one candle,
  as OHLC resampling does (first open, max high, min low, last close, mean
  volume, last value of every line), one column each.

Everything is integer arithmetic on broadcast arrays after one float scaling
step, with no loop over bars or windows, so the same inputs give the same
bytes on every run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mm_drex.config import (
    Settings,
    convert_value,
    read_settings,
    setting,
    settings_error,
)

INDICATORS = ("rsi", "macd")

DEFAULT_COLOURS: dict[str, tuple[int, int, int]] = {
    "background": (255, 255, 255),
    "up": (0, 150, 80),
    "down": (214, 39, 40),
    "volume_up": (128, 202, 166),
    "volume_down": (236, 140, 140),
    "ma_fast": (31, 100, 220),
    "ma_slow": (245, 150, 0),
    "indicator": (120, 60, 180),
    "signal": (245, 150, 0),
    "guide": (205, 205, 205),
}


@dataclass(frozen=True)
class RasterStyle(Settings):
    """Image size, panel split and colours of the raster renderer
    (``params:charts.raster``; ``colours`` there overrides any of
    :data:`DEFAULT_COLOURS` by name)."""

    group: ClassVar[str] = "charts.raster"

    height: int = 64
    width: int = 64
    # Shares of the rows left after the two separator rows.
    price_share: float = setting(0.6, gt=0, lt=1)
    volume_share: float = setting(0.2, gt=0, lt=1)
    indicator: str = setting("rsi", choices=INDICATORS)
    colours: tuple[tuple[str, tuple[int, int, int]], ...] = tuple(
        DEFAULT_COLOURS.items()
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        self.panel_rows()

    @classmethod
    def from_params(
        cls, params: Mapping[str, Any] | None, group: str | None = None
    ) -> RasterStyle:
        group = group or cls.group
        params = dict(params or {})
        colours = dict(DEFAULT_COLOURS)
        overrides = params.pop("colours", None) or {}
        overrides = convert_value(
            overrides, dict[str, tuple[int, int, int]], f"{group}.colours"
        )
        for name, rgb in overrides.items():
            if name not in DEFAULT_COLOURS:
                raise settings_error(
                    f"{group}.colours.{name}",
                    list(rgb),
                    f"unknown colour; the colours are {', '.join(DEFAULT_COLOURS)}",
                )
            colours[name] = rgb
        return read_settings(cls, {**params, "colours": tuple(colours.items())}, group)

    def colour(self, name: str) -> np.ndarray:
        return np.array(dict(self.colours)[name], dtype=np.uint8)

    def panel_rows(self) -> tuple[int, int, int]:
        """Rows of the price, volume and indicator panels."""
        available = self.height - 2
        price = int(round(available * self.price_share))
        volume = int(round(available * self.volume_share))
        indicator = available - price - volume
        if min(price, volume, indicator) < 2 or self.width < 2:
            raise ValueError(
                f"chart of {self.height}x{self.width} px is too small for its panels "
                f"(price {price}, volume {volume}, indicator {indicator} rows)"
            )
        return price, volume, indicator


@dataclass(frozen=True)
class ColumnLayout:
    """Which bar slot each pixel column shows and whether it draws body/wick."""

    slot_start: np.ndarray  # (S,) first bar index of each slot
    slot_of_column: np.ndarray  # (W,) slot index, -1 in the margins
    body: np.ndarray  # (W,) bool
    wick: np.ndarray  # (W,) bool
    left_slot: np.ndarray  # (W,) slot left of the column for line interpolation
    fraction: np.ndarray  # (W,) weight of the next slot (0..1)
    on_line: np.ndarray  # (W,) bool: column lies between the first and last slot centre


def column_layout(n_bars: int, width: int) -> ColumnLayout:
    """Map ``n_bars`` bars onto ``width`` pixel columns (see module docstring)."""
    columns = np.arange(width)
    if width >= n_bars:
        pitch = width // n_bars
        margin = (width - pitch * n_bars) // 2
        slot_start = np.arange(n_bars)
        offset = columns - margin
        slot = np.where((offset >= 0) & (offset < pitch * n_bars), offset // pitch, -1)
        within = offset - slot * pitch
        if pitch >= 3:
            body = (slot >= 0) & (within < pitch - 1)
            wick = (slot >= 0) & (within == (pitch - 2) // 2)
        else:
            body = wick = slot >= 0
        centre = (
            margin + np.arange(n_bars) * pitch + ((pitch - 2) // 2 if pitch >= 3 else 0)
        )
    else:
        slot_of_bar = (np.arange(n_bars) * width) // n_bars
        slot_start = np.flatnonzero(np.diff(slot_of_bar, prepend=-1))
        slot = columns
        body = wick = np.ones(width, dtype=bool)
        centre = columns
    centre = centre.astype(np.float64)
    left = np.clip(
        np.searchsorted(centre, columns, side="right") - 1, 0, len(centre) - 1
    )
    right = np.minimum(left + 1, len(centre) - 1)
    span = centre[right] - centre[left]
    fraction = np.where(
        span > 0, (columns - centre[left]) / np.where(span > 0, span, 1), 0.0
    )
    on_line = (columns >= centre[0]) & (columns <= centre[-1])
    return ColumnLayout(
        slot_start=slot_start,
        slot_of_column=slot,
        body=body,
        wick=wick,
        left_slot=left,
        fraction=np.clip(fraction, 0.0, 1.0),
        on_line=on_line,
    )


_LABELS = (
    "background",
    "guide",
    "up",
    "down",
    "volume_up",
    "volume_down",
    "ma_fast",
    "ma_slow",
    "indicator",
    "signal",
)
_LABEL = {name: np.uint8(i) for i, name in enumerate(_LABELS)}
_EMPTY = np.int16(-1)  # rows of an empty span: top = 0, bottom = -1


def _slot_first(x: np.ndarray, layout: ColumnLayout) -> np.ndarray:
    return x[:, layout.slot_start]


def _slot_last(x: np.ndarray, layout: ColumnLayout) -> np.ndarray:
    last = np.append(layout.slot_start[1:], x.shape[1]) - 1
    return x[:, last]


def _to_rows(
    values: np.ndarray, top: np.ndarray, bottom: np.ndarray, rows: int
) -> np.ndarray:
    """Pixel row (float, NaN kept) of each value: ``top`` -> 0, ``bottom`` -> rows-1.

    ``top``/``bottom`` are per window; where they are equal everything sits on
    the middle row.
    """
    span = (top - bottom)[:, None]
    flat = ~(span > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        position = (top[:, None] - values) / np.where(flat, 1.0, span) * (rows - 1)
    position = np.where(flat, (rows - 1) / 2.0, position)
    return np.floor(position + 0.5)


def _columns(values: np.ndarray, layout: ColumnLayout) -> np.ndarray:
    """Per-slot values -> per-column values (NaN in the margins)."""
    picked = values[:, np.maximum(layout.slot_of_column, 0)]
    return np.where(layout.slot_of_column >= 0, picked, np.nan)


def _line_columns(values: np.ndarray, layout: ColumnLayout) -> np.ndarray:
    """Per-slot line values interpolated at every pixel column."""
    left = values[:, layout.left_slot]
    right = values[:, np.minimum(layout.left_slot + 1, values.shape[1] - 1)]
    line = left + (right - left) * layout.fraction
    return np.where(layout.on_line, line, np.nan)


def _span(
    top: np.ndarray, bottom: np.ndarray, rows: int
) -> tuple[np.ndarray, np.ndarray]:
    """Float row bounds -> int16 (top, bottom), empty where either is NaN."""
    empty = np.isnan(top) | np.isnan(bottom)
    top = np.where(empty, 0, np.clip(top, 0, rows)).astype(np.int16)
    bottom = np.where(empty, _EMPTY, np.clip(bottom, -1, rows - 1)).astype(np.int16)
    return top, bottom


def _span_mask(rows: int, top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """(N, rows, W) True where ``top <= row <= bottom`` (float rows, NaN -> empty)."""
    top, bottom = _span(top, bottom, rows)
    r = np.arange(rows, dtype=np.int16)[None, :, None]
    return (r >= top[:, None, :]) & (r <= bottom[:, None, :])


def _line_mask(rows: int, line_rows: np.ndarray) -> np.ndarray:
    """1-px polyline: each column covers the rows between its value and the previous column's."""
    previous = np.concatenate([line_rows[:, :1], line_rows[:, :-1]], axis=1)
    previous = np.where(np.isnan(previous), line_rows, previous)
    return _span_mask(
        rows, np.minimum(previous, line_rows), np.maximum(previous, line_rows)
    )


def _paint(canvas: np.ndarray, mask: np.ndarray, label: np.ndarray | np.uint8) -> None:
    """Set ``label`` (scalar, or (N, W) per column) where ``mask`` (N, R, W) is True."""
    source = label if np.ndim(label) == 0 else np.asarray(label)[:, None, :]
    np.copyto(canvas, source, where=mask)


def render_windows(
    windows: Mapping[str, np.ndarray], style: RasterStyle | None = None
) -> np.ndarray:
    """Render N windows of B bars each into a uint8 array ``(N, 3, H, W)``.

    Args:
        windows: arrays of shape (N, B): ``open, high, low, close, volume``
            (NaN volume -> empty panel), ``ma_fast, ma_slow`` (NaN -> not drawn)
            and the indicator: ``rsi`` for ``style.indicator == "rsi"``, or
            ``macd, macd_signal, macd_hist`` for ``"macd"``.
        style: image size, panel split, colours.

    The picture is first drawn as one colour label per pixel, then looked up
    in the palette channel by channel.
    """
    style = style or RasterStyle()
    open_, high, low, close = (
        np.asarray(windows[k], dtype=np.float64)
        for k in ("open", "high", "low", "close")
    )
    if open_.ndim != 2:
        raise ValueError(
            f"windows must be (N, bars) arrays, got open of shape {open_.shape}"
        )
    n, n_bars = open_.shape
    layout = column_layout(n_bars, style.width)
    price_rows, volume_rows, indicator_rows = style.panel_rows()
    canvas = np.zeros((n, style.height, style.width), dtype=np.uint8)
    canvas[:, price_rows, :] = _LABEL["guide"]
    canvas[:, price_rows + 1 + volume_rows, :] = _LABEL["guide"]
    price = canvas[:, :price_rows]
    volume_panel = canvas[:, price_rows + 1 : price_rows + 1 + volume_rows]
    indicator_panel = canvas[:, price_rows + 2 + volume_rows :]

    # Slots (merged bars when several share a column).
    slot_open = _slot_first(open_, layout)
    slot_close = _slot_last(close, layout)
    slot_high = np.maximum.reduceat(high, layout.slot_start, axis=1)
    slot_low = np.minimum.reduceat(low, layout.slot_start, axis=1)
    rising = _columns(slot_close >= slot_open, layout) == 1.0
    candle_label = np.where(rising, _LABEL["up"], _LABEL["down"])
    ma_fast = _slot_last(np.asarray(windows["ma_fast"], dtype=np.float64), layout)
    ma_slow = _slot_last(np.asarray(windows["ma_slow"], dtype=np.float64), layout)

    # Price panel: scaled over the window's lows, highs and visible moving averages.
    top = np.nanmax(np.concatenate([high, ma_fast, ma_slow], axis=1), axis=1)
    bottom = np.nanmin(np.concatenate([low, ma_fast, ma_slow], axis=1), axis=1)
    y_open = _columns(_to_rows(slot_open, top, bottom, price_rows), layout)
    y_close = _columns(_to_rows(slot_close, top, bottom, price_rows), layout)
    y_high = _columns(_to_rows(slot_high, top, bottom, price_rows), layout)
    y_low = _columns(_to_rows(slot_low, top, bottom, price_rows), layout)
    y_high = np.where(layout.wick, y_high, np.nan)
    y_open = np.where(layout.body, y_open, np.nan)
    candles = _span_mask(price_rows, y_high, y_low)
    candles |= _span_mask(
        price_rows, np.minimum(y_open, y_close), np.maximum(y_open, y_close)
    )
    _paint(price, candles, candle_label)
    for name, series in (("ma_slow", ma_slow), ("ma_fast", ma_fast)):
        rows = _line_columns(_to_rows(series, top, bottom, price_rows), layout)
        _paint(price, _line_mask(price_rows, rows), _LABEL[name])

    # Volume panel: bars from the bottom, scaled by the window's largest slot.
    # Mean (not sum) of merged bars, so that 1- and 2-bar columns compare.
    bars_per_slot = np.diff(np.append(layout.slot_start, n_bars))
    volume = (
        np.add.reduceat(
            np.asarray(windows["volume"], dtype=np.float64), layout.slot_start, axis=1
        )
        / bars_per_slot
    )
    largest = np.max(np.where(np.isnan(volume), -np.inf, volume), axis=1)[:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        height = np.floor(volume / largest * volume_rows + 0.5)
    height = np.where(np.isfinite(height) & (largest > 0), height, 0.0)
    bar_top = np.where(layout.body, _columns(volume_rows - height, layout), np.nan)
    bars = _span_mask(volume_rows, bar_top, np.full_like(bar_top, volume_rows - 1.0))
    _paint(
        volume_panel, bars, np.where(rising, _LABEL["volume_up"], _LABEL["volume_down"])
    )

    # Indicator panel.
    if style.indicator == "rsi":
        for level in (30.0, 70.0):
            row = int(np.floor((100.0 - level) / 100.0 * (indicator_rows - 1) + 0.5))
            indicator_panel[:, row, :] = _LABEL["guide"]
        rsi = _slot_last(np.asarray(windows["rsi"], dtype=np.float64), layout)
        rows = _to_rows(rsi, np.full(n, 100.0), np.zeros(n), indicator_rows)
        _paint(
            indicator_panel,
            _line_mask(indicator_rows, _line_columns(rows, layout)),
            _LABEL["indicator"],
        )
    else:
        lines = {
            k: _slot_last(np.asarray(windows[k], dtype=np.float64), layout)
            for k in ("macd", "macd_signal", "macd_hist")
        }
        stacked = np.abs(np.concatenate(list(lines.values()), axis=1))
        extent = np.max(np.where(np.isnan(stacked), 0.0, stacked), axis=1)
        zero = _to_rows(np.zeros((n, 1)), extent, -extent, indicator_rows)
        hist = np.where(
            layout.body,
            _columns(
                _to_rows(lines["macd_hist"], extent, -extent, indicator_rows), layout
            ),
            np.nan,
        )
        _paint(
            indicator_panel,
            _span_mask(indicator_rows, np.minimum(hist, zero), np.maximum(hist, zero)),
            _LABEL["guide"],
        )
        for name, label in (("macd_signal", "signal"), ("macd", "indicator")):
            rows = _line_columns(
                _to_rows(lines[name], extent, -extent, indicator_rows), layout
            )
            _paint(indicator_panel, _line_mask(indicator_rows, rows), _LABEL[label])

    palette = np.stack([style.colour(name) for name in _LABELS])  # (labels, 3)
    image = np.empty((n, 3, style.height, style.width), dtype=np.uint8)
    for channel in range(3):
        image[:, channel] = palette[:, channel][canvas]
    return image
