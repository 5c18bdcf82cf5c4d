"""The raster renderer draws real candlestick charts, deterministically."""

from __future__ import annotations

import numpy as np
import pytest

from mm_drex.charts.raster import (
    DEFAULT_COLOURS,
    RasterStyle,
    column_layout,
    render_windows,
)

# 35 rows: price panel 21 rows (rows 0..20), separator, volume 6, separator, indicator 6.
STYLE = RasterStyle(height=35, width=20, price_share=0.64, volume_share=0.18)
UP = DEFAULT_COLOURS["up"]
DOWN = DEFAULT_COLOURS["down"]
BACKGROUND = DEFAULT_COLOURS["background"]


def five_bars() -> dict[str, np.ndarray]:
    """Hand-made bars on a 0..20 price grid, so that row = 20 - price."""
    bars = {
        "open": [4.0, 10.0, 14.0, 12.0, 6.0],
        "close": [10.0, 14.0, 12.0, 6.0, 8.0],
        "high": [12.0, 16.0, 20.0, 13.0, 9.0],
        "low": [2.0, 9.0, 11.0, 0.0, 5.0],
        "volume": [1.0, 2.0, 3.0, 6.0, 3.0],
    }
    windows = {k: np.array([v]) for k, v in bars.items()}
    windows["ma_fast"] = np.full((1, 5), np.nan)
    windows["ma_slow"] = np.full((1, 5), np.nan)
    windows["rsi"] = np.full((1, 5), np.nan)
    return windows


def pixel(image: np.ndarray, row: int, column: int) -> tuple[int, int, int]:
    return tuple(int(c) for c in image[:, row, column])


def test_five_bar_chart_has_bodies_and_wicks_at_the_right_pixels():
    image = render_windows(five_bars(), STYLE)[0]
    assert image.shape == (3, 35, 20) and image.dtype == np.uint8
    bars = five_bars()
    # 20 px / 5 bars = 4 px per bar: body in columns 0..2 of the slot,
    # 1-px wick in column 1, column 3 is the gap between candles.
    for i in range(5):
        o, c = bars["open"][0, i], bars["close"][0, i]
        h, lo = bars["high"][0, i], bars["low"][0, i]
        colour = UP if c >= o else DOWN
        body = range(int(20 - max(o, c)), int(20 - min(o, c)) + 1)
        wick = range(int(20 - h), int(20 - lo) + 1)
        left, centre, right, gap = 4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3
        for row in range(21):
            assert pixel(image, row, centre) == (
                colour if row in wick else BACKGROUND
            ), (i, row)
            for column in (left, right):
                assert pixel(image, row, column) == (
                    colour if row in body else BACKGROUND
                ), (i, row)
            assert pixel(image, row, gap) == BACKGROUND


def test_five_bar_volume_bars_rise_from_the_bottom_in_proportion():
    image = render_windows(five_bars(), STYLE)[0]
    volume_rows = range(22, 28)  # 6 rows under the separator at row 21
    heights = []
    for i in range(5):
        column = [pixel(image, row, 4 * i) for row in volume_rows]
        heights.append(sum(p != BACKGROUND for p in column))
        assert column[-1] != BACKGROUND  # anchored at the bottom row
    assert heights == [1, 2, 3, 6, 3]
    assert pixel(image, 27, 4 * 3) == DEFAULT_COLOURS["volume_down"]
    assert pixel(image, 27, 0) == DEFAULT_COLOURS["volume_up"]


def test_moving_average_line_is_drawn_over_the_candles():
    windows = five_bars()
    windows["ma_fast"] = np.array([[18.0, 18.0, 18.0, 18.0, 18.0]])
    image = render_windows(windows, STYLE)[0]
    row = 20 - 18
    drawn = [
        pixel(image, row, column) == DEFAULT_COLOURS["ma_fast"] for column in range(20)
    ]
    # from the first to the last candle centre (columns 1..17)
    assert all(drawn[1:18]) and not drawn[0] and not any(drawn[18:])


def test_instrument_without_volume_gets_an_empty_volume_panel():
    windows = five_bars()
    windows["volume"] = np.full((1, 5), np.nan)
    image = render_windows(windows, STYLE)[0]
    assert (
        image[:, 22:28, :] == np.array(BACKGROUND, dtype=np.uint8)[:, None, None]
    ).all()


def test_bars_sharing_a_column_merge_into_one_candle():
    n_bars, width = 100, 64
    layout = column_layout(n_bars, width)
    assert len(layout.slot_start) == width and layout.slot_start[0] == 0
    close = np.full((1, n_bars), 10.0)
    windows = {
        "open": close.copy(),
        "close": close.copy(),
        "high": close + 1.0,
        "low": close - 1.0,
        "volume": np.ones((1, n_bars)),
        "ma_fast": np.full((1, n_bars), np.nan),
        "ma_slow": np.full((1, n_bars), np.nan),
        "rsi": np.full((1, n_bars), np.nan),
    }
    spike = 51
    windows["high"][0, spike] = 30.0
    style = RasterStyle()
    image = render_windows(windows, style)[0]
    column = int(np.flatnonzero(layout.slot_start <= spike)[-1])
    assert pixel(image, 0, column) != BACKGROUND  # the spike reaches the top row
    others = [c for c in range(width) if c != column]
    assert all(pixel(image, 0, c) == BACKGROUND for c in others)


def test_same_windows_give_the_same_bytes_in_any_batch():
    rng = np.random.default_rng(7)
    close = 100 + np.cumsum(rng.normal(size=(40, 100)), axis=1)
    windows = {
        "open": close + rng.normal(scale=0.3, size=close.shape),
        "close": close,
        "high": close + 1.0,
        "low": close - 1.0,
        "volume": rng.uniform(1, 5, size=close.shape),
        "ma_fast": close - 0.5,
        "ma_slow": close + 0.5,
        "rsi": rng.uniform(0, 100, size=close.shape),
        "macd": rng.normal(size=close.shape),
        "macd_signal": rng.normal(size=close.shape),
        "macd_hist": rng.normal(size=close.shape),
    }
    for style in (RasterStyle(), RasterStyle(indicator="macd", height=96, width=128)):
        once = render_windows(windows, style)
        again = render_windows(windows, style)
        alone = np.concatenate(
            [
                render_windows({k: v[i : i + 1] for k, v in windows.items()}, style)
                for i in range(40)
            ]
        )
        assert once.tobytes() == again.tobytes() == alone.tobytes()
        assert len({chart.tobytes() for chart in once}) == 40


def test_style_rejects_panels_that_do_not_fit_and_unknown_indicators():
    with pytest.raises(ValueError, match="too small"):
        RasterStyle.from_params({"height": 6, "width": 64})
    with pytest.raises(ValueError, match="indicator"):
        RasterStyle.from_params({"indicator": "stochastic"})
    with pytest.raises(ValueError, match="unknown keys"):
        RasterStyle.from_params({"heigth": 64})
