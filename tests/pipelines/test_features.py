"""`kedro run --pipelines features` on the test configuration."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from mm_drex.features.temporal import FEATURE_COLUMNS

pytestmark = pytest.mark.slow  # runs a whole Kedro pipeline


def test_features_pipeline_writes_features_normaliser_and_text(
    ingested_root, tmp_path, kedro_runner
):
    root = tmp_path / "data"
    shutil.copytree(ingested_root, root)
    kedro_runner("features", root)
    features = pd.read_parquet(root / "05_model_input/features.parquet")
    ohlcv = pd.read_parquet(root / "02_intermediate/ohlcv.parquet")
    assert len(features) == len(ohlcv)
    assert features[FEATURE_COLUMNS].dtypes.eq(np.float32).all()
    normaliser = pd.read_parquet(root / "04_feature/feature_normaliser.parquet")
    assert len(normaliser) == 10 * len(FEATURE_COLUMNS)
    text = pd.read_parquet(root / "05_model_input/text_view.parquet")
    assert len(text) == (ohlcv.groupby("instrument").size() - 99).sum()
    summary = json.loads((root / "08_reporting/features_summary.json").read_text())
    assert summary["feature_columns"] == FEATURE_COLUMNS
    assert summary["distinct_texts"] == text["text"].nunique()
