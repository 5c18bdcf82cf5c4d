"""`kedro run --pipelines router_inputs,router_sft` end to end on the test
configuration, after the stages it reads (features, charts, labeling, experts)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mm_drex.datasets import TensorDictDataset
from mm_drex.router import EXPERTS, REGIMES
from tests.conftest import run_kedro_pipeline

pytestmark = pytest.mark.slow  # runs a whole Kedro pipeline


def test_router_sft_pipeline_routes_every_decision_point_and_reports(
    ingested_root: Path, tmp_path: Path
):
    root = tmp_path / "data"
    shutil.copytree(ingested_root, root)
    for stage in ("features", "charts", "labeling", "experts"):
        run_kedro_pipeline(stage, root)
    run_kedro_pipeline(["router_inputs", "router_sft"], root)

    chart_index = pd.read_parquet(root / "05_model_input/chart_index.parquet")
    weights = pd.read_parquet(root / "07_model_output/router_weights.parquet")
    assert len(weights) == len(chart_index)
    assert weights[["instrument", "timestamp"]].equals(
        chart_index[["instrument", "timestamp"]]
    )
    assert set(weights["segment"]) >= {"train", "val", "test"}
    p = weights[[f"p_{r}" for r in REGIMES]].to_numpy()
    w = weights[[f"w_{e}" for e in EXPERTS]].to_numpy()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-5)
    assert (w > 0).all()

    states = pd.read_parquet(root / "07_model_output/router_states.parquet")
    assert len(states) == len(chart_index)
    assert [c for c in states.columns if c.startswith("z_")] == [
        f"z_{i:02d}" for i in range(16)
    ]

    # the model is tensors + JSON; the training log says what was fitted on what
    config = json.loads((root / "06_models/router_model_config.json").read_text())
    assert config["backend"] == "compact" and config["model"]["image_size"] == 32
    tensors = TensorDictDataset(str(root / "06_models/router_model.safetensors")).load()
    assert any(".lora_A." in name for name in tensors)
    log = pd.read_parquet(root / "08_reporting/router_training_log.parquet")
    assert log["n_train"].iloc[0] == 300 and log["selected"].sum() == 1
    regimes = pd.read_parquet(root / "05_model_input/regimes.parquet")
    assert (
        log["n_val"].iloc[0]
        == ((regimes["segment"] == "val") & (regimes["regime_id"] >= 0)).sum()
    )

    evaluation = pd.read_parquet(root / "08_reporting/router_evaluation.parquet")
    models = {
        "router",
        "majority_class",
        "persistence_rule",
        "features_only",
        "no_chart",
        "no_text",
        "no_temporal",
    }
    assert set(evaluation["model"]) == models
    assert set(evaluation["segment"]) == {"val", "test"}
    assert (
        evaluation["accuracy"].between(0, 1).all()
        and evaluation["macro_f1"].between(0, 1).all()
    )
    ablations = pd.read_parquet(
        root / "07_model_output/router_ablation_predictions.parquet"
    )
    assert set(ablations["model"]) == models - {
        "router",
        "majority_class",
        "persistence_rule",
    }
    w = ablations[[f"w_{e}" for e in EXPERTS]].to_numpy()
    np.testing.assert_allclose(w.sum(axis=1), 1.0, rtol=1e-5)
    assert (
        ablations[[f"p_{r}" for r in REGIMES]].to_numpy().argmax(axis=1)
        == ablations["regime_pred"].to_numpy()
    ).all()
    report = (root / "08_reporting/router_evaluation.md").read_text()
    assert "Confusion matrix, router, test" in report and "features_only" in report
    assert (root / "08_reporting/router_confusion_matrix.png").stat().st_size > 10_000
    assert not list((root / "06_models/router_checkpoints").glob("*/state.json"))
