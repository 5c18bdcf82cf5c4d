"""The backtest engine, its risk-limit projection and the performance metrics.

One engine evaluates MM-DREX, every ablation and every baseline:

- :func:`simulate` — numpy arrays in (target exposures ``(T, P)`` or
  ``(T, N, P)``, open and close prices), per-bar positions, costs, returns and
  NAV out. Timing: decision at the close of ``t``, execution at the open of
  ``t+1``.
- :func:`run_backtest` — the same on the long ``exposures`` table, per
  instrument and segment, giving the long ``positions`` table.
- :mod:`mm_drex.backtest.metrics` — Sharpe, Sortino, drawdown, ... and the
  moving-block bootstrap.

See ``docs/backtest.md`` for the accounting formulas.
"""

from mm_drex.backtest.engine import Simulation, account, asset_returns, simulate
from mm_drex.backtest.metrics import BootstrapSettings
from mm_drex.backtest.projection import (
    ExposureLimits,
    ShortNotAllowedError,
    exposure_bounds,
)
from mm_drex.backtest.settings import BacktestSettings, CostSettings
from mm_drex.backtest.sleeves import (
    AVERAGE_NAME,
    BacktestInputError,
    collect_exposures,
    compute_metrics,
    market_of_instruments,
    market_periods_per_year,
    market_returns,
    resolve_cost_bps,
    run_backtest,
    segment_bars,
    sharpe_tests,
    sleeve_returns,
)

__all__ = [
    "AVERAGE_NAME",
    "BacktestInputError",
    "BacktestSettings",
    "BootstrapSettings",
    "CostSettings",
    "ExposureLimits",
    "ShortNotAllowedError",
    "Simulation",
    "account",
    "asset_returns",
    "collect_exposures",
    "compute_metrics",
    "exposure_bounds",
    "market_of_instruments",
    "market_periods_per_year",
    "market_returns",
    "resolve_cost_bps",
    "run_backtest",
    "segment_bars",
    "sharpe_tests",
    "simulate",
    "sleeve_returns",
]
