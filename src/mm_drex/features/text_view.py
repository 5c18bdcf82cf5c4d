"""The text view: a deterministic paragraph describing each decision point.

Built from the same causal window as the chart and the temporal features
(bars ``t-W+1..t``) and from the *raw* (unnormalised) features, so that words
mean what they say ("RSI overbought" is RSI > 70). Labels are never read.

Every quantity is bucketed into a few named states and the paragraph is one
fixed template, so that many decision points share a text: the router embeds
each distinct text once. The buckets and their thresholds are parameters
(``params:features.text``); see ``docs/features.md`` for the trade-off.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from mm_drex.config import Settings, setting
from mm_drex.data.prices import simple_returns
from mm_drex.features import indicators as ind
from mm_drex.features.temporal import KEY_COLUMNS, lagged

TEXT_COLUMNS = [*KEY_COLUMNS, "text"]


@dataclass(frozen=True)
class TextSpec(Settings):
    """Bucket thresholds of the text view (``params:features.text``)."""

    group: ClassVar[str] = "features.text"

    # Window return and 20-bar return, in units of the expected move
    # vol_20 * sqrt(bars): beyond +/- strong -> "strongly", beyond +/- mild -> up/down.
    trend_mild: float = setting(0.5, gt=0)
    trend_strong: float = setting(1.5, gt=0)
    # volatility_20 / volatility_250 (volatility_120 before 250 bars exist).
    volatility_low: float = setting(0.8, gt=0)
    volatility_high: float = setting(1.25, gt=0)
    rsi_oversold: float = setting(30.0, ge=0, le=100)
    rsi_overbought: float = setting(70.0, ge=0, le=100)
    kdj_oversold: float = 20.0
    kdj_overbought: float = 80.0
    # Pivot highs/lows are confirmed `pivot_bars` bars after the extreme.
    pivot_bars: int = setting(3, ge=1)
    # volume / its 20-bar average.
    volume_low: float = setting(0.7, ge=0)
    volume_high: float = setting(1.5, ge=0)


def _pivot_levels(values: np.ndarray, pivot_bars: int, find_high: bool) -> np.ndarray:
    """Value at bar s where s is a pivot high (or low), NaN elsewhere.

    A pivot at ``s`` is the extreme of bars ``s-k..s+k``; it is only known at
    bar ``s+k``, so callers must use pivots ``s <= t-k`` at decision point t.
    """
    k = pivot_bars
    n = len(values)
    out = np.full(n, np.nan)
    if n < 2 * k + 1:
        return out
    windows = sliding_window_view(values, 2 * k + 1)
    extreme = windows.max(axis=1) if find_high else windows.min(axis=1)
    centre = values[k : n - k]
    out[k : n - k] = np.where(centre == extreme, centre, np.nan)
    return out


def support_resistance(
    high: np.ndarray, low: np.ndarray, close: np.ndarray, window: int, pivot_bars: int
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest support (highest pivot low below the close) and resistance
    (lowest pivot high above the close) among pivots confirmed inside the
    window ``t-window+1..t``; NaN when there is none.
    """
    n = len(close)
    support = np.full(n, np.nan)
    resistance = np.full(n, np.nan)
    span = window - pivot_bars
    if n < window or span < 1:
        return support, resistance
    pivot_low = _pivot_levels(low, pivot_bars, find_high=False)
    pivot_high = _pivot_levels(high, pivot_bars, find_high=True)
    # Rows: decision points t = window-1..n-1; columns: pivots s = t-window+1..t-k.
    lows = sliding_window_view(pivot_low[: n - pivot_bars], span)[: n - window + 1]
    highs = sliding_window_view(pivot_high[: n - pivot_bars], span)[: n - window + 1]
    current = close[window - 1 :, None]
    below = np.where(lows < current, lows, -np.inf).max(axis=1)
    above = np.where(highs > current, highs, np.inf).min(axis=1)
    support[window - 1 :] = np.where(np.isfinite(below), below, np.nan)
    resistance[window - 1 :] = np.where(np.isfinite(above), above, np.nan)
    return support, resistance


def _trend_word(score: np.ndarray, spec: TextSpec, strong: bool) -> np.ndarray:
    words = np.full(len(score), "moved sideways", dtype=object)
    words[score > spec.trend_mild] = "rose"
    words[score < -spec.trend_mild] = "fell"
    if strong:
        words[score > spec.trend_strong] = "rose strongly"
        words[score < -spec.trend_strong] = "fell sharply"
    words[np.isnan(score)] = "has no history"
    return words


def text_states(
    bars: pd.DataFrame,
    raw_features: pd.DataFrame,
    window: int,
    spec: TextSpec | None = None,
) -> pd.DataFrame:
    """Named state of every facet of the text at every bar of ONE instrument.

    ``bars`` (open..volume) and ``raw_features`` (the rows of
    :func:`compute_raw_features` for that instrument) are aligned row by row.
    """
    spec = spec or TextSpec()
    high = bars["high"].to_numpy(dtype=np.float64)
    low = bars["low"].to_numpy(dtype=np.float64)
    close = bars["close"].to_numpy(dtype=np.float64)
    volume = bars["volume"].to_numpy(dtype=np.float64)
    feature = {
        c: raw_features[c].to_numpy(dtype=np.float64) for c in raw_features.columns[4:]
    }
    n = len(close)

    daily_vol = feature["volatility_20"]
    with np.errstate(divide="ignore", invalid="ignore"):
        window_return = simple_returns(lagged(close, window - 1), close)
        window_score = window_return / (daily_vol * np.sqrt(window - 1))
        recent_score = feature["return_20"] / (daily_vol * np.sqrt(20))
        long_vol = np.where(
            np.isnan(feature["volatility_250"]),
            feature["volatility_120"],
            feature["volatility_250"],
        )
        vol_ratio = daily_vol / long_vol

    volatility = np.full(n, "normal", dtype=object)
    volatility[vol_ratio < spec.volatility_low] = "low"
    volatility[vol_ratio > spec.volatility_high] = "high"

    above_20 = feature["close_vs_sma_20"] > 0
    ma_bull = above_20 & (feature["sma_20_vs_sma_50"] > 0)
    ma_bear = ~above_20 & (feature["sma_20_vs_sma_50"] < 0)
    has_200 = np.isfinite(feature["sma_50_vs_sma_200"])
    ma_bull &= ~has_200 | (feature["sma_50_vs_sma_200"] > 0)
    ma_bear &= ~has_200 | (feature["sma_50_vs_sma_200"] < 0)
    ma_order = np.where(
        ma_bull, "bullish", np.where(ma_bear, "bearish", "mixed")
    ).astype(object)

    rsi = feature["rsi"]
    rsi_state = np.where(
        rsi > spec.rsi_overbought,
        "overbought",
        np.where(rsi < spec.rsi_oversold, "oversold", "neutral"),
    ).astype(object)
    macd_side = np.where(feature["macd_hist_atr"] >= 0, "above", "below").astype(object)
    k = feature["kdj_k"]
    kdj_state = np.where(
        k > spec.kdj_overbought,
        "overbought",
        np.where(k < spec.kdj_oversold, "oversold", "neutral"),
    ).astype(object)

    support, resistance = support_resistance(high, low, close, window, spec.pivot_bars)
    position = np.where(
        close - support < resistance - close,
        "closer to support",
        "closer to resistance",
    ).astype(object)
    position[np.isnan(resistance)] = "above every resistance of the window"
    position[np.isnan(support)] = "below every support of the window"

    with np.errstate(divide="ignore", invalid="ignore"):
        volume_ratio = volume / ind.sma(volume, 20)
    volume_state = np.full(n, "near", dtype=object)
    volume_state[volume_ratio < spec.volume_low] = "below"
    volume_state[volume_ratio > spec.volume_high] = "above"
    volume_state[np.isnan(volume_ratio)] = "missing"

    return pd.DataFrame(
        {
            "window_trend": _trend_word(window_score, spec, strong=True),
            "recent_trend": _trend_word(recent_score, spec, strong=False),
            "volatility": volatility,
            "ma_order": ma_order,
            "rsi": rsi_state,
            "macd_signal": macd_side,
            "kdj": kdj_state,
            "position": position,
            "volume": volume_state,
        }
    )


def render_text(states: pd.DataFrame, window: int) -> list[str]:
    """One paragraph per row of :func:`text_states` (fixed template)."""
    texts = []
    for row in states.itertuples(index=False):
        volume = (
            "No volume is reported."
            if row.volume == "missing"
            else f"Volume is {row.volume} its 20-bar average."
        )
        texts.append(
            f"Over the last {window} bars the price {row.window_trend}; "
            f"over the last 20 bars it {row.recent_trend}. "
            f"Volatility is {row.volatility} for this market. "
            f"The moving averages are in {row.ma_order} order. "
            f"RSI is {row.rsi}, MACD is {row.macd_signal} its signal line, KDJ is {row.kdj}. "
            f"The price is {row.position}. {volume}"
        )
    return texts


def build_text_view(
    ohlcv: pd.DataFrame,
    raw_features: pd.DataFrame,
    window: int,
    spec: TextSpec | None = None,
) -> pd.DataFrame:
    """The ``text_view`` table: ``instrument, timestamp, t, segment, text`` for
    every decision point (``t >= window - 1``) of every instrument."""
    spec = spec or TextSpec()
    frames = []
    for instrument, bars in ohlcv.groupby("instrument", sort=False):
        rows = raw_features[raw_features["instrument"] == instrument]
        if len(rows) != len(bars):
            raise ValueError(
                f"raw features of '{instrument}' have {len(rows)} rows for {len(bars)} bars"
            )
        states = text_states(bars, rows.reset_index(drop=True), window, spec)
        keep = np.arange(len(bars)) >= window - 1
        frame = rows.loc[keep, KEY_COLUMNS].reset_index(drop=True)
        frame["text"] = render_text(states[keep].reset_index(drop=True), window)
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=TEXT_COLUMNS)
    return pd.concat(frames, ignore_index=True)[TEXT_COLUMNS]


def distinct_texts(texts: Sequence[str]) -> int:
    """Number of distinct paragraphs (what the router has to embed)."""
    return len(set(texts))
