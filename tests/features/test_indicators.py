"""The shared indicator API: reference values, warm-up and causality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mm_drex.data.prices import simple_returns
from mm_drex.data.sources import BUNDLED_SOURCES
from mm_drex.features import indicators as ind


@pytest.fixture(scope="module")
def bars() -> pd.DataFrame:
    """600 real daily bars of the S&P 500."""
    raw = BUNDLED_SOURCES["arch/sp500"]().tail(600).reset_index(drop=True)
    return raw.rename(columns=str.lower)


def test_rolling_moments_match_pandas(bars):
    close = bars["close"].to_numpy()
    s = pd.Series(close)
    np.testing.assert_allclose(ind.sma(close, 20), s.rolling(20).mean(), rtol=1e-12)
    np.testing.assert_allclose(
        ind.rolling_std(close, 20), s.rolling(20).std(), rtol=1e-9
    )
    np.testing.assert_allclose(
        ind.rolling_std(close, 20, ddof=0), s.rolling(20).std(ddof=0), rtol=1e-9
    )
    np.testing.assert_array_equal(ind.rolling_max(close, 50), s.rolling(50).max())
    np.testing.assert_array_equal(ind.rolling_min(close, 50), s.rolling(50).min())
    assert np.isnan(ind.sma(close, 20)[18]) and not np.isnan(ind.sma(close, 20)[19])


def test_ema_is_seeded_with_first_value_like_pandas(bars):
    close = bars["close"].to_numpy()
    expected = pd.Series(close).ewm(span=26, adjust=False).mean()
    np.testing.assert_allclose(ind.ema(close, 26), expected, rtol=1e-12)
    assert ind.ema(close, 26)[0] == close[0]


def test_macd_histogram_is_line_minus_signal(bars):
    line, signal, hist = ind.macd(bars["close"].to_numpy())
    close = pd.Series(bars["close"])
    expected = (
        close.ewm(span=12, adjust=False).mean()
        - close.ewm(span=26, adjust=False).mean()
    )
    np.testing.assert_allclose(line, expected, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(hist, line - signal)


def test_rsi_matches_wilder_definition_and_stays_in_range(bars):
    close = bars["close"].to_numpy()
    value = ind.rsi(close, 14)
    change = np.diff(close)
    gain, loss = np.clip(change, 0, None), np.clip(-change, 0, None)
    avg_gain, avg_loss = gain[:14].mean(), loss[:14].mean()
    for t in range(15, 40):
        avg_gain = (avg_gain * 13 + gain[t - 1]) / 14
        avg_loss = (avg_loss * 13 + loss[t - 1]) / 14
    assert value[39] == pytest.approx(100 - 100 / (1 + avg_gain / avg_loss), rel=1e-12)
    assert np.isnan(value[13]) and not np.isnan(value[14])
    assert np.nanmin(value) >= 0 and np.nanmax(value) <= 100


def test_rsi_is_100_without_losses_and_50_without_moves():
    assert ind.rsi(np.arange(1.0, 30.0), 14)[-1] == 100.0
    assert ind.rsi(np.full(30, 5.0), 14)[-1] == 50.0


def test_kdj_and_atr_against_hand_computation(bars):
    high, low, close = (bars[c].to_numpy() for c in ("high", "low", "close"))
    k, d, j = ind.kdj(high, low, close, 9, 3, 3)
    rsv = 100 * (close[8] - low[:9].min()) / (high[:9].max() - low[:9].min())
    assert k[8] == pytest.approx(50 * 2 / 3 + rsv / 3)
    assert d[8] == pytest.approx(50 * 2 / 3 + k[8] / 3)
    np.testing.assert_allclose(j, 3 * k - 2 * d)
    assert np.isnan(k[7])

    value = ind.atr(high, low, close, 14)
    true_range = np.maximum(
        high[1:] - low[1:],
        np.maximum(np.abs(high[1:] - close[:-1]), np.abs(low[1:] - close[:-1])),
    )
    true_range = np.concatenate([[high[0] - low[0]], true_range])
    assert value[13] == pytest.approx(true_range[:14].mean())
    assert value[14] == pytest.approx((value[13] * 13 + true_range[14]) / 14)
    assert np.isnan(value[12])


def test_bollinger_and_donchian_bands(bars):
    close = bars["close"].to_numpy()
    middle, upper, lower = ind.bollinger(close, 20, 2.0)
    std = pd.Series(close).rolling(20).std(ddof=0).to_numpy()
    np.testing.assert_allclose(upper - middle, 2 * std, rtol=1e-9)
    np.testing.assert_allclose(middle - lower, 2 * std, rtol=1e-9)
    hi, lo = ind.donchian(bars["high"].to_numpy(), bars["low"].to_numpy(), 20)
    assert (
        hi[30] == bars["high"].iloc[11:31].max()
        and lo[30] == bars["low"].iloc[11:31].min()
    )


def test_volume_zscore_is_nan_where_volume_is_missing(bars):
    volume = bars["volume"].to_numpy(dtype=float)
    volume[100] = np.nan
    z = ind.volume_zscore(volume, 20)
    assert np.isnan(z[100:120]).all() and np.isfinite(z[120])
    expected = (volume[99] - volume[80:100].mean()) / volume[80:100].std(ddof=1)
    assert z[99] == pytest.approx(expected)


def test_returns_use_the_one_return_definition_with_negative_prices():
    close = np.array([18.27, -37.63, 10.01, 12.0])
    returns = ind.bar_returns(close)
    assert np.isnan(returns[0])
    np.testing.assert_array_equal(returns[1:], simple_returns(close[:-1], close[1:]))
    assert returns[1] == -1.0
    vol = ind.rolling_volatility(close, 2)
    assert np.isnan(vol[1]) and vol[2] == pytest.approx(np.std(returns[1:3], ddof=1))


def test_every_indicator_at_t_ignores_bars_after_t(bars):
    """Bit-identical values on the series truncated after t (causality)."""
    high, low, close, volume = (
        bars[c].to_numpy() for c in ("high", "low", "close", "volume")
    )

    def compute(n):
        h, lo, c, v = high[:n], low[:n], close[:n], volume[:n]
        return np.column_stack(
            [
                ind.sma(c, 50),
                ind.ema(c, 20),
                ind.rolling_std(c, 30),
                ind.rolling_zscore(c, 20),
                *ind.macd(c),
                ind.rsi(c),
                *ind.kdj(h, lo, c),
                *ind.bollinger(c),
                ind.atr(h, lo, c),
                *ind.donchian(h, lo, 55),
                ind.volume_zscore(v),
                ind.rolling_volatility(c, 60),
            ]
        )

    full = compute(len(close))
    for t in np.random.default_rng(42).integers(0, len(close), 15):
        np.testing.assert_array_equal(compute(t + 1)[t], full[t])


def test_bad_shapes_and_windows_are_rejected():
    with pytest.raises(ValueError, match="1-D"):
        ind.sma(np.ones((3, 3)), 2)
    with pytest.raises(ValueError, match="window"):
        ind.sma(np.ones(5), 0)
