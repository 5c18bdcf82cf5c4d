"""Experts nodes: thin wrappers over :mod:`mm_drex.experts`.

Every node reads ``params:experts`` and the markets of ``params:backtest``
(the pools are searched per market).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from mm_drex.backtest.settings import BacktestSettings
from mm_drex.data.calendar import instrument_bars
from mm_drex.experts.cross_fit import (
    cross_fitted_exposure_table,
    cross_fitted_pools,
    with_blocks,
)
from mm_drex.experts.history import InstrumentHistory, market_histories
from mm_drex.experts.search import build_expert_pools
from mm_drex.experts.settings import ExpertSettings
from mm_drex.experts.soft_targets import expert_soft_targets
from mm_drex.regimes.labels import LabelSettings
from mm_drex.reporting.experts import experts_report

Params = Mapping[str, Any]


def _histories(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    regimes: pd.DataFrame,
    settings: ExpertSettings,
    backtest: Params,
) -> list[InstrumentHistory]:
    """The instruments as the experts see them, with their train blocks."""
    markets = BacktestSettings.from_params(backtest).markets
    histories = market_histories(
        ohlcv, instruments, split, regimes, markets, settings.pool_by
    )
    return with_blocks(histories, settings.cross_fit.blocks)


def search_pools(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    regimes: pd.DataFrame,
    params: Params,
    backtest: Params,
) -> dict[str, Any]:
    """Search every (expert, regime, market) pool on train, audit it on val.

    Returns the ``expert_pools`` catalog (versioned JSON): configuration,
    template schemas, scopes and every pool with its members' parameters and
    scores.
    """
    settings = ExpertSettings.from_params(params)
    histories = _histories(ohlcv, instruments, split, regimes, settings, backtest)
    return build_expert_pools(
        histories, settings.search_config(), experts=settings.experts
    )


def search_cross_fit_pools(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    regimes: pd.DataFrame,
    expert_pools: dict[str, Any],
    params: Params,
    backtest: Params,
) -> dict[str, Any]:
    """The pools again once per train block, each searched without that block
    (and the label horizon on either side), with the full pools' scopes."""
    settings = ExpertSettings.from_params(params)
    histories = _histories(ohlcv, instruments, split, regimes, settings, backtest)
    return cross_fitted_pools(
        histories,
        settings.search_config(cross_fit=True),
        settings.cross_fit.blocks,
        instrument_bars(
            settings.cross_fit.purge, instruments, "experts.cross_fit.purge"
        ),
        experts=settings.experts,
        catalog=expert_pools,
    )


def expert_exposures(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    regimes: pd.DataFrame,
    expert_pools: dict[str, Any],
    expert_cross_fit_pools: dict[str, Any],
    params: Params,
    backtest: Params,
) -> pd.DataFrame:
    """Each expert's exposure per (instrument, bar): its pools mixed by audit
    score; train bars from the pools fitted without their block."""
    settings = ExpertSettings.from_params(params)
    histories = _histories(ohlcv, instruments, split, regimes, settings, backtest)
    return cross_fitted_exposure_table(
        histories,
        expert_pools,
        expert_cross_fit_pools,
        settings.pooling.temperature,
        settings.experts,
    )


def soft_targets(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    regimes: pd.DataFrame,
    expert_exposures: pd.DataFrame,
    params: Params,
    backtest: Params,
    labeling: Params,
) -> pd.DataFrame:
    """Router soft targets over the experts from their forward after-cost utility
    over the label horizon (train and val bars with a complete label)."""
    settings = ExpertSettings.from_params(params)
    markets = BacktestSettings.from_params(backtest).markets
    histories = market_histories(
        ohlcv, instruments, split, regimes, markets, settings.pool_by
    )
    return expert_soft_targets(
        histories,
        expert_exposures,
        horizon=instrument_bars(
            LabelSettings.from_params(labeling).horizon, instruments, "labeling.horizon"
        ),
        risk_aversion=settings.risk_aversion,
        temperature=settings.soft_targets.temperature,
        experts=settings.experts,
    )


def expert_report(
    expert_exposures: pd.DataFrame,
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    regimes: pd.DataFrame,
    expert_pools: dict[str, Any],
    backtest: Params,
) -> tuple[pd.DataFrame, str]:
    """Each expert alone on test per market and regime, as a table and markdown."""
    return experts_report(
        expert_exposures,
        ohlcv,
        instruments,
        split,
        regimes,
        expert_pools,
        BacktestSettings.from_params(backtest),
    )
