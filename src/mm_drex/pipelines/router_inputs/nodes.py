"""router_inputs nodes: thin wrappers over :mod:`mm_drex.router.io`.

The frozen views are computed once per decision point (every segment); no
label or soft target is read except to be carried along for fitting.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from mm_drex.features.settings import FeatureSettings
from mm_drex.router.data import decision_point_table
from mm_drex.router.io import (
    embed_texts,
    encode_chart_trunk,
    start_runtime,
    temporal_view,
)
from mm_drex.router.settings import RouterSettings

Params = Mapping[str, Any]


def decision_points(
    chart_index: pd.DataFrame,
    text_view: pd.DataFrame,
    regimes: pd.DataFrame,
    expert_soft_targets: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every charted decision point with its text id, regime id and soft
    targets (``router_decision_points``), and the distinct texts (``router_texts``)."""
    return decision_point_table(chart_index, text_view, regimes, expert_soft_targets)


def temporal_sequences(
    router_decision_points: pd.DataFrame,
    features: pd.DataFrame,
    feature_params: Params,
    params: Params,
) -> np.ndarray:
    """``(N, steps, F)`` float32: the normalised features at bars
    ``t - (steps-1)*stride, ..., t`` of each decision point (none after ``t``)."""
    names = FeatureSettings.from_params(feature_params).columns
    settings = RouterSettings.from_params(params)
    return temporal_view(router_decision_points, features, names, settings)


def text_embeddings(
    router_texts: pd.DataFrame, params: Params
) -> dict[str, torch.Tensor]:
    """Frozen MiniLM embedding of each distinct text view, computed once."""
    settings = RouterSettings.from_params(params)
    return embed_texts(router_texts, settings, start_runtime(settings))


def chart_trunk(
    router_decision_points: pd.DataFrame,
    chart_shards: Mapping[str, Callable[[], np.ndarray]],
    params: Params,
) -> dict[str, torch.Tensor]:
    """The frozen image trunk's output for every chart, computed once
    (``features``), with the settings it depends on."""
    settings = RouterSettings.from_params(params)
    return encode_chart_trunk(
        router_decision_points, chart_shards, settings, start_runtime(settings)
    )
