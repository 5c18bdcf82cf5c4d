"""Experts nodes: thin wrappers over :mod:`mm_drex.experts`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from mm_drex.experts.history import InstrumentHistory, build_histories, pooling_groups
from mm_drex.experts.pools import expert_exposure_table
from mm_drex.experts.report import expert_report_markdown, expert_test_performance
from mm_drex.experts.search import SearchConfig, build_expert_pools
from mm_drex.experts.soft_targets import expert_soft_targets


def _histories(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    regimes: pd.DataFrame,
    params: Mapping[str, Any],
    markets: Mapping[str, Sequence[str]],
) -> list[InstrumentHistory]:
    groups = pooling_groups(instruments, markets, params["pool_by"])
    return build_histories(ohlcv, instruments, split, regimes, groups)


def search_pools(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    regimes: pd.DataFrame,
    params: Mapping[str, Any],
    markets: Mapping[str, Sequence[str]],
) -> dict[str, Any]:
    """Search every (expert, regime, market) pool on train, audit it on val.

    Returns the ``expert_pools`` catalog (versioned JSON): configuration,
    template schemas, scopes and every pool with its members' parameters and
    scores.
    """
    histories = _histories(ohlcv, instruments, split, regimes, params, markets)
    return build_expert_pools(
        histories, SearchConfig.from_params(params), experts=params["experts"]
    )


def expert_exposures(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    regimes: pd.DataFrame,
    expert_pools: dict[str, Any],
    params: Mapping[str, Any],
    markets: Mapping[str, Sequence[str]],
) -> pd.DataFrame:
    """Each expert's exposure per (instrument, bar): its pools mixed by audit score."""
    histories = _histories(ohlcv, instruments, split, regimes, params, markets)
    return expert_exposure_table(
        histories,
        expert_pools,
        temperature=float(params["pooling"]["temperature"]),
        experts=params["experts"],
    )


def soft_targets(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    regimes: pd.DataFrame,
    expert_exposures: pd.DataFrame,
    params: Mapping[str, Any],
    markets: Mapping[str, Sequence[str]],
    horizon: int,
) -> pd.DataFrame:
    """Router soft targets over the experts from their forward after-cost utility
    over the label horizon (train and val bars with a complete label)."""
    histories = _histories(ohlcv, instruments, split, regimes, params, markets)
    return expert_soft_targets(
        histories,
        expert_exposures,
        horizon=int(horizon),
        risk_aversion=float(params["risk_aversion"]),
        temperature=float(params["soft_targets"]["temperature"]),
        experts=params["experts"],
    )


def expert_report(
    expert_exposures: pd.DataFrame,
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    regimes: pd.DataFrame,
    expert_pools: dict[str, Any],
    backtest_params: Mapping[str, Any],
) -> tuple[pd.DataFrame, str]:
    """Each expert alone on test per market and regime, as a table and markdown."""
    regime_names = list(expert_pools["regimes"])
    performance = expert_test_performance(
        expert_exposures,
        ohlcv,
        instruments,
        split,
        regimes,
        backtest_params,
        regime_names,
    )
    return performance, expert_report_markdown(performance, expert_pools, regime_names)
