"""The walk-forward record: the folds' test windows chained."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mm_drex.backtest import run_backtest
from mm_drex.backtest.folds import chain_positions, run_folds
from mm_drex.data.folds import fold_plan, fold_split, yearly_windows


def _market() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    stamps = pd.bdate_range("2015-01-01", "2018-12-31")
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(stamps))))
    ohlcv = pd.DataFrame(
        {
            "instrument": "X",
            "timestamp": stamps,
            "open": close * (1 + rng.normal(0, 0.002, len(stamps))),
            "high": close * 1.01,
            "low": close * 0.99,
            "close": close,
            "volume": 1.0,
        }
    )
    ohlcv["high"] = ohlcv[["open", "high", "close"]].max(axis=1)
    ohlcv["low"] = ohlcv[["open", "low", "close"]].min(axis=1)
    instruments = pd.DataFrame(
        {
            "instrument": ["X"],
            "asset_class": ["index"],
            "periods_per_year": [252.0],
            "cost_bps": [10.0],
            "allow_short": [True],
            "timezone": ["UTC"],
        }
    )
    return ohlcv, instruments


def test_chained_folds_are_each_fold_executed_alone_with_the_nav_compounded():
    ohlcv, instruments = _market()
    plan = fold_plan(
        ohlcv,
        instruments,
        yearly_windows([2017, 2018]),
        purge_bars=5,
        min_train_bars=100,
    )
    exposures = ohlcv[["instrument", "timestamp"]].assign(
        strategy="s", seed=np.int64(1), target_exposure=0.5
    )
    runs = [(exposures, fold_split(plan, f)) for f in ("fold_2017", "fold_2018")]
    chained = run_folds(runs, ohlcv, instruments)
    alone = [run_backtest(e, ohlcv, instruments, s) for e, s in runs]
    assert len(chained) == sum(len(a) for a in alone)
    assert set(chained["timestamp"].dt.year) == {2017, 2018}
    # each window starts flat: the first 2018 bar holds nothing and pays entry
    first_2018 = chained[chained["timestamp"].dt.year == 2018].iloc[0]
    assert first_2018["exposure"] == 0.0
    np.testing.assert_allclose(
        chained["net_return"].to_numpy(),
        np.concatenate([a["net_return"].to_numpy() for a in alone]),
    )
    expected_nav = np.prod(1 + alone[0]["net_return"]) * np.prod(
        1 + alone[1]["net_return"]
    )
    assert chained["nav"].iloc[-1] == pytest.approx(expected_nav)


def test_overlapping_test_windows_are_refused():
    ohlcv, instruments = _market()
    plan = fold_plan(
        ohlcv, instruments, yearly_windows([2018]), purge_bars=5, min_train_bars=100
    )
    exposures = ohlcv[["instrument", "timestamp"]].assign(
        strategy="s", seed=np.int64(1), target_exposure=0.5
    )
    part = run_backtest(exposures, ohlcv, instruments, fold_split(plan, "fold_2018"))
    with pytest.raises(ValueError, match="windows overlap"):
        chain_positions([part, part])
