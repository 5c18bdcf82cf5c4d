"""The label study on the test configuration's slices: val-only scores."""

from __future__ import annotations

import pandas as pd
import pytest

from mm_drex.features.temporal import compute_raw_features
from mm_drex.regimes.study import fold_label_scores, label_study, study_summary


@pytest.fixture(scope="module")
def inputs(ingested_root):
    tables = {
        name: pd.read_parquet(ingested_root / f"02_intermediate/{name}.parquet")
        for name in ("ohlcv", "instruments", "split")
    }
    features = compute_raw_features(
        tables["ohlcv"], tables["instruments"], tables["split"]
    )
    return tables["ohlcv"], tables["split"], features


def test_scores_are_macro_f1_on_val_and_ignore_the_test_window(inputs):
    ohlcv, split, features = inputs
    scores = fold_label_scores(ohlcv, split, features, horizon=20, theta=0.5)
    for name in ("logistic", "boosting", "persistence", "majority"):
        assert 0.0 <= scores[f"f1_{name}"] <= 1.0
    assert scores["margin"] == pytest.approx(
        max(scores["f1_logistic"], scores["f1_boosting"]) - scores["f1_persistence"]
    )
    # what happens on test cannot change a score: scramble every test bar
    test = features["segment"] == "test"
    scrambled = features.copy()
    columns = [c for c in features.columns if c.startswith(("return_", "rsi"))]
    scrambled.loc[test, columns] = -scrambled.loc[test, columns] * 3.0
    assert fold_label_scores(ohlcv, split, scrambled, 20, 0.5) == scores
    # and the check can fail: scrambling val changes the learners' scores
    val = features["segment"] == "val"
    moved = features.copy()
    moved.loc[val, columns] = -moved.loc[val, columns] * 3.0
    assert fold_label_scores(ohlcv, split, moved, 20, 0.5) != scores


def test_study_rows_and_summary(inputs):
    ohlcv, split, features = inputs
    table = label_study(ohlcv, features, {"single": split}, [20, 40], [0.5])
    assert table[["fold", "horizon", "theta"]].values.tolist() == [
        ["single", 20, 0.5],
        ["single", 40, 0.5],
    ]
    summary = study_summary(table)
    assert summary["folds"].tolist() == [1, 1]
    assert summary["folds_above_persistence"].tolist() == (
        (table["margin"] > 0).astype(int).tolist()
    )
