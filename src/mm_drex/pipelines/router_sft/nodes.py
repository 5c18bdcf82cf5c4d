"""router_sft nodes: thin wrappers over :mod:`mm_drex.router`.

Fitting reads train rows only; the validation rows only select the epoch kept;
test rows are only predicted and scored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from mm_drex.features.settings import FeatureSettings
from mm_drex.reporting.router import confusion_figure, evaluation_markdown
from mm_drex.router import io
from mm_drex.router.ablations import train_view_ablations
from mm_drex.router.evaluate import router_evaluation
from mm_drex.router.settings import RouterSettings

Params = Mapping[str, Any]
ChartShards = Mapping[str, Callable[[], np.ndarray]]
Tensors = dict[str, torch.Tensor]


def train_router(
    router_decision_points: pd.DataFrame,
    router_texts: pd.DataFrame,
    router_temporal: np.ndarray,
    router_text_embeddings: Tensors,
    router_chart_trunk: Tensors,
    chart_shards: ChartShards,
    feature_params: Params,
    params: Params,
) -> tuple[Tensors, dict[str, Any], pd.DataFrame]:
    """SFT of the configured backend on the train segment, epoch selected on val.

    Returns the trained tensors (adapters + heads), the JSON config that
    rebuilds the backend, and the per-epoch training log.
    """
    settings = RouterSettings.from_params(params)
    runtime = io.start_runtime(settings)
    inputs = io.router_inputs(
        router_decision_points,
        router_texts,
        router_temporal,
        router_text_embeddings,
        router_chart_trunk,
        settings,
        chart_shards,
    )
    names = FeatureSettings.from_params(feature_params).columns
    return io.train_router(inputs, settings, runtime, names)


def train_ablations(
    router_decision_points: pd.DataFrame,
    router_texts: pd.DataFrame,
    router_temporal: np.ndarray,
    router_text_embeddings: Tensors,
    router_chart_trunk: Tensors,
    feature_params: Params,
    params: Params,
) -> pd.DataFrame:
    """Compact routers trained from scratch without some views (same rows,
    seed and schedule as the main compact router): their regime probabilities,
    expert weights and predicted regime on val and test."""
    settings = RouterSettings.from_params(params)
    inputs = io.router_inputs(
        router_decision_points,
        router_texts,
        router_temporal,
        router_text_embeddings,
        router_chart_trunk,
        settings,
        backend="compact",
    )
    names = FeatureSettings.from_params(feature_params).columns
    return train_view_ablations(inputs, settings, names)


def predict_router(
    router_decision_points: pd.DataFrame,
    router_texts: pd.DataFrame,
    router_temporal: np.ndarray,
    router_text_embeddings: Tensors,
    router_chart_trunk: Tensors,
    chart_shards: ChartShards,
    router_model: Tensors,
    router_model_config: dict[str, Any],
    params: Params,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The trained router on every decision point of every segment.

    Returns ``router_weights`` (keys, p_<regime>, w_<expert>, rationale) and
    ``router_states`` (keys, z_00 ... : the fused state, the RL observation).
    """
    return io.predict_decision_points(
        router_decision_points,
        router_texts,
        router_temporal,
        router_text_embeddings,
        router_chart_trunk,
        chart_shards,
        router_model,
        router_model_config,
        RouterSettings.from_params(params),
    )


def evaluate_router(
    router_decision_points: pd.DataFrame,
    router_weights: pd.DataFrame,
    router_ablation_predictions: pd.DataFrame,
    params: Params,
) -> tuple[pd.DataFrame, str, Figure]:
    """Accuracy and macro-F1 on val and test of the router, the majority class
    (of the fitting rows) and the view ablations; the router's confusion
    matrices as markdown and a figure."""
    settings = RouterSettings.from_params(params)
    table, confusions, notes = router_evaluation(
        router_decision_points, router_weights, router_ablation_predictions, settings
    )
    return (
        table,
        evaluation_markdown(table, confusions, notes),
        confusion_figure(confusions),
    )
