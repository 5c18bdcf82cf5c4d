"""Audit nodes: thin wrappers over :mod:`mm_drex.audit` and MM-DREX's reports
in :mod:`mm_drex.reporting`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd
from matplotlib.figure import Figure

from mm_drex.audit import audit_trail, decision_log
from mm_drex.backtest.settings import BacktestSettings
from mm_drex.reporting.attribution import attribution_report
from mm_drex.reporting.mmdrex import mmdrex_report
from mm_drex.reporting.settings import ReportingSettings
from mm_drex.rl.settings import RLSettings
from mm_drex.strategy.mmdrex import STRATEGY

Params = Mapping[str, Any]


def mmdrex_decision_log(
    rl_panel: pd.DataFrame,
    mmdrex_routing: pd.DataFrame,
    backtest_positions: pd.DataFrame,
    params: Mapping[str, Any],
) -> pd.DataFrame:
    """The decision log of MM-DREX (seed ``expert_rl.decision_log.seed``) on
    the evaluated segment: what each decision saw, its routing, and how the
    backtest engine executed it."""
    seed = RLSettings.from_params(params).decision_log.seed
    return decision_log(rl_panel, mmdrex_routing, backtest_positions, STRATEGY, seed)


def trail(
    mmdrex_decision_log: pd.DataFrame, chart_index: pd.DataFrame, ohlcv: pd.DataFrame
) -> pd.DataFrame:
    """The decision log joined with the chart index and the prices."""
    return audit_trail(mmdrex_decision_log, chart_index, ohlcv)


def attribution(
    mmdrex_decision_log: pd.DataFrame, params: Mapping[str, Any]
) -> tuple[pd.DataFrame, str, Figure]:
    """Per-expert attribution of the lead strategy's return and drawdown."""
    settings = ReportingSettings.from_params(params)
    return attribution_report(
        mmdrex_decision_log, settings.lead_strategy, settings.figure_dpi
    )


def mmdrex_comparison(
    metrics: pd.DataFrame,
    positions: pd.DataFrame,
    regimes: pd.DataFrame,
    instruments: pd.DataFrame,
    rl_policy_comparison: pd.DataFrame,
    rl_selection: pd.DataFrame,
    mmdrex_ablation_choices: pd.DataFrame,
    rl_policy_config: dict[str, Any],
    rl: Params,
    backtest: Params,
) -> tuple[pd.DataFrame, str]:
    """MM-DREX against its ablations and the benchmark: table and report."""
    return mmdrex_report(
        metrics,
        positions,
        regimes,
        instruments,
        rl_policy_comparison,
        rl_selection,
        mmdrex_ablation_choices,
        rl_policy_config,
        RLSettings.from_params(rl),
        BacktestSettings.from_params(backtest),
    )
