"""The one return definition and the purged chronological split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mm_drex.data.prices import simple_returns
from mm_drex.data.split import assign_segments, chronological_split, segment_bounds


def test_simple_returns_use_absolute_previous_price_and_floor_at_minus_one():
    previous = np.array([100.0, 18.27, -37.63, 0.0, np.nan])
    price = np.array([110.0, -37.63, 10.01, 5.0, 1.0])
    returns = simple_returns(previous, price)
    assert returns[0] == pytest.approx(0.10)
    assert returns[1] == -1.0
    assert returns[2] == pytest.approx(47.64 / 37.63)
    assert np.isnan(returns[3]) and np.isnan(returns[4])


def test_segment_bounds_purge_the_label_horizon_before_each_boundary():
    bounds = segment_bounds(1000, {"train": 0.6, "val": 0.2, "test": 0.2}, 90)
    assert bounds == {"train": (0, 510), "val": (600, 710), "test": (800, 1000)}


def test_segment_bounds_reject_fractions_that_do_not_add_up():
    with pytest.raises(ValueError, match="add up to 1"):
        segment_bounds(1000, {"train": 0.6, "val": 0.3, "test": 0.2}, 90)


def test_segment_bounds_reject_a_purge_that_empties_a_segment():
    with pytest.raises(ValueError, match="segment 'val' is empty"):
        segment_bounds(300, {"train": 0.6, "val": 0.2, "test": 0.2}, 90)


def test_assign_segments_labels_every_bar_and_no_label_horizon_crosses():
    stamps = pd.date_range("2020-01-01", periods=500, freq="D")
    ohlcv = pd.DataFrame(
        {
            "instrument": ["A"] * 500 + ["B"] * 500,
            "timestamp": np.r_[stamps, stamps],
        }
    )
    split = chronological_split(ohlcv, {"train": 0.6, "val": 0.2, "test": 0.2}, 50)
    segments = assign_segments(ohlcv, split)
    a = segments[ohlcv["instrument"] == "A"].to_numpy()
    assert (a[:250] == "train").all() and (a[250:300] == "purge").all()
    assert (a[300:350] == "val").all() and (a[350:400] == "purge").all()
    assert (a[400:] == "test").all()
    # a train or val decision point t with horizon 50 never reaches another segment
    for t in np.flatnonzero(np.isin(a, ["train", "val"])):
        assert set(a[t : t + 51]) <= {a[t], "purge"}
    assert (segments[ohlcv["instrument"] == "B"].to_numpy() == a).all()
