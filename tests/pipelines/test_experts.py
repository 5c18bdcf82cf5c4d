"""The experts stage end to end on the test configuration."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_kedro_pipeline

pytestmark = pytest.mark.slow  # runs a whole Kedro pipeline

EXPERTS = ["trend", "reversal", "breakout", "positioning"]


def test_experts_pipeline_writes_pools_exposures_targets_and_report(
    ingested_root, tmp_path
):
    root = tmp_path / "data"
    shutil.copytree(ingested_root, root)
    run_kedro_pipeline("labeling", root)
    run_kedro_pipeline("experts", root)

    versions = list((root / "06_models/expert_pools.json").iterdir())
    assert len(versions) == 1  # kedro-versioned: one timestamped copy per run
    pools = json.loads((versions[0] / "expert_pools.json").read_text())
    assert len(pools["version"]) == 16
    assert pools["config"]["n_trials"] == 6  # conf/test/parameters_experts.yml
    assert {p["expert"] for p in pools["pools"]} == set(EXPERTS)
    # pool_size 2 stable members at most; one where no candidate is stable
    for pool in pools["pools"]:
        assert 1 <= len(pool["members"]) <= 2
        assert all(m["stable"] for m in pool["members"]) or not pool["stable"]

    # one catalog per held-out train block (experts.cross_fit.blocks: 2)
    cross_fit = json.loads((root / "06_models/expert_cross_fit_pools.json").read_text())
    assert [c["held_out_block"] for c in cross_fit["catalogs"]] == [0, 1]
    assert all(c["scopes"] == pools["scopes"] for c in cross_fit["catalogs"])

    ohlcv = pd.read_parquet(root / "02_intermediate/ohlcv.parquet")
    exposures = pd.read_parquet(root / "07_model_output/expert_exposures.parquet")
    assert len(exposures) == 4 * len(ohlcv)
    # train bars from their block's pools, every other bar from the full pools
    fit = exposures.groupby("segment")["fit"].unique()
    assert set(fit["train"]) == {"block_0", "block_1"}
    assert {f for s in ("val", "test") for f in fit[s]} == {"full"}
    assert exposures["exposure"].between(-1, 1).all()
    assert list(exposures["expert"].iloc[:4]) == EXPERTS

    targets = pd.read_parquet(root / "05_model_input/expert_soft_targets.parquet")
    regimes = pd.read_parquet(root / "05_model_input/regimes.parquet")
    beside = regimes.merge(targets, on=["instrument", "timestamp"], how="left")
    assert len(beside) == len(regimes)
    defined = beside["p_trend"].notna()
    assert set(beside.loc[defined, "segment_x"]) == {"train", "val"}
    assert not (defined & beside["regime"].isna()).any()
    probabilities = beside.loc[defined, [f"p_{e}" for e in EXPERTS]].sum(axis=1)
    np.testing.assert_allclose(probabilities, 1.0)

    report = pd.read_parquet(root / "08_reporting/expert_test_performance.parquet")
    by_market = report[report["level"] == "market"]
    assert set(by_market["strategy"]) == {*EXPERTS, "buy_hold"}
    assert set(by_market["name"]) == {"stocks", "futures", "crypto"}
    by_regime = report[report["level"] == "market_regime"]
    assert len(by_regime) == 5 * 3 * 3  # strategies x markets x regimes
    assert by_regime["n_returns"].sum() > 0
    markdown = (root / "08_reporting/expert_report.md").read_text()
    assert "## Per market and decision-time regime" in markdown
    assert pools["version"] in markdown
    stable = sum(p["stable"] for p in pools["pools"])
    assert (
        f"{stable} of {len(pools['pools'])} pools have a stable candidate" in markdown
    )
