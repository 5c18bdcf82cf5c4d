"""The expert_rl, backtest, audit and inference stages end to end on the test
configuration.

The upstream stages (features, charts, labeling, experts) run for real. The
router stage itself takes minutes on the test slices, so the router here is
the project's compact router restricted to its temporal view (no image or
text tower), trained for one SFT epoch with the router library
(:mod:`mm_drex.router.io`) and saved to the catalog exactly as
``router_inputs`` and ``router_sft`` save their outputs, with the no-chart
ablation (also temporal-only here) trained by :mod:`mm_drex.router.ablations`.
The text embeddings are not computed (the MiniLM tower alone takes minutes
here): they are saved as zeros and never read by these temporal-only routers.
The baselines' table holds buy & hold only (the backtest's benchmark).
"""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from mm_drex.audit.decision_log import DECISION_LOG_COLUMNS
from mm_drex.baselines import run_baselines
from mm_drex.experts.templates import EXPERTS
from mm_drex.features.settings import FeatureSettings
from mm_drex.regimes.labels import REGIMES
from mm_drex.router import io
from mm_drex.router.ablations import train_view_ablations
from mm_drex.router.data import decision_point_table
from mm_drex.router.settings import RouterSettings
from mm_drex.strategy.inference import INFERENCE_COLUMNS
from tests.conftest import PROJECT_ROOT, run_kedro_pipeline

pytestmark = pytest.mark.slow  # runs a whole Kedro pipeline

STEPS, STRIDE = 6, 5
# the router and its no-chart ablation on the temporal view only (module docstring)
ROUTER = {
    "temporal": {"steps": STEPS, "stride": STRIDE},
    "device": "cpu",
    "num_threads": 1,
    "training": {"epochs": 1, "batch_size": 256},
    "compact": {
        "modalities": ["temporal"],
        "temporal_hidden": 16,
        "modality_dim": 16,
        "state_dim": 8,
    },
}
NO_CHART = {"no_chart": ("temporal",)}  # the only ablation trained here


def _catalog(root):
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_ROOT)
    session = KedroSession.create(
        project_path=PROJECT_ROOT,
        env="test",
        runtime_params={"data_root": str(root), "router_sft": ROUTER},
    )
    context = session.load_context()
    return context.catalog, context.params


def _save_router_stage(catalog, params) -> None:
    """The router_inputs and router_sft outputs of the temporal-only router."""
    points, texts = decision_point_table(
        catalog.load("chart_index"),
        catalog.load("text_view"),
        catalog.load("regimes"),
        catalog.load("expert_soft_targets"),
    )
    settings = RouterSettings.from_params(params["router_sft"])
    names = FeatureSettings.from_params(params["features"]).columns
    temporal = io.temporal_view(points, catalog.load("features"), names, settings)
    embeddings = {"embeddings": torch.zeros((len(texts), 384))}
    inputs = io.router_inputs(points, texts, temporal, embeddings, None, settings)
    runtime = io.start_runtime(settings)
    tensors, config, _ = io.train_router(inputs, settings, runtime, names)
    weights, states = io.predict_router(inputs, tensors, config, settings, runtime)
    outputs = {
        "router_decision_points": points,
        "router_texts": texts,
        "router_temporal": temporal,
        "router_text_embeddings": embeddings,
        "router_model": tensors,
        "router_model_config": config,
        "router_weights": weights,
        "router_states": states,
        "router_ablation_predictions": train_view_ablations(
            inputs, dataclasses.replace(settings, ablations=NO_CHART), names
        ),
    }
    for name, value in outputs.items():
        catalog.save(name, value)


def _save_buy_and_hold(catalog) -> None:
    exposures, selection, _ = run_baselines(
        catalog.load("ohlcv"),
        catalog.load("instruments"),
        catalog.load("split"),
        {"buy_hold": {}},
        seeds=[42],
    )
    catalog.save("baseline_exposures", exposures)
    catalog.save("baseline_selection", selection)


@pytest.fixture(scope="module")
def stage_root(ingested_root, tmp_path_factory):
    root = tmp_path_factory.mktemp("rl_stage") / "data"
    shutil.copytree(ingested_root, root)
    for stage in ("features", "charts", "labeling", "experts"):
        run_kedro_pipeline(stage, root)
    catalog, params = _catalog(root)
    _save_router_stage(catalog, params)
    _save_buy_and_hold(catalog)
    extra = {"router_sft": ROUTER}
    run_kedro_pipeline(["expert_rl", "backtest", "audit"], root, extra)
    return root, extra


def test_expert_rl_pipeline_writes_policies_exposures_decision_log_and_report(
    stage_root,
):
    root, _ = stage_root
    config = pd.read_json(root / "06_models/rl_policy_config.json", typ="series")
    assert list(config["seeds"]) == [42, 43]  # conf/test/parameters_expert_rl.yml
    assert (root / "06_models/rl_policy.safetensors").exists()
    exposures = pd.read_parquet(root / "07_model_output/mmdrex_exposures.parquet")
    assert set(exposures["strategy"]) == {
        "mm_drex",
        "mm_drex_uniform_weights",
        "mm_drex_static_weights",
        "mm_drex_best_single_expert",
        "mm_drex_sft_only",
        "mm_drex_no_chart",
        "mm_drex_no_positioning",
    }
    ablations = pd.read_parquet(
        root / "07_model_output/router_ablation_predictions.parquet"
    )
    no_chart = ablations[ablations["model"] == "no_chart"]
    assert set(no_chart["segment"]) == {"val", "test"}
    np.testing.assert_allclose(
        no_chart[[f"w_{e}" for e in EXPERTS]].sum(axis=1), 1.0, rtol=1e-5
    )
    positions = pd.read_parquet(root / "07_model_output/backtest_positions.parquet")
    assert set(positions["strategy"]) == {*exposures["strategy"], "buy_hold"}
    log = pd.read_parquet(root / "08_reporting/mmdrex_decision_log.parquet")
    split = pd.read_parquet(root / "02_intermediate/split.parquet")
    test_bars = split.loc[split["segment"] == "test", "n_bars"].sum()
    assert list(log.columns) == DECISION_LOG_COLUMNS
    assert len(log) == test_bars and not log.duplicated(["instrument", "t"]).any()
    metrics = pd.read_parquet(root / "08_reporting/backtest_metrics.parquet")
    assert {"instrument", "market", "average"} <= set(metrics["level"])
    comparison = pd.read_parquet(root / "08_reporting/rl_policy_comparison.parquet")
    assert set(comparison["policy"]) == {"trained", "random", "sft_only"}
    report = (root / "08_reporting/mmdrex_report.md").read_text()
    for section in (
        "## Verdict",
        "## Per market",
        "decision-time regime",
        "random policy",
        "## Selection on val",
    ):
        assert section in report
    assert "No-chart ablation not run" not in report


def test_inference_writes_the_next_open_target_for_the_latest_bar(stage_root):
    root, extra = stage_root
    run_kedro_pipeline("inference", root, extra)
    decisions = pd.read_parquet(root / "07_model_output/inference_decisions.parquet")
    ohlcv = pd.read_parquet(root / "02_intermediate/ohlcv.parquet")
    latest = ohlcv.groupby("instrument", sort=False)["timestamp"].max()
    assert list(decisions.columns) == INFERENCE_COLUMNS
    assert (
        dict(zip(decisions["instrument"], decisions["timestamp"], strict=True))
        == latest.to_dict()
    )
    assert decisions["target_exposure_next_open"].between(-1, 1).all()
    assert decisions["execution_timestamp"].isna().all()
    np.testing.assert_allclose(
        decisions[[f"w_{e}" for e in EXPERTS]].sum(axis=1), 1.0, rtol=1e-6
    )
    assert (
        "target at next open"
        in (root / "08_reporting/inference_decisions.md").read_text()
    )


def test_inference_reproduces_the_decision_log_row(stage_root):
    """Inference at a past test bar, with the sleeve starting flat at the test
    segment's start, gives the decision log's row (bars after it unread)."""
    root, extra = stage_root
    log = pd.read_parquet(root / "08_reporting/mmdrex_decision_log.parquet")
    split = pd.read_parquet(root / "02_intermediate/split.parquet")
    row = log[log["instrument"] == "SP500"].iloc[40]
    start = split.loc[
        (split["instrument"] == "SP500") & (split["segment"] == "test"), "start"
    ].iloc[0]
    settings = {
        **extra,
        "inference": {
            "instruments": ["SP500", "NASDAQ"],
            "as_of": str(row["timestamp"]),
            "sleeve_start": str(start),
        },
    }
    run_kedro_pipeline("inference", root, settings)
    decisions = pd.read_parquet(root / "07_model_output/inference_decisions.parquet")
    assert (decisions["timestamp"] == row["timestamp"]).all()
    expected = log.set_index(["instrument", "timestamp"]).loc[
        list(zip(decisions["instrument"], decisions["timestamp"], strict=True))
    ]
    assert list(decisions["chart_sha256"]) == list(expected["chart_sha256"])
    columns = [
        *[f"p_{r}" for r in REGIMES],
        *[f"w_{e}" for e in EXPERTS],
        *[f"exposure_{e}" for e in EXPERTS],
        "mixed_exposure",
    ]
    np.testing.assert_allclose(
        decisions[columns].to_numpy(float), expected[columns].to_numpy(float), atol=1e-6
    )
    assert list(decisions["member_trend"]) == list(expected["member_trend"])
