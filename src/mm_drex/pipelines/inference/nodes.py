"""inference nodes: thin wrappers over :mod:`mm_drex.strategy.inference`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import torch

from mm_drex.backtest.settings import BacktestSettings
from mm_drex.charts.settings import ChartSettings
from mm_drex.experts.settings import ExpertSettings
from mm_drex.features.settings import FeatureSettings
from mm_drex.router.settings import RouterSettings
from mm_drex.strategy.inference import (
    InferenceSettings,
    StageSettings,
    inference_markdown,
    latest_decisions,
)

Params = Mapping[str, Any]


def decide_next_open(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    feature_normaliser: pd.DataFrame,
    router_model: dict[str, torch.Tensor],
    router_model_config: dict[str, Any],
    expert_pools: dict[str, Any],
    rl_policy: dict[str, torch.Tensor],
    rl_policy_config: dict[str, Any],
    params: Params,
    features: Params,
    charts: Params,
    router_sft: Params,
    experts: Params,
    backtest: Params,
) -> tuple[pd.DataFrame, str]:
    """Regime probabilities, weights, experts' exposures and the target
    exposure for the next open at each instrument's decision bar (one
    decision-log row per instrument), and a markdown summary."""
    stages = StageSettings(
        features=FeatureSettings.from_params(features),
        charts=ChartSettings.from_params(charts),
        router=RouterSettings.from_params(router_sft),
        experts=ExpertSettings.from_params(experts),
        backtest=BacktestSettings.from_params(backtest),
    )
    decisions = latest_decisions(
        ohlcv,
        instruments,
        split,
        feature_normaliser,
        router_model,
        router_model_config,
        expert_pools,
        rl_policy,
        rl_policy_config,
        InferenceSettings.from_params(params),
        stages,
    )
    return decisions, inference_markdown(decisions)
