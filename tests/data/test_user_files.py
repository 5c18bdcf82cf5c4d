"""A user's own CSV and Parquet files, daily and intraday, through ingestion."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mm_drex.data.files import list_market_files
from mm_drex.data.sources import BUNDLED_SOURCES
from mm_drex.data.universe import ingest_universe

PARAMS = {
    "asset_classes": {
        "equity": {"periods_per_year": 252, "cost_bps": 10, "allow_short": True},
        "crypto": {"periods_per_year": 365, "cost_bps": 10, "allow_short": True},
    },
    "validation": {"min_bars": 190, "max_gap_factor": 5, "rules": {}},
}


def real_bars(source: str, n: int) -> pd.DataFrame:
    """The first n bars of a bundled source, as a user would export them."""
    frame = BUNDLED_SOURCES[source]()
    return frame.iloc[:n].copy()


def intraday_bars(n: int, tz: str | None) -> pd.DataFrame:
    """Hourly bars made from real daily closes of the S&P 500 (one close per hour)."""
    close = BUNDLED_SOURCES["arch/sp500"]()["Close"].to_numpy()[:n]
    open_ = np.r_[close[0], close[:-1]]
    stamps = pd.date_range("2024-03-01 09:00", periods=n, freq="h", tz=tz)
    return pd.DataFrame(
        {
            "Datetime": stamps,
            "Open": open_,
            "High": np.maximum(open_, close) * 1.001,
            "Low": np.minimum(open_, close) * 0.999,
            "Close": close,
            "Volume": np.arange(n) + 100.0,
        }
    )


def ingest_files(folder: Path, universe: dict) -> tuple[pd.DataFrame, ...]:
    params = {**PARAMS, "universe": universe, "user_data_folder": str(folder)}
    return ingest_universe(params, {}, list_market_files(folder))


def test_user_csv_daily_with_date_index_and_adj_close(tmp_path):
    frame = real_bars("arch/sp500", 300)  # columns Open High Low Close Adj Close Volume
    frame.to_csv(tmp_path / "spx.csv")  # the Date index becomes the first column
    ohlcv, instruments, _ = ingest_files(
        tmp_path, {"SPX": {"asset_class": "equity", "source": "user/spx.csv"}}
    )
    assert len(ohlcv) == 300
    assert ohlcv["timestamp"].iloc[0] == pd.Timestamp("1999-01-04")
    assert ohlcv["close"].iloc[0] == pytest.approx(frame["Close"].iloc[0])
    assert instruments.loc[0, "source"] == str(tmp_path / "spx.csv")


def test_user_parquet_daily_with_lowercase_columns(tmp_path):
    frame = real_bars("bokeh/IBM", 250)  # date open high low close volume adj_close
    frame["date"] = pd.to_datetime(frame["date"])
    frame.set_index("date").to_parquet(tmp_path / "ibm.parquet")
    ohlcv, _, _ = ingest_files(
        tmp_path,
        {
            "IBM": {
                "asset_class": "equity",
                "source": "user/ibm.parquet",
                "price_adjustment": "adj_close",
            }
        },
    )
    ratio = frame["adj_close"].iloc[-1] / frame["close"].iloc[-1]
    assert ohlcv["close"].iloc[-1] == pytest.approx(frame["adj_close"].iloc[-1])
    assert ohlcv["open"].iloc[-1] == pytest.approx(frame["open"].iloc[-1] * ratio)


def test_user_csv_intraday_timezone_aware_is_converted_to_naive_utc(tmp_path):
    bars = intraday_bars(240, tz="America/New_York")
    bars.to_csv(tmp_path / "es_1h.csv", index=False)
    ohlcv, _, quality = ingest_files(
        tmp_path,
        {
            "ES": {
                "asset_class": "equity",
                "source": "user/es_1h.csv",
                "periods_per_year": 24 * 365,
            }
        },
    )
    assert ohlcv["timestamp"].dt.tz is None
    # 09:00 New York (EST, UTC-5) on 2024-03-01 is 14:00 UTC
    assert ohlcv["timestamp"].iloc[0] == pd.Timestamp("2024-03-01 14:00")
    assert (ohlcv["timestamp"].diff().dropna() == pd.Timedelta("1h")).all()
    assert len(quality) == 0


def test_user_parquet_intraday_with_datetime_index(tmp_path):
    bars = intraday_bars(200, tz=None).set_index("Datetime")
    bars.index.name = "timestamp"
    bars.to_parquet(tmp_path / "btc_1h.parquet")
    ohlcv, instruments, _ = ingest_files(
        tmp_path,
        {
            "BTC1H": {
                "asset_class": "crypto",
                "source": "user/btc_1h.parquet",
                "periods_per_year": 24 * 365,
            }
        },
    )
    assert len(ohlcv) == 200
    assert ohlcv["timestamp"].iloc[1] - ohlcv["timestamp"].iloc[0] == pd.Timedelta("1h")
    assert instruments.loc[0, "periods_per_year"] == 24 * 365
    assert instruments.loc[0, "observed_periods_per_year"] == pytest.approx(8766.0)


def test_user_file_without_volume_gets_nan_volume(tmp_path):
    frame = real_bars("risktools/cushing/c1", 250)  # date Open High Low Close
    frame.to_csv(tmp_path / "cl.csv", index=False)
    ohlcv, instruments, _ = ingest_files(
        tmp_path, {"CL": {"asset_class": "equity", "source": "user/cl.csv"}}
    )
    assert ohlcv["volume"].isna().all()
    assert not instruments.loc[0, "has_volume"]
