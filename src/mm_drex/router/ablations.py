"""Routers trained from scratch on fewer views: the modality ablations.

Each ablation of ``params:router_sft.ablations`` (name -> the views it keeps,
e.g. ``no_chart: [text, temporal]``) is the compact router trained without the
other views, at train and evaluation time, on the main router's rows, seed and
schedule. Their predictions on val and test are both an evaluation of the
views (router stage) and, for ``no_chart``, the weights of MM-DREX's
"router without the chart view" ablation (RL stage).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mm_drex.router.data import EXPERTS, KEY_COLUMNS, REGIMES, RouterInputs
from mm_drex.router.io import fit_backend, prediction_tables, start_runtime
from mm_drex.router.settings import RouterSettings

NO_CHART = "no_chart"
PREDICTION_COLUMNS = [
    "model",
    *KEY_COLUMNS,
    *[f"p_{r}" for r in REGIMES],
    *[f"w_{e}" for e in EXPERTS],
    "regime_pred",
]


def train_view_ablations(
    inputs: RouterInputs,
    settings: RouterSettings,
    feature_names: Sequence[str],
    segments: Sequence[str] = ("val", "test"),
) -> pd.DataFrame:
    """Train every configured ablation and predict ``segments``.

    Threads: an ablation that reads the chart runs on ``router_sft.num_threads``
    (the image tower's convolutions gain from them); the others, small
    temporal/text routers, on ``router_sft.ablation_num_threads`` (one is
    faster there). The thread count orders float reductions, so it is part of
    the configuration: the RL stage's no-chart router always ran on one.

    Returns:
        One row per (ablation, decision point of ``segments``):
        :data:`PREDICTION_COLUMNS` (regime probabilities, expert weights and
        the predicted regime id).
    """
    scored = np.flatnonzero(np.isin(inputs.keys["segment"].to_numpy(), segments))
    frames = []
    for name, views in settings.ablations.items():
        chart = "chart" in views
        threads = settings.num_threads if chart else settings.ablation_num_threads
        runtime = start_runtime(settings, threads)
        model, *_ = fit_backend(
            inputs,
            settings,
            runtime,
            feature_names,
            backend="compact",
            modalities=views,
            run_name=name,
            checkpoint_dir=settings.checkpoint_dir,
        )
        subset = inputs.subset(scored)
        prediction = model.predict(subset, batch_size=settings.predict_batch_size)
        weights, _ = prediction_tables(subset.keys, prediction)
        weights.insert(0, "model", name)
        weights["regime_pred"] = prediction.regime_probs.argmax(axis=1)
        frames.append(weights[PREDICTION_COLUMNS])
    if not frames:
        return pd.DataFrame(columns=PREDICTION_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def ablation_weights(predictions: pd.DataFrame, name: str = NO_CHART) -> pd.DataFrame:
    """The keys, regime probabilities and expert weights of ablation ``name``
    (empty when it was not trained)."""
    columns = PREDICTION_COLUMNS[1:-1]
    rows = predictions[predictions["model"] == name]
    return rows[columns].reset_index(drop=True)
