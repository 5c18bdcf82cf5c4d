"""Forward regime labels: the rule, NaN at the end, purge at split boundaries,
and labels never flowing into features, text or charts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mm_drex.data.prices import simple_returns
from mm_drex.data.split import chronological_split
from mm_drex.features.indicators import rolling_volatility
from mm_drex.regimes.labels import (
    MISSING_ID,
    REGIME_ID,
    label_distribution,
    label_regimes,
)
from mm_drex.reporting.labels import label_report_markdown
from tests.test_architecture import module_imports

SRC = Path(__file__).resolve().parents[2] / "src" / "mm_drex"


def synthetic_market(n: int = 600, seed: int = 3) -> pd.DataFrame:
    """One instrument: a random walk with an up leg and a down leg."""
    rng = np.random.default_rng(seed)
    drift = np.where(np.arange(n) < n // 2, 0.004, -0.004)
    close = 100 * np.cumprod(1 + drift + rng.normal(scale=0.01, size=n))
    return pd.DataFrame(
        {
            "instrument": "SYN",
            "timestamp": pd.date_range("2001-01-01", periods=n, freq="D"),
            "open": close,
            "high": close * 1.01,
            "low": close * 0.99,
            "close": close,
            "volume": 1.0,
        }
    )


def test_regime_follows_the_volatility_scaled_forward_return():
    ohlcv = synthetic_market()
    split = chronological_split(ohlcv, {"train": 0.6, "val": 0.2, "test": 0.2}, 0)
    regimes = label_regimes(
        ohlcv, split, horizon=30, theta=0.5, volatility_window=60, window=100
    )
    close = ohlcv["close"].to_numpy()
    sigma = rolling_volatility(close, 60)
    labelled = regimes[regimes["regime_id"] != MISSING_ID]
    assert {"uptrend", "downtrend", "sideways"} <= set(labelled["regime"])
    for row in labelled.sample(40, random_state=0).itertuples():
        forward = simple_returns(close[row.t], close[row.t + 30])
        threshold = 0.5 * sigma[row.t] * np.sqrt(30)
        expected = (
            "uptrend"
            if forward > threshold
            else "downtrend"
            if forward < -threshold
            else "sideways"
        )
        assert row.regime == expected and REGIME_ID[row.regime] == row.regime_id
        assert row.forward_return == pytest.approx(forward)
        assert row.threshold == pytest.approx(threshold)


def test_label_is_missing_where_the_horizon_is_incomplete():
    ohlcv = synthetic_market()
    split = chronological_split(ohlcv, {"train": 0.6, "val": 0.2, "test": 0.2}, 0)
    regimes = label_regimes(
        ohlcv, split, horizon=30, theta=0.5, volatility_window=60, window=100
    )
    tail = regimes[regimes["t"] >= len(ohlcv) - 30]
    assert (
        len(tail) == 30
        and tail["regime"].isna().all()
        and (tail["regime_id"] == -1).all()
    )
    assert tail["forward_return"].isna().all()
    assert regimes[regimes["t"] == len(ohlcv) - 31]["regime"].notna().all()


@pytest.mark.parametrize("purge_bars", [0, 10, 30])
def test_no_label_crosses_a_split_boundary(purge_bars):
    ohlcv = synthetic_market()
    horizon = 30
    split = chronological_split(
        ohlcv, {"train": 0.6, "val": 0.2, "test": 0.2}, purge_bars
    )
    regimes = label_regimes(ohlcv, split, horizon, 0.5, 60, window=100)
    starts = split.set_index("segment")["start_idx"]
    labelled = regimes[regimes["regime_id"] != MISSING_ID]
    for boundary in (starts["val"], starts["test"]):
        crossing = (labelled["t"] < boundary) & (labelled["t"] + horizon >= boundary)
        assert not crossing.any()
        # the last bar before the gap whose horizon ends before the boundary keeps its label
        last_ok = regimes[regimes["t"] == boundary - horizon - 1]
        assert (last_ok["regime_id"] != MISSING_ID).all() or last_ok["segment"].eq(
            "purge"
        ).all()
    assert (regimes.loc[regimes["segment"] == "purge", "regime_id"] == MISSING_ID).all()
    train = regimes[regimes["segment"] == "train"]
    boundary_losses = (train["regime_id"] == MISSING_ID).sum()
    assert boundary_losses == max(0, horizon - purge_bars)


def test_label_report_counts_each_class_per_instrument_and_segment(ingested_root):
    folder = ingested_root / "02_intermediate"
    ohlcv = pd.read_parquet(folder / "ohlcv.parquet")
    split = pd.read_parquet(folder / "split.parquet")
    regimes = label_regimes(
        ohlcv, split, horizon=20, theta=0.5, volatility_window=60, window=100
    )
    distribution = label_distribution(regimes)
    assert len(distribution) == 11 * 4  # 10 instruments + ALL, 4 segments
    total = distribution[distribution["instrument"] != "ALL"]["total"].sum()
    assert total == len(regimes)
    everything = distribution[distribution["instrument"] == "ALL"]
    assert everything["uptrend"].sum() == (regimes["regime"] == "uptrend").sum()
    shares = distribution[distribution["labelled"] > 0][
        ["share_downtrend", "share_sideways", "share_uptrend"]
    ]
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, atol=1e-3)
    markdown = label_report_markdown(
        distribution,
        {"horizon": 20, "theta": 0.5, "volatility_window": 60, "window": 100},
    )
    assert "| BTC | train |" in markdown and "H = 20" in markdown


def test_labels_are_never_inputs_of_features_text_or_charts():
    """Structural: no feature/chart code imports the labels, and no node of the
    features or charts pipelines reads a labeling output."""
    from kedro.framework.startup import bootstrap_project

    for folder in ("features", "charts", "pipelines/features", "pipelines/charts"):
        for path in (SRC / folder).glob("*.py"):
            assert not any(
                name.startswith("mm_drex.regimes") for name in module_imports(path)
            ), path

    bootstrap_project(SRC.parents[1])
    from mm_drex.pipelines import charts, features, labeling

    label_outputs = labeling.create_pipeline().all_outputs()
    for stage in (features, charts):
        assert not (stage.create_pipeline().all_inputs() & label_outputs)


def test_persistence_rule_is_the_label_rule_on_the_past_horizon_and_causal():
    ohlcv = synthetic_market()
    split = chronological_split(ohlcv, {"train": 0.6, "val": 0.2, "test": 0.2}, 0)
    args = {"horizon": 30, "theta": 0.5, "volatility_window": 60, "window": 100}
    regimes = label_regimes(ohlcv, split, **args)
    close = ohlcv["close"].to_numpy()
    for row in regimes.iloc[::37].itertuples():
        past = simple_returns(close[row.t - 30], close[row.t])
        expected = (
            REGIME_ID["uptrend"]
            if past > row.threshold
            else REGIME_ID["downtrend"]
            if past < -row.threshold
            else REGIME_ID["sideways"]
        )
        assert row.persistence_id == expected
    # nothing after t moves it
    later = ohlcv.copy()
    later.loc[400:, "close"] *= 3.0
    again = label_regimes(later, split, **args)
    before = regimes["t"] < 400
    np.testing.assert_array_equal(
        again.loc[before, "persistence_id"], regimes.loc[before, "persistence_id"]
    )
    assert (again["persistence_id"] != regimes["persistence_id"]).any()
