"""A small real universe for the baseline tests, and the test configuration.

Two instruments of the bundled data, 420 bars each, split 60/20/20 with a
20-bar purge: the S&P 500 (shorts allowed) and WTI front-month futures with
shorts *refused* here (no volume, and the negative settlement of 2020-04-20
inside the slice). Baseline parameters are the project's own test
configuration (conf/base + conf/test, as ``kedro run --env test`` sees them).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mm_drex.backtest import ExposureLimits
from mm_drex.baselines.base import InstrumentContext
from mm_drex.baselines.data import InstrumentData
from mm_drex.data.sources import BUNDLED_SOURCES
from mm_drex.data.split import assign_segments, chronological_split
from mm_drex.data.validation import BarCheck, validate_bars

PROJECT_ROOT = Path(__file__).resolve().parents[2]
N_BARS = 420
PURGE_BARS = 20


def _bars(source: str, instrument: str, start: str | None) -> pd.DataFrame:
    check = BarCheck(
        instrument=instrument,
        source=source,
        rules={"non_positive_price": "keep"},
        min_bars=1,
    )
    bars = validate_bars(BUNDLED_SOURCES[source](), check)
    if start is not None:
        bars = bars[bars["timestamp"] >= start]
    bars = bars.head(N_BARS) if start is not None else bars.tail(N_BARS)
    bars = bars.reset_index(drop=True)
    bars.insert(0, "instrument", instrument)
    return bars


def load_test_parameters() -> dict[str, Any]:
    """``params:baselines`` of the test environment (base soft-merged with test)."""
    from kedro.config import OmegaConfigLoader

    from mm_drex.settings import CONFIG_LOADER_ARGS

    loader = OmegaConfigLoader(
        conf_source=str(PROJECT_ROOT / "conf"),
        env="test",
        **{k: v for k, v in CONFIG_LOADER_ARGS.items() if k != "default_run_env"},
    )
    return loader["parameters"]["baselines"]


@pytest.fixture(scope="session")
def baseline_params() -> dict[str, Any]:
    return load_test_parameters()


@pytest.fixture(scope="session")
def small_universe() -> list[InstrumentData]:
    """SP500 (shorts allowed) and WTI (shorts refused), 420 bars each."""
    specs = [
        ("arch/sp500", "SP500", None, "index", 252, True),
        ("risktools/cushing/c1", "WTI", "2019-05-01", "future", 252, False),
    ]
    histories = []
    for source, instrument, start, asset_class, periods, allow_short in specs:
        bars = _bars(source, instrument, start)
        split = chronological_split(
            bars, {"train": 0.6, "val": 0.2, "test": 0.2}, PURGE_BARS
        )
        segment = assign_segments(bars, split).to_numpy()
        context = InstrumentContext(
            instrument,
            asset_class,
            periods,
            10.0,
            allow_short,
            ExposureLimits(),
        )
        histories.append(InstrumentData(bars, segment, context))
    assert (histories[1].bars["close"] < 0).any()  # the WTI slice has the -37.63
    assert np.isnan(histories[1].bars["volume"]).all()
    return histories
