"""walk_forward nodes: thin wrappers over :mod:`mm_drex.walk_forward` (what a
fold reads, the record of all folds), :mod:`mm_drex.backtest.folds` and
:mod:`mm_drex.reporting.walk_forward`.

Shared (computed once): ingestion, the raw features and text view, the charts,
the frozen text and image trunks. Per fold (namespace ``fold_<year>``): the
split of its instruments, its bars cut after its test window, and every stage
that learns or chooses, then the backtest of its test window.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import torch

from mm_drex.backtest import BacktestSettings
from mm_drex.backtest.folds import chain_positions
from mm_drex.baselines import BASELINES
from mm_drex.data.settings import WalkForwardSettings
from mm_drex.reporting.routing import (
    comparisons_markdown,
    perception_markdown,
    routing_comparisons,
)
from mm_drex.reporting.sensitivity import (
    cost_sensitivity_markdown,
    fold_cost_sensitivity,
)
from mm_drex.reporting.settings import ReportingSettings
from mm_drex.reporting.walk_forward import (
    fold_plan_markdown,
    fold_table,
    fold_table_markdown,
    summary_markdown,
)
from mm_drex.router.data import chart_texts
from mm_drex.walk_forward import inputs, record

Params = Mapping[str, Any]
REFITTED_STAGES = inputs.REFITTED_STAGES


def shared_texts(chart_index: pd.DataFrame, text_view: pd.DataFrame) -> pd.DataFrame:
    """The distinct text views of every charted bar, embedded once for all folds."""
    return chart_texts(chart_index, text_view)


def fold_inputs(
    folds: pd.DataFrame,
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    features_raw: pd.DataFrame,
    chart_index: pd.DataFrame,
    *,
    fold: str,
) -> tuple[pd.DataFrame, ...]:
    """The fold's split, and its instruments' bars, raw features and charted
    decision points up to the end of its test window, with its segments."""
    return inputs.fold_inputs(
        folds, fold, ohlcv, instruments, features_raw, chart_index
    )


def fold_parameters(
    experts: Params,
    baselines: Params,
    router_sft: Params,
    expert_rl: Params,
    walk_forward: Params,
    *,
    fold: str,
) -> tuple[dict[str, Any], ...]:
    """The refitted stages' parameters in this fold (the stage's own,
    overridden by ``ingestion.walk_forward.stage_overrides``)."""
    overrides = WalkForwardSettings.from_params(walk_forward).stage_overrides
    stages = (experts, baselines, router_sft, expert_rl)
    return inputs.fold_parameters(stages, overrides, fold)


def fold_chart_trunk(
    chart_index: pd.DataFrame,
    split: pd.DataFrame,
    chart_trunk: Mapping[str, torch.Tensor],
) -> dict[str, torch.Tensor]:
    """The shared image-trunk features of the fold's decision points."""
    return inputs.fold_chart_trunk(chart_index, split, chart_trunk)


def fold_text_embeddings(
    router_texts: pd.DataFrame,
    shared_router_texts: pd.DataFrame,
    shared_text_embeddings: Mapping[str, torch.Tensor],
) -> dict[str, torch.Tensor]:
    """The shared text embeddings of the fold's distinct text views."""
    return inputs.fold_text_embeddings(
        router_texts, shared_router_texts, shared_text_embeddings
    )


# ---- all folds ------------------------------------------------------------------


def oos_positions(*positions: pd.DataFrame, folds: list[str]) -> pd.DataFrame:
    """Every fold's test-window positions chained into one record."""
    record.per_fold(positions, folds)
    return chain_positions(list(positions))


def stacked(*tables: pd.DataFrame, folds: list[str]) -> pd.DataFrame:
    """The folds' tables of one kind in one, with a ``fold`` column first."""
    return record.stack(tables, folds)


def stack_test_regimes(*regimes: pd.DataFrame, folds: list[str]) -> pd.DataFrame:
    """Every fold's regime labels of its test window, stacked (what an
    explanation of a walk-forward decision shows beside it)."""
    return record.stack_test_rows(regimes, folds)


def per_fold_table(
    oos_metrics: pd.DataFrame, *fold_metrics: pd.DataFrame, folds: list[str]
) -> pd.DataFrame:
    """The per-fold table (:func:`mm_drex.reporting.walk_forward.fold_table`)."""
    record.per_fold(fold_metrics, folds)
    return fold_table(dict(zip(folds, fold_metrics, strict=True)), oos_metrics)


def per_fold_markdown(
    table: pd.DataFrame, plan: pd.DataFrame, params: Params, *, folds: list[str]
) -> str:
    """The fold plan and the per-fold table in markdown."""
    lead = ReportingSettings.from_params(params).lead_strategy
    summary = summary_markdown(table, lead, "buy_hold", list(BASELINES), folds)
    plan_md = fold_plan_markdown(plan)
    per_fold = fold_table_markdown(table, (lead, "buy_hold"), folds)
    return summary + "\n" + plan_md + "\n" + per_fold


def oos_costs(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    backtest: Params,
    params: Params,
    *tables: pd.DataFrame,
    folds: list[str],
) -> tuple[pd.DataFrame, str]:
    """Cost sensitivity of the walk-forward record (every fold's exposures
    re-executed on its own test window at each cost, chained)."""
    settings = BacktestSettings.from_params(backtest)
    table = fold_cost_sensitivity(
        record.fold_runs(tables, folds),
        ohlcv,
        instruments,
        settings.markets,
        ReportingSettings.from_params(params).cost_sensitivity_bps,
        segment=settings.segment,
        limits=settings.limits,
    )
    return table, cost_sensitivity_markdown(table)


def oos_routing_diagnostics(
    instruments: pd.DataFrame, *tables: pd.DataFrame, folds: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str]:
    """The oracle bounds and captured shares per fold and over all folds."""
    return record.routing_record(tables, folds, instruments)


def oos_routing_comparisons(
    market_returns: pd.DataFrame,
    metrics: pd.DataFrame,
    backtest: Params,
    params: Params,
) -> tuple[pd.DataFrame, str]:
    """The routing claims (routing vs uniform, static, val-best expert; RL vs
    SFT-only; chart vs no chart) with block-bootstrap intervals."""
    settings = ReportingSettings.from_params(params)
    bootstrap = settings.significance_bootstrap(BacktestSettings.from_params(backtest))
    table = routing_comparisons(market_returns, metrics, bootstrap)
    return table, comparisons_markdown(table)


def oos_perception(router_evaluation: pd.DataFrame) -> str:
    """Regime macro-F1 of the router per fold against the persistence rule
    and the no-chart router."""
    return perception_markdown(router_evaluation)


def walk_forward_report(
    per_fold: str,
    main_table: str,
    routing: str,
    oracle: str,
    perception: str,
    significance: str,
    deflated: str,
    costs: str,
    params: Params,
    *,
    folds: list[str],
) -> str:
    """The walk-forward report: every number from test windows no choice saw."""
    lead = ReportingSettings.from_params(params).lead_strategy
    sections = (
        per_fold,
        main_table,
        routing,
        oracle,
        perception,
        significance,
        deflated,
        costs,
    )
    return record.walk_forward_report(sections, folds, lead, len(BASELINES))
