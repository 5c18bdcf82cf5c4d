"""Causal technical indicators on one instrument's 1-D arrays (pure numpy).

Every function takes float arrays of ONE instrument in time order and returns
arrays of the same length. Values are strictly causal: the value at ``t`` uses
inputs at ``<= t`` only, and it is computed by the same sequence of floating
point operations whatever comes after ``t``, so recomputing on a series
truncated after ``t`` gives bit-identical values (the truncation tests rely on
it). Rolling sums therefore add the window's terms one by one in a fixed order
instead of differencing a cumulative sum; recursive smoothers (EMA, Wilder)
run as compiled loops.

Warm-up: rolling quantities are NaN until the window is full. The EMA is seeded
with the first finite value and has no warm-up (as ``pandas.ewm(adjust=False)``);
Wilder averages (RSI, ATR) start once ``window`` changes are available.

Prices may be negative (WTI settled at -37.63 on 2020-04-20): nothing here
takes the log of a price; returns come from :func:`bar_returns`, i.e.
:func:`mm_drex.data.prices.simple_returns`.
"""

from __future__ import annotations

import numba
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from mm_drex.data.prices import simple_returns

__all__ = [
    "atr",
    "bar_returns",
    "bollinger",
    "donchian",
    "ema",
    "kdj",
    "macd",
    "rolling_max",
    "rolling_min",
    "rolling_std",
    "rolling_volatility",
    "rolling_zscore",
    "rsi",
    "sma",
    "volume_zscore",
]


def _as_series(x: np.ndarray, name: str = "x") -> np.ndarray:
    array = np.asarray(x, dtype=np.float64)
    if array.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array in time order, got shape {array.shape}"
        )
    return array


def _check_window(window: int, name: str = "window") -> int:
    if int(window) != window or window < 1:
        raise ValueError(f"{name} must be a positive integer, got {window!r}")
    return int(window)


def _rolling_sum(x: np.ndarray, window: int) -> np.ndarray:
    """Sum of ``x[t-window+1..t]``, added oldest first; NaN during warm-up."""
    n = len(x)
    out = np.full(n, np.nan)
    if n < window:
        return out
    total = np.zeros(n - window + 1)
    for offset in range(window):
        total += x[offset : n - window + 1 + offset]
    out[window - 1 :] = total
    return out


def sma(x: np.ndarray, window: int) -> np.ndarray:
    """Simple moving average of the last ``window`` values (including ``t``)."""
    x = _as_series(x)
    window = _check_window(window)
    return _rolling_sum(x, window) / window


@numba.njit(cache=True)
def _ema_loop(x: np.ndarray, alpha: float) -> np.ndarray:
    out = np.full(x.shape[0], np.nan)
    state = np.nan
    for t in range(x.shape[0]):
        value = x[t]
        if np.isnan(value):
            continue  # NaN in, NaN out; the state carries over
        if np.isnan(state):
            state = value
        else:
            state = state + alpha * (value - state)
        out[t] = state
    return out


def ema(x: np.ndarray, span: int) -> np.ndarray:
    """Exponential moving average, ``alpha = 2 / (span + 1)``.

    Seeded with the first finite value (no warm-up NaN). A NaN input gives NaN
    at that bar and leaves the average unchanged.
    """
    x = _as_series(x)
    span = _check_window(span, "span")
    return _ema_loop(x, 2.0 / (span + 1.0))


def rolling_std(x: np.ndarray, window: int, ddof: int = 1) -> np.ndarray:
    """Rolling standard deviation over ``x[t-window+1..t]`` (two-pass, exact)."""
    x = _as_series(x)
    window = _check_window(window)
    n = len(x)
    out = np.full(n, np.nan)
    if n < window or window - ddof <= 0:
        return out
    mean = _rolling_sum(x, window)[window - 1 :] / window
    squares = np.zeros(n - window + 1)
    for offset in range(window):
        deviation = x[offset : n - window + 1 + offset] - mean
        squares += deviation * deviation
    out[window - 1 :] = np.sqrt(squares / (window - ddof))
    return out


def rolling_max(x: np.ndarray, window: int) -> np.ndarray:
    """Maximum of ``x[t-window+1..t]`` (includes bar ``t``); NaN if any is NaN."""
    x = _as_series(x)
    window = _check_window(window)
    out = np.full(len(x), np.nan)
    if len(x) >= window:
        out[window - 1 :] = sliding_window_view(x, window).max(axis=1)
    return out


def rolling_min(x: np.ndarray, window: int) -> np.ndarray:
    """Minimum of ``x[t-window+1..t]`` (includes bar ``t``); NaN if any is NaN."""
    x = _as_series(x)
    window = _check_window(window)
    out = np.full(len(x), np.nan)
    if len(x) >= window:
        out[window - 1 :] = sliding_window_view(x, window).min(axis=1)
    return out


def rolling_zscore(x: np.ndarray, window: int) -> np.ndarray:
    """``(x - sma(x, window)) / rolling_std(x, window)``; 0 where the std is 0."""
    x = _as_series(x)
    mean = sma(x, window)
    std = rolling_std(x, window)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = (x - mean) / std
    return np.where(std == 0.0, 0.0, z)


def macd(
    close: np.ndarray, fast: int = 12, slow: int = 26, signal: int = 9
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """MACD line ``ema(fast) - ema(slow)``, its ``ema(signal)`` and the histogram."""
    close = _as_series(close, "close")
    macd_line = ema(close, fast) - ema(close, slow)
    signal_line = ema(macd_line, signal)
    return macd_line, signal_line, macd_line - signal_line


@numba.njit(cache=True)
def _wilder_loop(x: np.ndarray, window: int, first: int) -> np.ndarray:
    """Wilder average: mean of ``x[first-window+1..first]``, then
    ``avg = (avg * (window - 1) + x) / window``. NaN inputs propagate."""
    n = x.shape[0]
    out = np.full(n, np.nan)
    if n <= first:
        return out
    total = 0.0
    for t in range(first - window + 1, first + 1):
        total += x[t]
    state = total / window
    out[first] = state
    for t in range(first + 1, n):
        state = (state * (window - 1) + x[t]) / window
        out[t] = state
    return out


def rsi(close: np.ndarray, window: int = 14) -> np.ndarray:
    """Relative Strength Index with Wilder smoothing, in ``[0, 100]``.

    Uses price changes ``close[t] - close[t-1]`` (well defined for negative
    prices); the first value is at ``t = window``. 100 when there were no
    losses, 50 when the price did not move at all.
    """
    close = _as_series(close, "close")
    window = _check_window(window)
    change = np.full(len(close), np.nan)
    change[1:] = close[1:] - close[:-1]
    gain = np.where(change > 0, change, 0.0)
    loss = np.where(change < 0, -change, 0.0)
    gain[np.isnan(change)] = np.nan
    loss[np.isnan(change)] = np.nan
    average_gain = _wilder_loop(gain, window, window)
    average_loss = _wilder_loop(loss, window, window)
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 100.0 - 100.0 / (1.0 + average_gain / average_loss)
    value = np.where(average_loss == 0.0, 100.0, value)
    value = np.where((average_loss == 0.0) & (average_gain == 0.0), 50.0, value)
    return np.where(np.isnan(average_gain) | np.isnan(average_loss), np.nan, value)


@numba.njit(cache=True)
def _kdj_smooth(rsv: np.ndarray, smooth: int) -> np.ndarray:
    out = np.full(rsv.shape[0], np.nan)
    state = 50.0
    started = False
    for t in range(rsv.shape[0]):
        if np.isnan(rsv[t]):
            if started:
                out[t] = np.nan
            continue
        started = True
        state = (state * (smooth - 1) + rsv[t]) / smooth
        out[t] = state
    return out


def kdj(
    high: np.ndarray,
    low: np.ndarray,
    close: np.ndarray,
    window: int = 9,
    k_smooth: int = 3,
    d_smooth: int = 3,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stochastic KDJ: ``RSV = 100 (close - LL) / (HH - LL)`` over ``window``
    bars (50 when the range is 0); ``K`` and ``D`` are 1/smooth recursive
    averages seeded at 50; ``J = 3K - 2D``. First value at ``t = window - 1``."""
    high = _as_series(high, "high")
    low = _as_series(low, "low")
    close = _as_series(close, "close")
    highest = rolling_max(high, window)
    lowest = rolling_min(low, window)
    span = highest - lowest
    with np.errstate(divide="ignore", invalid="ignore"):
        rsv = 100.0 * (close - lowest) / span
    rsv = np.where(span == 0.0, 50.0, rsv)
    rsv = np.where(np.isnan(span) | np.isnan(close), np.nan, rsv)
    k = _kdj_smooth(rsv, _check_window(k_smooth, "k_smooth"))
    d = _kdj_smooth(k, _check_window(d_smooth, "d_smooth"))
    return k, d, 3.0 * k - 2.0 * d


def bollinger(
    close: np.ndarray, window: int = 20, num_std: float = 2.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Bollinger Bands: ``sma(window)`` +/- ``num_std`` population std (ddof=0)."""
    close = _as_series(close, "close")
    middle = sma(close, window)
    width = num_std * rolling_std(close, window, ddof=0)
    return middle, middle + width, middle - width


def atr(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, window: int = 14
) -> np.ndarray:
    """Average True Range with Wilder smoothing; first value at ``t = window - 1``.

    True range at ``t`` is ``max(high - low, |high - close[t-1]|, |low - close[t-1]|)``,
    and ``high - low`` at the first bar.
    """
    high = _as_series(high, "high")
    low = _as_series(low, "low")
    close = _as_series(close, "close")
    window = _check_window(window)
    true_range = high - low
    if len(close) > 1:
        previous = close[:-1]
        true_range[1:] = np.maximum(
            true_range[1:],
            np.maximum(np.abs(high[1:] - previous), np.abs(low[1:] - previous)),
        )
    return _wilder_loop(true_range, window, window - 1)


def donchian(
    high: np.ndarray, low: np.ndarray, window: int
) -> tuple[np.ndarray, np.ndarray]:
    """Donchian channel of bars ``t-window+1..t``: (highest high, lowest low)."""
    return rolling_max(high, window), rolling_min(low, window)


def volume_zscore(volume: np.ndarray, window: int = 20) -> np.ndarray:
    """Rolling z-score of volume; NaN where volume (or its window) is NaN."""
    return rolling_zscore(_as_series(volume, "volume"), window)


def bar_returns(close: np.ndarray) -> np.ndarray:
    """Bar-to-bar simple returns of ``close`` (``simple_returns``); NaN at 0."""
    close = _as_series(close, "close")
    out = np.full(len(close), np.nan)
    if len(close) > 1:
        out[1:] = simple_returns(close[:-1], close[1:])
    return out


def rolling_volatility(close: np.ndarray, window: int) -> np.ndarray:
    """Std (ddof=1) of the last ``window`` bar returns; first value at ``t = window``."""
    return rolling_std(bar_returns(close), window)
