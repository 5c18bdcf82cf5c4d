"""`kedro run` of the baselines stage (and the backtest) on the test config.

The stage reads the router's frozen caches, so the upstream stages run first,
on a two-instrument slice (S&P 500 and BTC, 320 bars, a 20-bar purge that
matches the test label horizon) to keep the text and image towers quick.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mm_drex.baselines import BASELINES
from tests.pipelines.conftest import write_mmdrex_exposures

pytestmark = pytest.mark.slow  # runs a whole Kedro pipeline

SLICE = {
    "ingestion": {
        "instruments": ["SP500", "BTC"],
        "tail_bars": 320,
        "split": {"purge_bars": 20},
    }
}
ROUTER_CACHE_NODES = [
    "build_router_decision_points",
    "embed_distinct_text_views",
    "encode_chart_image_trunk",
]  # of the router_inputs stage: what the LLMoE router reads


def run(root: Path, pipeline: str, node_names: list[str] | None = None) -> None:
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    from tests.conftest import PROJECT_ROOT

    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(
        project_path=PROJECT_ROOT,
        env="test",
        runtime_params={"data_root": str(root), **SLICE},
    ) as session:
        session.run(pipeline_name=pipeline, node_names=node_names)


@pytest.fixture(scope="module")
def stage_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("baselines_stage")
    for stage in ("ingestion", "features", "charts", "labeling", "experts"):
        run(root, stage)
    run(root, "router_inputs", ROUTER_CACHE_NODES)
    run(root, "baselines")
    return root


def read(root: Path, layer: str, name: str) -> pd.DataFrame:
    return pd.read_parquet(root / layer / f"{name}.parquet")


def test_the_stage_fits_all_fifteen_and_emits_their_exposures(stage_root: Path):
    exposures = read(stage_root, "07_model_output", "baseline_exposures")
    ohlcv = read(stage_root, "02_intermediate", "ohlcv")
    assert list(dict.fromkeys(exposures["strategy"])) == list(BASELINES)
    seeds = exposures.groupby("strategy")["seed"].unique()
    for name, baseline_class in BASELINES.items():
        expected = [42] if baseline_class.deterministic else [42, 43]
        assert sorted(seeds[name]) == expected, name
    sleeves = exposures.groupby(["strategy", "seed"]).ngroups
    assert len(exposures) == sleeves * len(ohlcv)  # the full history of both
    assert exposures["target_exposure"].between(-1, 1).all()

    fit_log = read(stage_root, "08_reporting", "baseline_fit_log")
    assert len(fit_log) == sleeves and (fit_log["fit_seconds"] >= 0).all()
    assert set(fit_log.loc[fit_log["strategy"] == "lstm_forecaster", "pool"]) == {
        "universe"
    }

    selection = read(stage_root, "07_model_output", "baseline_selection")
    assert len(selection) == sleeves * 2
    chosen = selection[selection["strategy"] == "technical_search"]["parameters"]
    assert all("template" in json.loads(p) for p in chosen)
    scores = selection.set_index(["strategy", "instrument"])["selection_score"]
    assert np.isfinite(scores.loc["sma_crossover"]).all()  # a val Sharpe


def test_the_backtest_evaluates_the_baselines_on_test(stage_root: Path):
    """The backtest stage executes the baselines' exposures with MM-DREX's
    (a stand-in here) through one engine; the comparison lists them all."""
    write_mmdrex_exposures(stage_root)
    run(stage_root, "backtest")
    run(stage_root, "reporting", ["aggregate_seeds", "comparison_markdown"])
    exposures = read(stage_root, "07_model_output", "baseline_exposures")
    split = read(stage_root, "02_intermediate", "split")
    sleeves = exposures.groupby(["strategy", "seed"]).ngroups
    positions = read(stage_root, "07_model_output", "backtest_positions")
    baselines = positions[positions["strategy"] != "mm_drex"]
    test_bars = split.loc[split["segment"] == "test", "n_bars"].sum()
    assert len(baselines) == sleeves * test_bars
    assert positions["nav"].gt(0).all()

    metrics = read(stage_root, "08_reporting", "backtest_metrics")
    for level, names in (
        ("instrument", {"SP500", "BTC"}),
        ("market", {"stocks", "crypto"}),
        ("average", {"equal_market_average"}),
    ):
        rows = metrics[metrics["level"] == level]
        assert set(rows["name"]) == names
        assert set(rows["strategy"]) == {*BASELINES, "mm_drex"}
    assert metrics.loc[metrics["level"] == "market", "total_return"].notna().all()
    table = (stage_root / "08_reporting" / "backtest_comparison.md").read_text()
    for name in [*BASELINES, "mm_drex", "stocks", "crypto", "equal_market_average"]:
        assert name in table
