"""The view ablations: compact routers trained from scratch on fewer views,
on the main router's rows and seed; their weights feed MM-DREX's no-chart
ablation, and the router I/O turns any prediction into the same tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mm_drex.router import EXPERTS, REGIMES
from mm_drex.router.ablations import (
    PREDICTION_COLUMNS,
    ablation_weights,
    train_view_ablations,
)
from mm_drex.router.data import RouterInputs, state_column_names
from mm_drex.router.io import fit_backend, start_runtime
from mm_drex.router.settings import RouterSettings
from tests.router.conftest import make_inputs

FEATURES = [f"f{i}" for i in range(5)]
SETTINGS = {
    "device": "cpu",
    "num_threads": 1,
    "temporal": {"steps": 6, "stride": 1},
    "training": {"epochs": 2, "batch_size": 16},
    "compact": {"temporal_hidden": 8, "modality_dim": 8, "state_dim": 4},
    "ablations": {"features_only": ["temporal"]},
}


def _inputs() -> RouterInputs:
    parts = [
        make_inputs(40, seed=1, segment="train"),
        make_inputs(20, seed=2, segment="val"),
        make_inputs(20, seed=3, segment="test"),
    ]
    keys = pd.concat([p.keys for p in parts], ignore_index=True)
    keys["timestamp"] = pd.date_range("2020-01-01", periods=len(keys), freq="D")
    return RouterInputs(
        keys=keys,
        temporal=np.concatenate([p.temporal for p in parts]),
        text_ids=np.concatenate([p.text_ids for p in parts]),
        texts=parts[0].texts,
        regime_id=np.concatenate([p.regime_id for p in parts]),
        soft_targets=np.concatenate([p.soft_targets for p in parts]),
    )


def test_ablations_predict_val_and_test_with_the_main_routers_rows_and_seed():
    settings = RouterSettings.from_params(SETTINGS)
    inputs = _inputs()
    table = train_view_ablations(inputs, settings, FEATURES)
    assert list(table.columns) == PREDICTION_COLUMNS
    assert set(table["segment"]) == {"val", "test"} and len(table) == 40
    weights = table[[f"w_{e}" for e in EXPERTS]].to_numpy()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)
    probs = table[[f"p_{r}" for r in REGIMES]].to_numpy()
    assert (probs.argmax(axis=1) == table["regime_pred"].to_numpy()).all()
    # the same router fitted directly on its views gives the same numbers
    runtime = start_runtime(settings, settings.ablation_num_threads)
    model, _, fit, select = fit_backend(
        inputs, settings, runtime, FEATURES, backend="compact", modalities=["temporal"]
    )
    assert set(inputs.keys["segment"].iloc[fit]) == {"train"}
    assert set(inputs.keys["segment"].iloc[select]) == {"val"}
    scored = inputs.subset(np.flatnonzero(inputs.keys["segment"] != "train"))
    again = model.predict(scored).weights.astype(np.float32)
    np.testing.assert_array_equal(weights, again)


def test_ablation_weights_are_the_rows_of_one_ablation_or_none():
    table = pd.DataFrame(
        {
            "model": ["no_chart", "no_text"],
            **{c: [0.0, 0.0] for c in PREDICTION_COLUMNS[1:]},
        }
    )
    assert len(ablation_weights(table, "no_chart")) == 1
    assert list(ablation_weights(table, "no_chart").columns) == PREDICTION_COLUMNS[1:-1]
    assert ablation_weights(table, "features_only").empty


def test_state_column_names_have_two_digits_at_least():
    assert state_column_names(3) == ["z_00", "z_01", "z_02"]
    assert state_column_names(101)[-1] == "z_100"
