"""Raw causal features of every bar of every instrument (the temporal view).

One row per (instrument, bar): indicators made scale-free so that one
instrument's values are comparable over time, and long-term temporal features
(returns, volatility, distance to the 52-week high/low, trend slope). Every
value at bar ``t`` uses bars ``<= t`` only (see :mod:`indicators`).

Price distances use the one return definition
(:func:`mm_drex.data.prices.simple_returns`, ``(p - ref) / |ref|``) so that a
negative price (WTI, 2020-04-20) never breaks them; oscillators that live on a
price scale (MACD) are divided by the ATR instead of the price.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from mm_drex.config import Settings, setting
from mm_drex.data.prices import simple_returns
from mm_drex.data.split import assign_segments
from mm_drex.features import indicators as ind

KEY_COLUMNS = ["instrument", "timestamp", "t", "segment"]


@dataclass(frozen=True)
class FeatureSpec(Settings):
    """Windows of the feature set (``params:features.indicators``)."""

    group: ClassVar[str] = "features.indicators"

    ma_windows: tuple[int, ...] = setting((5, 20, 50, 200), ge=1)
    macd: tuple[int, int, int] = setting((12, 26, 9), ge=1)
    rsi_window: int = setting(14, ge=1)
    kdj: tuple[int, int, int] = setting((9, 3, 3), ge=1)
    bollinger_window: int = setting(20, ge=2)
    bollinger_std: float = setting(2.0, gt=0)
    atr_window: int = setting(14, ge=1)
    volume_window: int = setting(20, ge=1)
    horizons: tuple[int, ...] = setting((5, 20, 60, 120, 250), ge=1)
    slope_windows: tuple[int, ...] = setting((20, 60), ge=2)
    # Bars in "52 weeks": the instrument's periods_per_year when None.
    high_low_window: int | None = setting(None, ge=1)


def feature_columns(spec: FeatureSpec | None = None) -> list[str]:
    """The feature column names, in table order: the single list of them."""
    spec = spec or FeatureSpec()
    columns = [f"close_vs_sma_{w}" for w in spec.ma_windows]
    columns += [f"close_vs_ema_{w}" for w in spec.ma_windows]
    columns += [
        f"sma_{a}_vs_sma_{b}"
        for a, b in zip(spec.ma_windows[1:-1], spec.ma_windows[2:], strict=True)
    ]
    columns += [
        "macd_atr",
        "macd_signal_atr",
        "macd_hist_atr",
        "rsi",
        "kdj_k",
        "kdj_d",
        "kdj_j",
    ]
    columns += ["bollinger_pct_b", "bollinger_width", "atr_pct", "volume_zscore"]
    columns += [f"return_{h}" for h in spec.horizons]
    columns += [f"volatility_{h}" for h in spec.horizons]
    columns += ["distance_to_52w_high", "distance_to_52w_low"]
    columns += [f"trend_slope_{w}" for w in spec.slope_windows]
    return columns


FEATURE_COLUMNS = feature_columns()


def relative_distance(price: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``(price - reference) / |reference|`` (floored at -1) via the one return definition."""
    return simple_returns(reference, price)


def lagged(x: np.ndarray, lag: int) -> np.ndarray:
    """``x[t - lag]`` at ``t`` (NaN for the first ``lag`` bars)."""
    out = np.full(len(x), np.nan)
    if lag < len(x):
        out[lag:] = x[: len(x) - lag]
    return out


def rolling_slope(x: np.ndarray, window: int) -> np.ndarray:
    """Least-squares slope of ``x`` over bars ``t-window+1..t`` (per bar).

    The terms are added in a fixed order (oldest first) so the value at ``t``
    is bit-identical whatever follows ``t``.
    """
    n = len(x)
    out = np.full(n, np.nan)
    if n < window or window < 2:
        return out
    positions = np.arange(window, dtype=np.float64) - (window - 1) / 2.0
    denominator = float(np.sum(positions * positions))
    total = np.zeros(n - window + 1)
    for offset in range(window):
        total += positions[offset] * x[offset : n - window + 1 + offset]
    out[window - 1 :] = total / denominator
    return out


def instrument_features(
    bars: pd.DataFrame, periods_per_year: int, spec: FeatureSpec | None = None
) -> dict[str, np.ndarray]:
    """Raw features of ONE instrument's bars (time order) as ``{column: array}``.

    ``bars`` has columns open, high, low, close, volume. The result has one
    float64 array per name of :func:`feature_columns` (NaN during warm-up).
    """
    spec = spec or FeatureSpec()
    high = bars["high"].to_numpy(dtype=np.float64)
    low = bars["low"].to_numpy(dtype=np.float64)
    close = bars["close"].to_numpy(dtype=np.float64)
    volume = bars["volume"].to_numpy(dtype=np.float64)
    out: dict[str, np.ndarray] = {}

    smas = {w: ind.sma(close, w) for w in spec.ma_windows}
    for w in spec.ma_windows:
        out[f"close_vs_sma_{w}"] = relative_distance(close, smas[w])
    for w in spec.ma_windows:
        out[f"close_vs_ema_{w}"] = relative_distance(close, ind.ema(close, w))
    for a, b in zip(spec.ma_windows[1:-1], spec.ma_windows[2:], strict=True):
        out[f"sma_{a}_vs_sma_{b}"] = relative_distance(smas[a], smas[b])

    true_range_average = ind.atr(high, low, close, spec.atr_window)
    with np.errstate(divide="ignore", invalid="ignore"):
        atr_scale = np.where(true_range_average > 0, true_range_average, np.nan)
        macd_line, signal_line, histogram = ind.macd(close, *spec.macd)
        out["macd_atr"] = macd_line / atr_scale
        out["macd_signal_atr"] = signal_line / atr_scale
        out["macd_hist_atr"] = histogram / atr_scale
    out["rsi"] = ind.rsi(close, spec.rsi_window)
    out["kdj_k"], out["kdj_d"], out["kdj_j"] = ind.kdj(high, low, close, *spec.kdj)

    middle, upper, lower = ind.bollinger(
        close, spec.bollinger_window, spec.bollinger_std
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        band = upper - lower
        out["bollinger_pct_b"] = np.where(band > 0, (close - lower) / band, 0.5)
        out["bollinger_pct_b"][np.isnan(band)] = np.nan
        out["bollinger_width"] = band / np.abs(middle)
        out["atr_pct"] = true_range_average / np.abs(close)
    out["volume_zscore"] = ind.volume_zscore(volume, spec.volume_window)

    for h in spec.horizons:
        out[f"return_{h}"] = simple_returns(lagged(close, h), close)
    for h in spec.horizons:
        out[f"volatility_{h}"] = ind.rolling_volatility(close, h)

    year = spec.high_low_window or int(periods_per_year)
    highest, lowest = ind.donchian(high, low, year)
    out["distance_to_52w_high"] = relative_distance(close, highest)
    out["distance_to_52w_low"] = relative_distance(close, lowest)
    for w in spec.slope_windows:
        with np.errstate(divide="ignore", invalid="ignore"):
            average = smas[w] if w in smas else ind.sma(close, w)
            out[f"trend_slope_{w}"] = rolling_slope(close, w) / np.abs(average)

    for name, values in out.items():
        out[name] = np.where(np.isfinite(values), values, np.nan)
    missing = set(feature_columns(spec)) - set(out)
    if missing:
        raise RuntimeError(f"features not computed: {sorted(missing)}")
    return out


def periods_per_year_of(instruments: pd.DataFrame) -> dict[str, int]:
    """``{instrument: periods_per_year}`` from the ``instruments`` table."""
    return dict(
        zip(
            instruments["instrument"],
            instruments["periods_per_year"].astype(int),
            strict=True,
        )
    )


def compute_raw_features(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    spec: FeatureSpec | None = None,
) -> pd.DataFrame:
    """Raw causal features of every bar: ``KEY_COLUMNS`` + ``feature_columns(spec)``.

    ``t`` is the bar's 0-based position within its instrument and ``segment``
    its split segment (train / val / test / purge). Values are float64.
    """
    spec = spec or FeatureSpec()
    columns = feature_columns(spec)
    periods = periods_per_year_of(instruments)
    segments = assign_segments(ohlcv, split)
    frames = []
    for instrument, bars in ohlcv.groupby("instrument", sort=False):
        if instrument not in periods:
            raise ValueError(
                f"instrument '{instrument}' of ohlcv is missing from instruments"
            )
        values = instrument_features(bars, periods[instrument], spec)
        frame = pd.DataFrame(
            {
                "instrument": bars["instrument"].to_numpy(),
                "timestamp": bars["timestamp"].to_numpy(),
                "t": np.arange(len(bars), dtype=np.int64),
                "segment": segments.loc[bars.index].to_numpy(),
            }
        )
        frame = pd.concat(
            [frame, pd.DataFrame({c: values[c] for c in columns})], axis=1
        )
        frames.append(frame)
    return pd.concat(frames, ignore_index=True)
