"""Cross-check of the metrics against quantstats (independent implementation).

Matching settings: ``rf=0``, ``periods=A`` (252, or 365 for crypto),
``annualize=True``; quantstats' Sortino uses the downside deviation over all
bars, as ours does; its drawdown starts from a NAV of 1 before the first
return, as ours does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import quantstats as qs  # test-only dependency

from mm_drex.backtest import metrics, simulate
from mm_drex.baselines.sma_crossover import crossover_exposures

TOLERANCE = 1e-9


def _strategy_returns(bars: pd.DataFrame, exposure: np.ndarray) -> pd.Series:
    result = simulate(
        exposure[:, None], bars["open"].to_numpy(), bars["close"].to_numpy(), 10.0
    )
    return pd.Series(
        result.net_return[1:, 0], index=pd.DatetimeIndex(bars["timestamp"].iloc[1:])
    )


def _check_against_quantstats(returns: pd.Series, periods: int) -> None:
    values = returns.to_numpy()
    pairs = {
        "sharpe": (
            metrics.sharpe_ratio(values, periods),
            qs.stats.sharpe(returns, rf=0.0, periods=periods, annualize=True),
        ),
        "sortino": (
            metrics.sortino_ratio(values, periods),
            qs.stats.sortino(returns, rf=0.0, periods=periods, annualize=True),
        ),
        "volatility": (
            metrics.annual_volatility(values, periods),
            qs.stats.volatility(returns, periods=periods, annualize=True),
        ),
        "max_drawdown": (
            metrics.max_drawdown(values),
            qs.stats.max_drawdown(returns),
        ),
        "annual_return": (
            metrics.annual_return(values, periods),
            qs.stats.cagr(returns, rf=0.0, compounded=True, periods=periods),
        ),
        "calmar": (
            metrics.calmar_ratio(values, periods),
            qs.stats.calmar(returns, periods=periods),
        ),
        "total_return": (metrics.total_return(values), qs.stats.comp(returns)),
        "hit_rate": (metrics.hit_rate(values), qs.stats.win_rate(returns)),
    }
    for name, (ours, theirs) in pairs.items():
        assert abs(ours - theirs) <= TOLERANCE * max(abs(theirs), 1.0), (
            f"{name}: ours {ours!r}, quantstats {theirs!r}"
        )


def test_metrics_of_an_sp500_strategy_equal_quantstats_at_252(sp500_bars):
    exposure = crossover_exposures(sp500_bars["close"].to_numpy(), [20], [100])[:, 0]
    returns = _strategy_returns(sp500_bars, exposure)
    assert (returns == 0).sum() > 100  # flat days: hit rate ignores them
    _check_against_quantstats(returns, 252)


def test_metrics_of_a_btc_series_equal_quantstats_at_365(btc_bars):
    returns = _strategy_returns(btc_bars, np.ones(len(btc_bars)))
    _check_against_quantstats(returns, 365)
    # 252 would understate a 24/7 market's annualised Sharpe by sqrt(252/365).
    assert metrics.sharpe_ratio(returns.to_numpy(), 365) == pytest.approx(
        metrics.sharpe_ratio(returns.to_numpy(), 252) * np.sqrt(365 / 252)
    )
