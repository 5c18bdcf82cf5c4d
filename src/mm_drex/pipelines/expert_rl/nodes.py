"""expert_rl nodes: thin wrappers over :mod:`mm_drex.rl` and :mod:`mm_drex.strategy`.

Training reads the train segment (episodes) and the validation segment
(penalty weights, checkpoints, learned ablations); the test segment is only
traded and reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from mm_drex.backtest import (
    ExposureLimits,
    compute_metrics,
    market_returns,
    run_backtest,
)
from mm_drex.features.temporal import FeatureSpec, feature_columns
from mm_drex.rl.evaluation import policy_comparison
from mm_drex.rl.no_chart import WEIGHT_COLUMNS, exported_weights, train_no_chart_router
from mm_drex.rl.panel import PanelArrays, build_panel, pool_priors
from mm_drex.rl.training import (
    RLSettings,
    load_policies,
    policy_artifacts,
    train_policies,
)
from mm_drex.strategy.decision_log import decision_log
from mm_drex.strategy.mmdrex import (
    STRATEGY,
    exposure_table,
    routing_table,
    strategy_paths,
)
from mm_drex.strategy.report import comparison_table, report_markdown

Params = Mapping[str, Any]
BENCHMARK = "buy_hold"


def _limits(backtest: Params) -> ExposureLimits:
    return ExposureLimits.from_params(backtest.get("limits"))


def _costs(backtest: Params) -> Mapping[str, float] | None:
    return (backtest.get("costs") or {}).get("override_bps")


def _arrays(
    rl_panel: pd.DataFrame, instruments: pd.DataFrame, backtest: Params
) -> PanelArrays:
    return PanelArrays.from_panel(
        rl_panel, instruments, _limits(backtest), _costs(backtest)
    )


def no_chart_router_weights(
    router_ablation_predictions: pd.DataFrame,
    router_decision_points: pd.DataFrame,
    router_texts: pd.DataFrame,
    router_temporal: np.ndarray,
    router_text_embeddings: dict[str, torch.Tensor],
    feature_params: Params,
    router_params: Params,
    params: Params,
) -> pd.DataFrame:
    """Weights of the router trained without the chart view on val and test:
    the router stage's export if it has one, else the same router trained
    here (:mod:`mm_drex.rl.no_chart`); empty when the ablation is not asked for."""
    exported = exported_weights(router_ablation_predictions)
    if exported is not None:
        return exported
    if "no_chart" not in ((params.get("strategy") or {}).get("ablations") or []):
        return pd.DataFrame(columns=WEIGHT_COLUMNS)
    weights = train_no_chart_router(
        router_decision_points,
        router_texts,
        router_temporal,
        router_text_embeddings["embeddings"].numpy(),
        feature_columns(FeatureSpec.from_params(feature_params)),
        router_params,
        num_threads=int(params.get("num_threads", 1)),
    )
    return weights


def build_rl_panel(
    router_weights: pd.DataFrame,
    router_states: pd.DataFrame,
    no_chart_weights: pd.DataFrame,
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
    weights, experts' exposures and pools, returns, chart hash (``rl_panel``)."""
    markets = backtest["markets"]
    priors = pool_priors(
        expert_pools,
        instruments,
        markets,
        experts_params["pool_by"],
        float(experts_params["pooling"]["temperature"]),
    )
    return build_panel(
        router_weights,
        router_states,
        expert_exposures,
        ohlcv,
        instruments,
        split,
        chart_index,
        regimes,
        priors,
        markets,
        extra_weights={"no_chart": no_chart_weights} if len(no_chart_weights) else None,
    )


def train_rl_policies(
    rl_panel: pd.DataFrame, instruments: pd.DataFrame, params: Params, backtest: Params
) -> tuple[dict[str, torch.Tensor], dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """PPO per seed; penalty weights and checkpoints chosen on val.

    Returns the policies' tensors, the JSON config that rebuilds them, the
    training log and the penalty-grid selection table.
    """
    settings = RLSettings.from_params(params)
    panel = _arrays(rl_panel, instruments, backtest)
    result = train_policies(panel, settings, _limits(backtest))
    tensors, config = policy_artifacts(result, settings, panel.z.shape[1])
    return tensors, config, result.log, result.selection


def strategy_exposures(
    rl_panel: pd.DataFrame,
    instruments: pd.DataFrame,
    rl_policy: dict[str, torch.Tensor],
    rl_policy_config: dict[str, Any],
    params: Params,
    backtest: Params,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """MM-DREX (every seed) and its ablations: ``mmdrex_exposures`` (the
    engine's input), ``mmdrex_routing`` (weights, experts' exposures, pools)
    and what the learned ablations chose."""
    torch.set_num_threads(int(params.get("num_threads", 1)))
    panel = _arrays(rl_panel, instruments, backtest)
    policies = load_policies(rl_policy, rl_policy_config)
    strategy = dict(params["strategy"])
    if (
        "no_chart" in (strategy.get("ablations") or [])
        and "no_chart" not in panel.extra_weights
    ):
        strategy["ablations"] = [a for a in strategy["ablations"] if a != "no_chart"]
    paths, choices = strategy_paths(panel, policies, _limits(backtest), strategy)
    return exposure_table(rl_panel, paths), routing_table(rl_panel, paths), choices


def mmdrex_positions(
    mmdrex_exposures: pd.DataFrame,
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    backtest: Params,
) -> pd.DataFrame:
    """Every strategy and buy & hold executed by the backtest engine on the
    evaluated segment (``params:backtest.segment``)."""
    first_seed = int(mmdrex_exposures["seed"].min())
    keys = mmdrex_exposures.drop_duplicates(["instrument", "timestamp"])
    benchmark = keys[["instrument", "timestamp"]].assign(
        strategy=BENCHMARK, seed=np.int64(first_seed), target_exposure=1.0
    )
    exposures = pd.concat([mmdrex_exposures, benchmark], ignore_index=True)
    return run_backtest(
        exposures,
        ohlcv,
        instruments,
        split,
        segment=backtest["segment"],
        limits=_limits(backtest),
        cost_override_bps=_costs(backtest),
    )


def mmdrex_markets(
    positions: pd.DataFrame, instruments: pd.DataFrame, backtest: Params
) -> pd.DataFrame:
    """Equal-weight market portfolios of the sleeves."""
    return market_returns(positions, instruments, backtest["markets"])


def mmdrex_metrics(
    positions: pd.DataFrame,
    market_table: pd.DataFrame,
    instruments: pd.DataFrame,
    backtest: Params,
) -> pd.DataFrame:
    """Metrics per instrument, market and equal-market average (per seed)."""
    return compute_metrics(
        positions, market_table, instruments, backtest["markets"], backtest["bootstrap"]
    )


def mmdrex_decision_log(
    rl_panel: pd.DataFrame,
    mmdrex_routing: pd.DataFrame,
    positions: pd.DataFrame,
    params: Params,
) -> pd.DataFrame:
    """The audit trail of MM-DREX (``decision_log.seed``) on the evaluated segment."""
    return decision_log(
        rl_panel,
        mmdrex_routing,
        positions,
        STRATEGY,
        int(params["decision_log"]["seed"]),
    )


def compare_policies(
    rl_panel: pd.DataFrame,
    instruments: pd.DataFrame,
    rl_policy: dict[str, torch.Tensor],
    rl_policy_config: dict[str, Any],
    params: Params,
    backtest: Params,
) -> pd.DataFrame:
    """Reward of the trained policy vs a random policy vs the SFT-only router
    on ``comparison.segment`` (train by default)."""
    torch.set_num_threads(int(params.get("num_threads", 1)))
    settings = dict(params.get("comparison") or {})
    return policy_comparison(
        _arrays(rl_panel, instruments, backtest),
        load_policies(rl_policy, rl_policy_config),
        _limits(backtest),
        str(settings.get("segment", "train")),
        int(settings.get("random_seed", 0)),
    )


def mmdrex_report(
    metrics: pd.DataFrame,
    positions: pd.DataFrame,
    regimes: pd.DataFrame,
    instruments: pd.DataFrame,
    comparison: pd.DataFrame,
    selection: pd.DataFrame,
    choices: pd.DataFrame,
    rl_policy_config: dict[str, Any],
    params: Params,
    backtest: Params,
) -> tuple[pd.DataFrame, str]:
    """The comparison table (parquet) and the stage report (markdown)."""
    table = comparison_table(
        metrics, positions, regimes, instruments, backtest["markets"]
    )
    costs = _costs(backtest)
    limits = _limits(backtest)
    notes = []
    ablations = (params.get("strategy") or {}).get("ablations") or []
    if (
        "no_chart" in ablations
        and not (positions["strategy"] == "mm_drex_no_chart").any()
    ):
        notes.append(
            "**No-chart ablation not run**: no weights of a router trained without the "
            "chart view (`rl_no_chart_weights` is empty)."
        )
    context = {
        "segment": backtest["segment"],
        "cost": f"instruments' cost_bps{f', overrides {dict(costs)}' if costs else ''}",
        "limits": f"|exposure| <= {limits.max_abs_exposure}, gross leverage {limits.gross_leverage}, "
        f"turnover cap {limits.max_turnover_per_bar}, shorts {limits.short_refusal}",
        "notes": notes,
    }
    return table, report_markdown(
        table, comparison, selection, choices, rl_policy_config, context
    )
