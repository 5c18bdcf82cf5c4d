"""Performance metrics of return series (paper-notes, v3 "Metrics").

Every function takes simple per-bar returns, 1-D ``(n,)`` or 2-D ``(n, k)``
(one column per series, reduced along axis 0), and ``periods_per_year`` ``A``
where it annualises (252 for exchange-traded daily bars, 365 for crypto; never
252 for a 24/7 market). Conventions (cross-checked against quantstats in
``tests/backtest/test_quantstats_crosscheck.py``):

- total return ``TR = prod(1 + r) - 1``; annual return ``(1 + TR)^(A/n) - 1``;
- volatility ``sqrt(A) * std(r, ddof=1)``;
- Sharpe ``sqrt(A) * mean(r) / std(r, ddof=1)``, zero risk-free rate;
- Sortino ``sqrt(A) * mean(r) / sqrt(mean(min(r, 0)^2))`` (downside deviation
  over all n bars, target 0);
- max drawdown ``min(NAV / running max NAV) - 1`` on the NAV path that starts at
  1 before the first return (a loss on the first bar counts);
- Calmar = annual return / |max drawdown|;
- annualised turnover ``A * mean(turnover)``;
- ``q05_rolling_20``: 5th percentile (linear interpolation) of the compounded
  returns of every window of 20 consecutive bars;
- hit rate: positive bars / non-zero bars (flat bars are not bets).

A ratio whose denominator is zero is NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from mm_drex.config import Settings, setting

METRIC_NAMES = (
    "total_return",
    "annual_return",
    "annual_volatility",
    "sharpe",
    "sortino",
    "calmar",
    "max_drawdown",
    "annual_turnover",
    "q05_rolling_20",
    "hit_rate",
)


def _as_float(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=float)


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray | float:
    numerator, denominator = np.broadcast_arrays(numerator, denominator)
    out = np.full(numerator.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out[()]


def total_return(returns: np.ndarray) -> np.ndarray | float:
    """``prod(1 + r) - 1`` along axis 0."""
    return (np.prod(1.0 + _as_float(returns), axis=0) - 1.0)[()]


def annual_return(returns: np.ndarray, periods_per_year: float) -> np.ndarray | float:
    """Compound annual growth: ``(1 + TR)^(A / n) - 1``."""
    returns = _as_float(returns)
    growth = 1.0 + total_return(returns)
    return (np.power(growth, periods_per_year / returns.shape[0]) - 1.0)[()]


def annual_volatility(
    returns: np.ndarray, periods_per_year: float
) -> np.ndarray | float:
    """``sqrt(A) * std(r, ddof=1)``."""
    return (np.sqrt(periods_per_year) * np.std(_as_float(returns), axis=0, ddof=1))[()]


def sharpe_ratio(returns: np.ndarray, periods_per_year: float) -> np.ndarray | float:
    """``sqrt(A) * mean / std(ddof=1)``, zero risk-free rate; NaN if std is 0."""
    returns = _as_float(returns)
    return np.sqrt(periods_per_year) * _ratio(
        returns.mean(axis=0), returns.std(axis=0, ddof=1)
    )


def sortino_ratio(returns: np.ndarray, periods_per_year: float) -> np.ndarray | float:
    """``sqrt(A) * mean / sqrt(mean(min(r, 0)^2))``; NaN without a losing bar."""
    returns = _as_float(returns)
    downside = np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2, axis=0))
    return np.sqrt(periods_per_year) * _ratio(returns.mean(axis=0), downside)


def nav_path(returns: np.ndarray) -> np.ndarray:
    """NAV starting at 1 before the first return: ``n + 1`` rows."""
    returns = _as_float(returns)
    start = np.ones((1, *returns.shape[1:]))
    return np.concatenate([start, np.cumprod(1.0 + returns, axis=0)], axis=0)


def drawdown(nav: np.ndarray) -> np.ndarray:
    """``NAV / running max NAV - 1`` of a NAV path (same shape, <= 0)."""
    nav = _as_float(nav)
    peak = np.maximum.accumulate(nav, axis=0)
    return _ratio(nav, peak) - 1.0


def max_drawdown(returns: np.ndarray) -> np.ndarray | float:
    """Largest fall of the NAV path from its running peak (a negative number)."""
    return np.min(drawdown(nav_path(returns)), axis=0)[()]


def calmar_ratio(returns: np.ndarray, periods_per_year: float) -> np.ndarray | float:
    """Annual return / |max drawdown|; NaN without a drawdown."""
    return _ratio(
        np.asarray(annual_return(returns, periods_per_year)),
        np.abs(max_drawdown(returns)),
    )


def annual_turnover(
    turnover: np.ndarray, periods_per_year: float
) -> np.ndarray | float:
    """``A * mean(turnover)``: traded notional per year in units of NAV."""
    return (periods_per_year * np.mean(_as_float(turnover), axis=0))[()]


def rolling_return_quantile(
    returns: np.ndarray, window: int = 20, quantile: float = 0.05
) -> np.ndarray | float:
    """Quantile of the compounded returns of all ``window``-bar windows.

    NaN when the series is shorter than ``window``.
    """
    returns = _as_float(returns)
    if returns.shape[0] < window:
        return np.full(returns.shape[1:], np.nan)[()]
    windows = np.lib.stride_tricks.sliding_window_view(1.0 + returns, window, axis=0)
    compounded = np.prod(windows, axis=-1) - 1.0
    return np.quantile(compounded, quantile, axis=0)[()]


def hit_rate(returns: np.ndarray) -> np.ndarray | float:
    """Share of positive bars among bars with a non-zero return."""
    returns = _as_float(returns)
    return _ratio(
        np.sum(returns > 0, axis=0).astype(float),
        np.sum(returns != 0, axis=0).astype(float),
    )


def performance_summary(
    returns: np.ndarray,
    periods_per_year: float,
    turnover: np.ndarray | None = None,
) -> dict[str, np.ndarray | float]:
    """All metrics of :data:`METRIC_NAMES` for one or several return series.

    ``turnover`` (same shape as ``returns``) gives ``annual_turnover``; without
    it that entry is NaN.
    """
    returns = _as_float(returns)
    if returns.shape[0] < 2:
        raise ValueError(
            f"metrics need at least 2 returns, got {returns.shape[0]} bar(s)"
        )
    nan = np.full(returns.shape[1:], np.nan)[()]
    return {
        "total_return": total_return(returns),
        "annual_return": annual_return(returns, periods_per_year),
        "annual_volatility": annual_volatility(returns, periods_per_year),
        "sharpe": sharpe_ratio(returns, periods_per_year),
        "sortino": sortino_ratio(returns, periods_per_year),
        "calmar": calmar_ratio(returns, periods_per_year),
        "max_drawdown": max_drawdown(returns),
        "annual_turnover": nan
        if turnover is None
        else annual_turnover(turnover, periods_per_year),
        "q05_rolling_20": rolling_return_quantile(returns, 20, 0.05),
        "hit_rate": hit_rate(returns),
    }


# ---- moving-block bootstrap --------------------------------------------------


@dataclass(frozen=True)
class BootstrapSettings(Settings):
    """Moving-block bootstrap of the Sharpe intervals (``params:backtest.bootstrap``)."""

    group: ClassVar[str] = "backtest.bootstrap"

    n_boot: int = setting(1000, ge=1)
    block_length: int = setting(20, ge=1)
    confidence: float = setting(0.95, gt=0, lt=1)
    seed: int = 42

    def interval_args(self) -> dict[str, Any]:
        """Keyword arguments of :func:`sharpe_confidence_interval` and
        :func:`sharpe_difference_interval`."""
        return {
            "block_length": self.block_length,
            "n_boot": self.n_boot,
            "confidence": self.confidence,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class BootstrapInterval:
    """A point estimate with its bootstrap confidence interval."""

    estimate: float
    low: float
    high: float
    confidence: float
    n_boot: int
    block_length: int


# indices built at a time by the interval functions (32 MiB of int64): memory
# stays bounded however long the series and however many resamples
BOOTSTRAP_CHUNK_ELEMENTS = 1 << 22


def block_bootstrap_starts(
    n_obs: int, block_length: int, n_boot: int, seed: int
) -> np.ndarray:
    """``(n_boot, ceil(n_obs / block_length))`` int32 start bars of the blocks
    of moving-block bootstrap resamples, each uniform in
    ``[0, n_obs - block_length]`` (``block_length`` times smaller than the
    resamples' indices; :func:`block_bootstrap_indices` expands them)."""
    if not 1 <= block_length <= n_obs:
        raise ValueError(
            f"block_length must be in [1, {n_obs}] for {n_obs} returns, "
            f"got {block_length}"
        )
    rng = np.random.default_rng(seed)
    n_blocks = -(-n_obs // block_length)
    return rng.integers(
        0, n_obs - block_length + 1, size=(n_boot, n_blocks), dtype=np.int32
    )


def _expand(starts: np.ndarray, n_obs: int, block_length: int) -> np.ndarray:
    offsets = np.arange(block_length, dtype=np.int64)
    indices = (starts[:, :, None] + offsets).reshape(len(starts), -1)
    return indices[:, :n_obs]


def block_bootstrap_indices(
    n_obs: int, block_length: int, n_boot: int, seed: int
) -> np.ndarray:
    """``(n_boot, n_obs)`` row indices of moving-block bootstrap resamples.

    Each resample glues ``ceil(n_obs / block_length)`` blocks of consecutive
    bars, each starting uniformly in ``[0, n_obs - block_length]``, and is cut
    to ``n_obs`` bars (Künsch 1989). Blocks keep the short-range dependence
    (volatility clustering) that an i.i.d. bootstrap would destroy. The
    interval functions never build this array whole: they expand
    :func:`block_bootstrap_starts` a chunk of resamples at a time.
    """
    return _expand(
        block_bootstrap_starts(n_obs, block_length, n_boot, seed), n_obs, block_length
    )


def bootstrap_replicates(
    statistic: Callable[..., np.ndarray],
    series: Sequence[np.ndarray],
    block_length: int,
    n_boot: int,
    seed: int,
    chunk_elements: int = BOOTSTRAP_CHUNK_ELEMENTS,
) -> np.ndarray:
    """``statistic`` of each moving-block resample of the aligned ``series``
    (all resampled with the same blocks), ``n_boot`` values.

    ``statistic`` takes one ``(n_obs, k)`` array per series (a resample per
    column) and returns ``k`` values. At most ``chunk_elements`` indices exist
    at a time, so memory does not grow with ``n_boot × n_obs``; the replicates
    equal those of :func:`block_bootstrap_indices` whatever the chunk.
    """
    n_obs = len(series[0])
    starts = block_bootstrap_starts(n_obs, block_length, n_boot, seed)
    rows = max(1, chunk_elements // max(n_obs, 1))
    out = np.empty(n_boot, dtype=float)
    for first in range(0, n_boot, rows):
        indices = _expand(starts[first : first + rows], n_obs, block_length)
        out[first : first + len(indices)] = statistic(*(s[indices].T for s in series))
    return out


def _interval(
    estimate: float,
    replicates: np.ndarray,
    confidence: float,
    block_length: int,
) -> BootstrapInterval:
    tail = (1.0 - confidence) / 2.0
    finite = replicates[np.isfinite(replicates)]
    low, high = (
        np.quantile(finite, [tail, 1.0 - tail]) if finite.size else (np.nan, np.nan)
    )
    return BootstrapInterval(
        estimate=float(estimate),
        low=float(low),
        high=float(high),
        confidence=confidence,
        n_boot=len(replicates),
        block_length=block_length,
    )


def sharpe_confidence_interval(
    returns: np.ndarray,
    periods_per_year: float,
    block_length: int = 20,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 42,
) -> BootstrapInterval:
    """Percentile moving-block bootstrap interval for the Sharpe ratio of one series."""
    returns = _as_float(returns)
    replicates = bootstrap_replicates(
        lambda r: sharpe_ratio(r, periods_per_year),
        [returns],
        block_length,
        n_boot,
        seed,
    )
    return _interval(
        sharpe_ratio(returns, periods_per_year), replicates, confidence, block_length
    )


def sharpe_difference_interval(
    returns_a: np.ndarray,
    returns_b: np.ndarray,
    periods_per_year: float,
    block_length: int = 20,
    n_boot: int = 1000,
    confidence: float = 0.95,
    seed: int = 42,
) -> BootstrapInterval:
    """Interval for ``Sharpe(a) - Sharpe(b)`` of two series on the same bars.

    Both series are resampled with the same blocks, so their correlation is
    kept; an interval that excludes 0 is a significant difference.
    """
    returns_a, returns_b = _as_float(returns_a), _as_float(returns_b)
    if returns_a.shape != returns_b.shape:
        raise ValueError(
            f"the two return series must be aligned, got shapes {returns_a.shape} "
            f"and {returns_b.shape}"
        )
    replicates = bootstrap_replicates(
        lambda a, b: (
            sharpe_ratio(a, periods_per_year) - sharpe_ratio(b, periods_per_year)
        ),
        [returns_a, returns_b],
        block_length,
        n_boot,
        seed,
    )
    estimate = sharpe_ratio(returns_a, periods_per_year) - sharpe_ratio(
        returns_b, periods_per_year
    )
    return _interval(estimate, replicates, confidence, block_length)


# ---- seeds -------------------------------------------------------------------


def aggregate_seeds(
    metrics: pd.DataFrame,
    group_columns: Sequence[str],
    value_columns: Iterable[str] = METRIC_NAMES,
    seed_column: str = "seed",
) -> pd.DataFrame:
    """Mean and standard deviation (ddof=1) of each metric over seeds.

    Args:
        metrics: one row per seed and group.
        group_columns: what identifies a result apart from the seed (e.g.
            strategy, level, name).
        value_columns: metrics to aggregate.

    Returns:
        One row per group: ``group_columns``, ``n_seeds``, and for each metric
        ``<metric>_mean`` and ``<metric>_sd`` (NaN with a single seed).
    """
    value_columns = [c for c in value_columns if c in metrics.columns]
    grouped = metrics.groupby(list(group_columns), sort=False, dropna=False)
    mean = grouped[value_columns].mean().add_suffix("_mean")
    sd = grouped[value_columns].std(ddof=1).add_suffix("_sd")
    n_seeds = grouped[seed_column].nunique().rename("n_seeds")
    ordered = [c for m in value_columns for c in (f"{m}_mean", f"{m}_sd")]
    out = pd.concat([n_seeds, mean, sd], axis=1)[["n_seeds", *ordered]]
    return out.reset_index()
