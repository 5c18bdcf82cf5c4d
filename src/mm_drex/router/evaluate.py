"""The router stage's evaluation: the router, the majority class (of the
fitting rows) and the view ablations on val and test (the report is
:mod:`mm_drex.reporting.router`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mm_drex.router.data import KEY_COLUMNS, REGIMES, RouterInputs, training_rows
from mm_drex.router.scores import evaluation_table, regime_confusion
from mm_drex.router.settings import RouterSettings


def router_evaluation(
    points: pd.DataFrame,
    router_weights: pd.DataFrame,
    ablation_predictions: pd.DataFrame,
    settings: RouterSettings,
) -> tuple[pd.DataFrame, dict[str, np.ndarray], list[str]]:
    """Accuracy and macro-F1 on val and test of the router, the majority class
    (of the fitting rows) and the view ablations.

    Returns the table, the router's confusion matrices per segment and one
    note per row explaining how it was obtained.
    """
    points = points.reset_index(drop=True)
    keys = points[["instrument", "timestamp"]]
    if not keys.equals(router_weights[["instrument", "timestamp"]]):
        raise ValueError("router_weights rows are not in router_decision_points order")
    regime_id = points["regime_id"].to_numpy()
    segments = points["segment"].to_numpy()
    router_pred = router_weights[[f"p_{r}" for r in REGIMES]].to_numpy().argmax(axis=1)
    training = settings.training_for(settings.backend)
    labels_only = RouterInputs(
        keys=points[KEY_COLUMNS],
        temporal=np.zeros((len(points), 1, 1), dtype=np.float32),
        text_ids=np.zeros(len(points), dtype=np.int64),
        texts=[""],
        regime_id=regime_id,
    )
    fit = training_rows(labels_only, "train", training.max_train_samples, settings.seed)
    majority = int(np.bincount(regime_id[fit], minlength=len(REGIMES)).argmax())
    predictions = {
        "router": router_pred,
        "majority_class": np.full(len(points), majority),
    }
    if "persistence_id" in points:
        predictions["persistence_rule"] = points["persistence_id"].to_numpy(np.int64)
    for model, frame in ablation_predictions.groupby("model", sort=False):
        merged = keys.merge(
            frame[["instrument", "timestamp", "regime_pred"]], how="left"
        )
        predictions[model] = merged["regime_pred"].fillna(-1).to_numpy(dtype=np.int64)
    table = evaluation_table(regime_id, segments, predictions)
    confusions = {
        segment: regime_confusion(
            regime_id[segments == segment], router_pred[segments == segment]
        )
        for segment in ("val", "test")
    }
    notes = [
        f"router: backend `{settings.backend}`, all views, epoch selected on val "
        "macro-F1 (val rows are never fitted; test rows are only predicted).",
        f"majority_class: always predicts '{REGIMES[majority]}', the most frequent "
        "regime of the fitting rows.",
        *(
            [
                "persistence_rule: the label rule applied to the past horizon "
                "(the last H bars' return against the same threshold), causal."
            ]
            if "persistence_id" in points
            else []
        ),
        *[
            f"{model}: compact router trained from scratch with only {', '.join(views)} "
            "(the other views absent at train and evaluation time), same rows, seed "
            "and schedule."
            for model, views in settings.ablations.items()
        ],
    ]
    return table, confusions, notes
