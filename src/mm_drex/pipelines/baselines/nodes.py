"""Baselines nodes: thin wrappers over :mod:`mm_drex.baselines`.

The baselines' exposures are executed by the backtest stage, with every other
strategy: one engine, one set of costs and limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import torch

from mm_drex.backtest.settings import BacktestSettings
from mm_drex.baselines.runner import run_stage_baselines
from mm_drex.baselines.settings import BaselineSettings
from mm_drex.features.settings import FeatureSettings

Params = Mapping[str, Any]


def fit_baselines(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    router_decision_points: pd.DataFrame,
    router_text_embeddings: Mapping[str, torch.Tensor],
    router_chart_trunk: Mapping[str, torch.Tensor],
    params: Params,
    backtest: Params,
    features: Params,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Fit every configured baseline (train), select it (val) and emit its
    exposures on the full history. The router_inputs stage's frozen caches become
    the LLMoE router's tower embeddings.

    Returns ``baseline_exposures``, ``baseline_selection``, ``baseline_fit_log``.
    """
    return run_stage_baselines(
        ohlcv,
        instruments,
        split,
        router_decision_points,
        router_text_embeddings,
        router_chart_trunk,
        BaselineSettings.from_params(params),
        BacktestSettings.from_params(backtest),
        FeatureSettings.from_params(features),
    )
