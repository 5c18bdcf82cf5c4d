"""Scores of a regime classifier: accuracy, macro-F1, confusion matrix and
the evaluation table of several classifiers."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from sklearn.metrics import confusion_matrix, f1_score

from mm_drex.router.data import REGIMES


def classification_scores(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Accuracy and macro-F1 (over the three regimes) of labelled rows
    (``y_true >= 0``); NaN when there is none."""
    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    labelled = y_true >= 0
    n = int(labelled.sum())
    if n == 0:
        return {"n": 0, "accuracy": float("nan"), "macro_f1": float("nan")}
    t, p = y_true[labelled], y_pred[labelled]
    return {
        "n": n,
        "accuracy": float((t == p).mean()),
        "macro_f1": float(
            f1_score(
                t, p, labels=list(range(len(REGIMES))), average="macro", zero_division=0
            )
        ),
    }


def regime_confusion(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Counts ``(3, 3)``: rows = true regime, columns = predicted, labelled rows only."""
    y_true = np.asarray(y_true)
    labelled = y_true >= 0
    return confusion_matrix(
        y_true[labelled], np.asarray(y_pred)[labelled], labels=list(range(len(REGIMES)))
    )


def evaluation_table(
    regime_id: np.ndarray,
    segments: np.ndarray,
    predictions: Mapping[str, np.ndarray],
    evaluated_segments: tuple[str, ...] = ("val", "test"),
) -> pd.DataFrame:
    """One row per (model, segment): n, accuracy, macro_f1.

    Args:
        regime_id: ``(N,)`` true regime ids, -1 = no label.
        segments: ``(N,)`` segment of each decision point.
        predictions: ``{model name: (N,) predicted regime ids}``.
    """
    rows = []
    for model, predicted in predictions.items():
        for segment in evaluated_segments:
            in_segment = segments == segment
            scores = classification_scores(regime_id[in_segment], predicted[in_segment])
            rows.append({"model": model, "segment": segment, **scores})
    return pd.DataFrame(rows, columns=["model", "segment", "n", "accuracy", "macro_f1"])
