"""`kedro run --pipelines labeling` on the test configuration."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

pytestmark = pytest.mark.slow  # runs a whole Kedro pipeline


def test_labeling_pipeline_writes_regimes_and_the_label_report(
    ingested_root, tmp_path, kedro_runner
):
    root = tmp_path / "data"
    shutil.copytree(ingested_root, root)
    kedro_runner("labeling", root)
    regimes = pd.read_parquet(root / "05_model_input/regimes.parquet")
    ohlcv = pd.read_parquet(root / "02_intermediate/ohlcv.parquet")
    assert len(regimes) == (ohlcv.groupby("instrument").size() - 99).sum()
    assert set(regimes["regime"].dropna()) == {"uptrend", "downtrend", "sideways"}
    last = regimes.groupby("instrument").tail(20)  # test config: horizon 20
    assert last["regime"].isna().all()
    report = (root / "08_reporting/label_report.md").read_text()
    assert report.startswith("# Regime labels") and "| ALL | train |" in report
    assert (root / "08_reporting/label_distribution.png").stat().st_size > 0
