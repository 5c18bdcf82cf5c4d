"""expert_rl nodes: thin wrappers over :mod:`mm_drex.rl` and :mod:`mm_drex.strategy`.

Training reads the train segment (episodes) and the validation segment
(penalty weights, checkpoints, learned ablations); the test segment is only
traded, by the backtest stage.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import torch

from mm_drex.backtest.settings import BacktestSettings
from mm_drex.experts.settings import ExpertSettings
from mm_drex.rl.evaluation import stage_policy_comparison
from mm_drex.rl.panel import stage_panel
from mm_drex.rl.settings import RLSettings
from mm_drex.rl.training import fit_policies
from mm_drex.router.ablations import NO_CHART, ablation_weights
from mm_drex.strategy.mmdrex import mmdrex_exposures
from mm_drex.strategy.oracle import stage_diagnostics

Params = Mapping[str, Any]
Tensors = dict[str, torch.Tensor]


def build_rl_panel(
    router_weights: pd.DataFrame,
    router_states: pd.DataFrame,
    router_ablation_predictions: pd.DataFrame,
    expert_exposures: pd.DataFrame,
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    chart_index: pd.DataFrame,
    regimes: pd.DataFrame,
    expert_pools: dict[str, Any],
    experts_params: Params,
    backtest: Params,
) -> pd.DataFrame:
    """One row per decision point: router state, regime probabilities, SFT
    weights (and the no-chart router's), experts' exposures and pools,
    returns, chart hash (``rl_panel``)."""
    return stage_panel(
        router_weights,
        router_states,
        expert_exposures,
        ohlcv,
        instruments,
        split,
        chart_index,
        regimes,
        expert_pools,
        ExpertSettings.from_params(experts_params),
        BacktestSettings.from_params(backtest).markets,
        ablation_weights(router_ablation_predictions, NO_CHART),
    )


def train_rl_policies(
    rl_panel: pd.DataFrame, instruments: pd.DataFrame, params: Params, backtest: Params
) -> tuple[Tensors, dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """PPO per seed; penalty weights and checkpoints chosen on val.

    Returns the policies' tensors, the JSON config that rebuilds them, the
    training log and the penalty-grid selection table.
    """
    return fit_policies(
        rl_panel,
        instruments,
        RLSettings.from_params(params),
        BacktestSettings.from_params(backtest),
    )


def compare_policies(
    rl_panel: pd.DataFrame,
    instruments: pd.DataFrame,
    rl_policy: Tensors,
    rl_policy_config: dict[str, Any],
    params: Params,
    backtest: Params,
) -> pd.DataFrame:
    """Reward of the trained policy vs a random policy vs the SFT-only router
    on ``comparison.segment`` (train by default)."""
    return stage_policy_comparison(
        rl_panel,
        instruments,
        rl_policy,
        rl_policy_config,
        RLSettings.from_params(params),
        BacktestSettings.from_params(backtest),
    )


def strategy_exposures(
    rl_panel: pd.DataFrame,
    instruments: pd.DataFrame,
    rl_policy: Tensors,
    rl_policy_config: dict[str, Any],
    params: Params,
    backtest: Params,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """MM-DREX (every seed) and its ablations: ``mmdrex_exposures`` (the
    backtest's input), ``mmdrex_routing`` (weights, experts' exposures, pools)
    and what the learned ablations chose."""
    return mmdrex_exposures(
        rl_panel,
        instruments,
        rl_policy,
        rl_policy_config,
        RLSettings.from_params(params),
        BacktestSettings.from_params(backtest),
    )


def routing_diagnostics(
    rl_panel: pd.DataFrame,
    instruments: pd.DataFrame,
    mmdrex_routing: pd.DataFrame,
    router_model: Tensors,
    params: Params,
    backtest: Params,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """The oracle bounds of routing beside the router and uniform weights,
    the captured shares, and the router's weights by predicted regime."""
    return stage_diagnostics(
        rl_panel,
        instruments,
        mmdrex_routing,
        router_model,
        RLSettings.from_params(params).diagnostics,
        BacktestSettings.from_params(backtest),
    )
