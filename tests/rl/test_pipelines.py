"""The expert_rl and inference stages end to end on the test configuration.

The upstream stages (features, charts, labeling, experts) run for real. The
router stage itself takes minutes on the test slices, so the router here is
the project's compact router restricted to its temporal view (no image or
text tower), trained for one SFT epoch with the router library and saved to
the catalog exactly as ``router_sft`` saves its outputs, with its caches
(decision points, texts, temporal sequences). The text embeddings are not
computed (the MiniLM tower alone takes minutes here): they are saved as zeros
and never read, because the no-chart router that expert_rl trains (the router
stage exports no weights for it) is set to the temporal view only.
"""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
import torch

from mm_drex.experts.templates import EXPERTS
from mm_drex.features.sequence import FeatureSequences
from mm_drex.features.temporal import FeatureSpec, feature_columns
from mm_drex.regimes.labels import REGIMES
from mm_drex.router import RouterInputs, RuntimeConfig, TrainingConfig, make_backend
from mm_drex.router.data import decision_point_table, strided_sequences, training_rows
from mm_drex.strategy.decision_log import DECISION_LOG_COLUMNS
from mm_drex.strategy.inference import INFERENCE_COLUMNS
from tests.conftest import PROJECT_ROOT, run_kedro_pipeline

STEPS, STRIDE = 6, 5


def _catalog(root):
    from kedro.framework.session import KedroSession
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(PROJECT_ROOT)
    session = KedroSession.create(
        project_path=PROJECT_ROOT, env="test", runtime_params={"data_root": str(root)}
    )
    context = session.load_context()
    return context.catalog, context.params


def _temporal_router(catalog, params, seed: int):
    """A compact router on the temporal view only, one SFT epoch on train."""
    points, texts = decision_point_table(
        catalog.load("chart_index"),
        catalog.load("text_view"),
        catalog.load("regimes"),
        catalog.load("expert_soft_targets"),
    )
    names = feature_columns(FeatureSpec.from_params(params["features"]["indicators"]))
    temporal = strided_sequences(
        FeatureSequences(catalog.load("features"), names).gather,
        points["instrument"].to_numpy(dtype=object),
        points["t"].to_numpy(),
        STEPS,
        STRIDE,
    )
    inputs = RouterInputs(
        keys=points[["instrument", "timestamp", "segment"]],
        temporal=temporal,
        text_ids=points["text_id"].to_numpy(),
        texts=texts["text"].tolist(),
        regime_id=points["regime_id"].to_numpy(),
        soft_targets=points[[f"p_{e}" for e in EXPERTS]].to_numpy(np.float32),
    )
    runtime = RuntimeConfig(seed=seed, num_threads=1, device="cpu", precision="fp32")
    settings = {
        "modalities": ["temporal"],
        "temporal_hidden": 16,
        "modality_dim": 16,
        "state_dim": 8,
    }
    backend = make_backend("compact", settings, runtime, names, STEPS)
    fit = training_rows(inputs, "train", None, seed)
    select = np.flatnonzero(
        (inputs.keys["segment"] == "val").to_numpy() & (inputs.regime_id >= 0)
    )
    backend.fit(
        inputs.subset(fit),
        inputs.subset(select),
        TrainingConfig(epochs=1, batch_size=256),
        None,
    )
    prediction = backend.predict(inputs)
    weights = inputs.keys.copy()
    for i, regime in enumerate(REGIMES):
        weights[f"p_{regime}"] = prediction.regime_probs[:, i].astype(np.float32)
    for k, expert in enumerate(EXPERTS):
        weights[f"w_{expert}"] = prediction.weights[:, k].astype(np.float32)
    states = inputs.keys.copy()
    for i in range(prediction.states.shape[1]):
        states[f"z_{i:02d}"] = prediction.states[:, i].astype(np.float32)
    caches = {
        "router_decision_points": points,
        "router_texts": texts,
        "router_temporal": temporal,
        "router_text_embeddings": {"embeddings": torch.zeros((len(texts), 384))},
    }
    return backend, weights, states, caches


@pytest.fixture(scope="module")
def stage_root(ingested_root, tmp_path_factory):
    root = tmp_path_factory.mktemp("rl_stage") / "data"
    shutil.copytree(ingested_root, root)
    for stage in ("features", "charts", "labeling", "experts"):
        run_kedro_pipeline(stage, root)
    catalog, params = _catalog(root)
    backend, weights, states, caches = _temporal_router(catalog, params, seed=0)
    catalog.save("router_model", backend.state_tensors())
    catalog.save("router_model_config", backend.config_dict())
    catalog.save("router_weights", weights)
    catalog.save("router_states", states)
    for name, value in caches.items():
        catalog.save(name, value)
    # the router stage's ablation output, without exported weights
    keys = weights[["instrument", "timestamp", "segment"]]
    catalog.save(
        "router_ablation_predictions", keys.assign(model="no_chart", regime_pred=0)
    )
    # inference rebuilds the temporal view with the router's steps; the
    # no-chart router is trained on the temporal view only (module docstring)
    extra = {
        "router_sft": {
            "temporal": {"steps": STEPS, "stride": STRIDE},
            "device": "cpu",
            "ablations": {"no_chart": ["temporal"]},
        }
    }
    run_kedro_pipeline("expert_rl", root, extra)
    return root, extra


@pytest.mark.slow
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
    no_chart = pd.read_parquet(root / "07_model_output/rl_no_chart_weights.parquet")
    assert set(no_chart["segment"]) == {"val", "test"}
    np.testing.assert_allclose(
        no_chart[[f"w_{e}" for e in EXPERTS]].sum(axis=1), 1.0, rtol=1e-5
    )
    positions = pd.read_parquet(root / "07_model_output/mmdrex_positions.parquet")
    assert "buy_hold" in set(positions["strategy"])
    log = pd.read_parquet(root / "08_reporting/mmdrex_decision_log.parquet")
    split = pd.read_parquet(root / "02_intermediate/split.parquet")
    test_bars = split.loc[split["segment"] == "test", "n_bars"].sum()
    assert list(log.columns) == DECISION_LOG_COLUMNS
    assert len(log) == test_bars and not log.duplicated(["instrument", "t"]).any()
    metrics = pd.read_parquet(root / "08_reporting/mmdrex_metrics.parquet")
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


@pytest.mark.slow
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


@pytest.mark.slow
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
