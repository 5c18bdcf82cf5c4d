"""Chart shards: plan, lazy rendering, hashes and look-ups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mm_drex.charts.raster import RasterStyle
from mm_drex.charts.store import (
    ChartStore,
    index_with_hashes,
    pixel_sha256,
    render_points,
    shard_renderers,
)
from mm_drex.charts.windows import chart_series, plan_charts, sample_points


@pytest.fixture(scope="module")
def market(ingested_root):
    folder = ingested_root / "02_intermediate"
    ohlcv = pd.read_parquet(folder / "ohlcv.parquet")
    split = pd.read_parquet(folder / "split.parquet")
    keep = ohlcv["instrument"].isin(["SP500", "WTI"])
    return ohlcv[keep].reset_index(drop=True), split


def test_plan_has_every_decision_point_once_with_its_window(market):
    ohlcv, split = market
    plan = plan_charts(ohlcv, split, window=100, shard_size=300)
    assert len(plan) == 2 * (800 - 99)
    sp = plan[plan["instrument"] == "SP500"]
    bars = ohlcv[ohlcv["instrument"] == "SP500"].reset_index(drop=True)
    assert sp["t"].tolist() == list(range(99, 800))
    first = sp.iloc[0]
    assert first["window_start"] == bars["timestamp"].iloc[0]
    assert first["window_end"] == first["timestamp"] == bars["timestamp"].iloc[99]
    assert plan["shard"].nunique() == int(np.ceil(len(plan) / 300))
    assert plan.groupby("shard")["row_in_shard"].max().max() == 299
    assert set(plan["segment"]) == {"train", "val", "test", "purge"}


def test_lazy_shards_hash_and_store_look_up_the_right_chart(market, tmp_path):
    ohlcv, split = market
    plan = plan_charts(ohlcv, split, window=100, shard_size=500)
    series = chart_series(ohlcv)
    style = RasterStyle(height=32, width=48)
    renderers = shard_renderers(plan, series, 100, style)
    assert sorted(renderers) == sorted(plan["shard"].unique())
    for name, render in renderers.items():
        np.save(tmp_path / f"{name}.npy", render())
    shards = {p.stem: (lambda p=p: np.load(p)) for p in tmp_path.glob("*.npy")}
    index = index_with_hashes(plan, shards)
    assert index["sha256"].str.len().eq(64).all()

    store = ChartStore.from_folder(index, tmp_path)
    picked = index.iloc[[5, 700, 1100]]
    charts = store.batch(picked["instrument"].tolist(), picked["timestamp"].tolist())
    direct = render_points(
        series, picked["instrument"].tolist(), picked["t"].tolist(), 100, style
    )
    assert charts.tobytes() == direct.tobytes()
    assert pixel_sha256(charts) == picked["sha256"].tolist()
    one = store.get("WTI", picked["timestamp"].iloc[-1])
    assert one.shape == (3, 32, 48)
    with pytest.raises(KeyError, match="no chart for instrument 'WTI'"):
        store.get("WTI", pd.Timestamp("1990-01-01"))


def test_index_rejects_a_shard_that_does_not_match_the_plan(market):
    ohlcv, split = market
    plan = plan_charts(ohlcv, split, window=100, shard_size=2000)
    with pytest.raises(ValueError, match="holds 3 charts"):
        index_with_hashes(plan, {"shard_00000": np.zeros((3, 3, 8, 8), dtype=np.uint8)})


def test_sample_points_are_seeded(market):
    ohlcv, split = market
    plan = plan_charts(ohlcv, split, window=100, shard_size=1000)
    first = sample_points(plan, 3, seed=42)
    assert first.equals(sample_points(plan, 3, seed=42))
    assert not first.equals(sample_points(plan, 3, seed=43))
    assert first.groupby("instrument").size().tolist() == [3, 3]
