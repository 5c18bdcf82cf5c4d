"""`kedro run --pipelines charts` on the test configuration."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from mm_drex.charts.store import pixel_sha256

pytestmark = pytest.mark.slow  # runs a whole Kedro pipeline


def test_charts_pipeline_writes_shards_index_and_sample_pngs(
    ingested_root, tmp_path, kedro_runner
):
    root = tmp_path / "data"
    shutil.copytree(ingested_root, root)
    kedro_runner("charts", root)

    index = pd.read_parquet(root / "05_model_input/chart_index.parquet")
    ohlcv = pd.read_parquet(root / "02_intermediate/ohlcv.parquet")
    assert len(index) == (ohlcv.groupby("instrument").size() - 99).sum()
    shards = sorted((root / "05_model_input/chart_shards").glob("*.npy"))
    assert [p.stem for p in shards] == sorted(index["shard"].unique())
    first = np.load(shards[0])
    assert first.shape == (1000, 3, 64, 64) and first.dtype == np.uint8
    rows = index[index["shard"] == shards[0].stem]
    assert (
        pixel_sha256(first[rows["row_in_shard"].to_numpy()]) == rows["sha256"].tolist()
    )

    samples = sorted((root / "08_reporting/sample_charts").glob("*.png"))
    assert len(samples) == 10  # one per instrument in the test configuration
    assert (root / "08_reporting/chart_renderers.png").stat().st_size > 0
    summary = json.loads((root / "08_reporting/charts_summary.json").read_text())
    assert summary["charts"] == len(index) and summary["image_shape"] == [3, 64, 64]

    # same data -> same bytes
    kedro_runner("charts", root)
    again = pd.read_parquet(root / "05_model_input/chart_index.parquet")
    assert again["sha256"].tolist() == index["sha256"].tolist()
