"""The data contracts between stages: the catalog refuses a table that breaks
one, on save and on load, naming the dataset, the column and the check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from kedro.framework.session import KedroSession
from kedro.framework.startup import bootstrap_project
from kedro.validation.exceptions import DataValidationError

from tests.conftest import PROJECT_ROOT


def _catalog(root):
    bootstrap_project(PROJECT_ROOT)
    with KedroSession.create(
        project_path=PROJECT_ROOT, env="test", runtime_params={"data_root": str(root)}
    ) as session:
        return session.load_context().catalog


def _exposures() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "strategy": ["mm_drex"] * 3,
            "seed": np.array([42, 42, 42], dtype=np.int64),
            "instrument": ["SP500"] * 3,
            "timestamp": pd.to_datetime(["2020-01-02", "2020-01-03", "2020-01-06"]),
            "target_exposure": [0.5, 1.0, -0.2],
        }
    )


def test_a_valid_table_is_saved_and_loaded_unchanged(tmp_path):
    catalog = _catalog(tmp_path)
    catalog.save("mmdrex_exposures", _exposures())
    assert catalog.load("mmdrex_exposures").equals(_exposures())


def test_saving_a_non_finite_exposure_is_refused_before_it_is_written(tmp_path):
    catalog = _catalog(tmp_path)
    bad = _exposures()
    bad.loc[1, "target_exposure"] = np.inf
    with pytest.raises(DataValidationError) as caught:
        catalog.save("mmdrex_exposures", bad)
    message = str(caught.value)
    assert "mmdrex_exposures" in message and "target_exposure" in message
    assert not (tmp_path / "07_model_output" / "mmdrex_exposures.parquet").exists()


def test_loading_a_hand_written_table_with_a_duplicate_decision_is_refused(tmp_path):
    folder = tmp_path / "07_model_output"
    folder.mkdir(parents=True)
    twice = pd.concat([_exposures(), _exposures().iloc[:1]], ignore_index=True)
    twice.to_parquet(folder / "baseline_exposures.parquet")
    with pytest.raises(DataValidationError, match="baseline_exposures"):
        _catalog(tmp_path).load("baseline_exposures")


def test_router_weights_must_be_a_simplex(tmp_path):
    weights = pd.DataFrame(
        {
            "instrument": ["BTC"],
            "timestamp": pd.to_datetime(["2021-01-04"]),
            "segment": ["test"],
            "p_downtrend": [0.2],
            "p_sideways": [0.3],
            "p_uptrend": [0.5],
            "w_trend": [0.5],
            "w_reversal": [0.5],
            "w_breakout": [0.5],
            "w_positioning": [0.0],
        }
    )
    with pytest.raises(DataValidationError, match="simplex"):
        _catalog(tmp_path).save("router_weights", weights)
