"""Baselines nodes: thin wrappers over :mod:`mm_drex.baselines`.

The evaluation nodes (positions, market portfolios, metrics, Sharpe tests)
are the backtest stage's own (:mod:`mm_drex.pipelines.backtest.nodes`), with
the backtest's parameters: one engine, one set of costs and limits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
import torch

from mm_drex.backtest import ExposureLimits
from mm_drex.baselines import BASELINES, run_baselines
from mm_drex.baselines.llmoe_router import RESOURCE as TOWER_EMBEDDINGS
from mm_drex.baselines.towers import CachedTowerEmbeddings
from mm_drex.reporting import results_table
from mm_drex.reporting.comparison import comparison_markdown, comparison_table


def fit_baselines(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    router_decision_points: pd.DataFrame,
    router_text_embeddings: Mapping[str, torch.Tensor],
    router_chart_trunk: Mapping[str, torch.Tensor],
    params: Mapping[str, Any],
    backtest_params: Mapping[str, Any],
    feature_params: Mapping[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Fit every configured baseline (train), select it (val) and emit its
    exposures on the full history.

    The router's frozen caches become the LLMoE router's tower embeddings
    (only when a configured baseline needs them).

    Returns ``baseline_exposures``, ``baseline_selection``, ``baseline_fit_log``.
    """
    strategies = params["strategies"]
    unknown = sorted(set(strategies) - set(BASELINES))
    if unknown:
        raise ValueError(
            f"parameters baselines.strategies: unknown baseline(s) {unknown}; "
            f"registered: {list(BASELINES)}"
        )
    needed = {r for name in strategies for r in BASELINES[name].required_resources}
    resources = {}
    if TOWER_EMBEDDINGS in needed:
        resources[TOWER_EMBEDDINGS] = CachedTowerEmbeddings(
            router_decision_points,
            router_text_embeddings,
            router_chart_trunk,
            num_threads=params.get("tower_threads"),
        )
    shared = {
        "num_threads": params.get("num_threads"),
        "features": feature_params["indicators"],
        "feature_clip": feature_params["normaliser"]["clip"],
    }
    return run_baselines(
        ohlcv,
        instruments,
        split,
        strategies,
        list(params["seeds"]),
        limits=ExposureLimits.from_params(backtest_params.get("limits")),
        cost_override_bps=backtest_params.get("costs", {}).get("override_bps"),
        markets=backtest_params["markets"],
        resources=resources,
        shared=shared,
    )


def results(metrics: pd.DataFrame) -> pd.DataFrame:
    """Per-seed metrics -> mean ± sd over seeds per strategy and instrument/market."""
    return results_table(metrics)


def comparison(results: pd.DataFrame, params: Mapping[str, Any]) -> str:
    """The paper-style table of the baselines: per market and equal-market average."""
    metrics = params.get(
        "comparison_metrics", ["total_return", "sharpe", "max_drawdown"]
    )
    table = comparison_table(results, list(BASELINES), metrics)
    title = (
        "# Baselines on the test segment\n\nMean ± sd over seeds; per market "
        "(equal weight of its instruments) and the equal-market average."
    )
    return comparison_markdown(table, metrics, title=title) + "\n"
