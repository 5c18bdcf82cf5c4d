"""inference nodes: thin wrappers over :mod:`mm_drex.strategy.inference`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import torch

from mm_drex.strategy.inference import (
    InferenceConfig,
    inference_markdown,
    latest_decisions,
)


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
    params: Mapping[str, Any],
    features: Mapping[str, Any],
    charts: Mapping[str, Any],
    router_sft: Mapping[str, Any],
    experts: Mapping[str, Any],
    backtest: Mapping[str, Any],
) -> tuple[pd.DataFrame, str]:
    """Regime probabilities, weights, experts' exposures and the target
    exposure for the next open at each instrument's decision bar (one
    decision-log row per instrument), and a markdown summary."""
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
        InferenceConfig.from_params(params),
        {
            "features": features,
            "charts": charts,
            "router_sft": router_sft,
            "experts": experts,
            "backtest": backtest,
        },
    )
    return decisions, inference_markdown(decisions)
