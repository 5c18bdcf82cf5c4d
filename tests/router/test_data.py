"""Decision-point tables and temporal sequences: joins, distinct texts, causality."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mm_drex.data.prices import simple_returns
from mm_drex.data.sources import BUNDLED_SOURCES
from mm_drex.features.sequence import FeatureSequences
from mm_drex.router.data import (
    SOFT_TARGET_COLUMNS,
    RouterInputs,
    decision_point_table,
    strided_sequences,
    training_rows,
)


def _sp500_features(n_bars: int = 400) -> pd.DataFrame:
    """A features-shaped table from real S&P 500 closes: bar returns and a
    20-bar mean return, causal by construction."""
    bars = BUNDLED_SOURCES["arch/sp500"]().tail(n_bars)
    close = bars["Close"].to_numpy(dtype=float)
    returns = np.r_[np.nan, simple_returns(close[:-1], close[1:])]
    return pd.DataFrame(
        {
            "instrument": "SP500",
            "timestamp": pd.to_datetime(bars.index).to_numpy(),
            "t": np.arange(n_bars),
            "segment": "train",
            "bar_return": returns,
            "mean_return_20": pd.Series(returns).rolling(20).mean().to_numpy(),
        }
    )


def test_temporal_sequence_at_t_ignores_bars_after_t():
    features = _sp500_features()
    columns = ["bar_return", "mean_return_20"]
    t = np.array([150, 260, 399])
    full = strided_sequences(
        FeatureSequences(features, columns).gather,
        np.array(["SP500"] * 3, dtype=object),
        t,
        steps=20,
        stride=5,
    )
    for row, bar in enumerate(t):
        truncated = features[features["t"] <= bar]
        alone = strided_sequences(
            FeatureSequences(truncated, columns).gather,
            np.array(["SP500"], dtype=object),
            t[row : row + 1],
            20,
            5,
        )
        np.testing.assert_array_equal(full[row], alone[0])
    # the last step is bar t itself, the first one (steps-1)*stride bars earlier
    np.testing.assert_array_equal(
        full[0, -1], features.loc[150, columns].to_numpy(dtype=np.float32)
    )
    np.testing.assert_array_equal(
        full[0, 0], features.loc[150 - 95, columns].to_numpy(dtype=np.float32)
    )


def _tables(n: int = 6):
    timestamps = pd.date_range("2021-01-04", periods=n, freq="D")
    keys = pd.DataFrame({"instrument": "BTC", "timestamp": timestamps})
    chart_index = keys.assign(
        t=np.arange(99, 99 + n),
        segment="train",
        shard="shard_00000",
        row_in_shard=np.arange(n),
    )
    text_view = keys.assign(
        text=["calm", "calm", "rally", "calm", "rally", "slide"][:n]
    )
    regimes = keys.assign(regime_id=[0, 1, 2, -1, 2, 0][:n])
    soft = keys.copy()
    for column in SOFT_TARGET_COLUMNS:
        soft[column] = 0.25
    return chart_index, text_view, regimes, soft


def test_decision_points_list_each_distinct_text_once():
    points, texts = decision_point_table(*_tables())
    assert texts["text"].tolist() == ["calm", "rally", "slide"]
    assert texts.loc[points["text_id"], "text"].tolist() == [
        "calm",
        "calm",
        "rally",
        "calm",
        "rally",
        "slide",
    ]
    assert points["regime_id"].tolist() == [0, 1, 2, -1, 2, 0]


def test_missing_text_view_names_the_instrument_and_timestamp():
    chart_index, text_view, regimes, soft = _tables()
    with pytest.raises(ValueError, match="text_view has no row .*'BTC' at 2021-01-06"):
        decision_point_table(chart_index, text_view.drop(index=2), regimes, soft)


def test_unknown_regime_id_is_reported_with_its_row():
    chart_index, text_view, regimes, soft = _tables()
    regimes.loc[4, "regime_id"] = 7
    with pytest.raises(
        ValueError, match="regime_id 7 for instrument 'BTC' at 2021-01-08"
    ):
        decision_point_table(chart_index, text_view, regimes, soft)


def test_fitting_rows_are_labelled_train_rows_drawn_by_seed():
    n = 40
    segments = np.array(["train"] * 20 + ["purge"] * 5 + ["val"] * 10 + ["test"] * 5)
    regime_id = np.tile([0, 1, 2, -1], 10)
    inputs = RouterInputs(
        keys=pd.DataFrame(
            {
                "instrument": "AAPL",
                "timestamp": pd.date_range("2020", periods=n),
                "segment": segments,
            }
        ),
        temporal=np.zeros((n, 2, 1), dtype=np.float32),
        text_ids=np.zeros(n, dtype=np.int64),
        texts=["x"],
        regime_id=regime_id,
    )
    rows = training_rows(inputs, "train", None, seed=0)
    assert set(segments[rows]) == {"train"} and (regime_id[rows] >= 0).all()
    assert len(rows) == 15
    drawn = training_rows(inputs, "train", 6, seed=3)
    assert len(drawn) == 6 and set(drawn) <= set(rows)
    np.testing.assert_array_equal(drawn, training_rows(inputs, "train", 6, seed=3))
