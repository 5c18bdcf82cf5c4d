"""How a sub-strategy is scored: after-cost sleeve returns and the audit metrics.

Exposures become returns through the backtest engine
(:func:`mm_drex.backtest.engine.simulate`), so the search, the audit, the soft
targets and the expert report score a sub-strategy exactly as the backtest
will: decision at the close, execution at the next open, cost on the traded
notional, exposure as a fraction of post-trade NAV. A decision at
the close of bar ``t`` is credited with the net return of bar ``t+1`` (the bar
in which it is executed, at the open, and first held); a ``length``-bar window
from decision ``t`` compounds bars ``t+1 .. t+length``.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from mm_drex.backtest.engine import simulate
from mm_drex.experts.schema import Bars


def net_returns(bars: Bars, exposure: np.ndarray) -> np.ndarray:
    """After-cost bar returns ``(T, P)`` of sleeves whose decisions are ``exposure``.

    ``exposure[t]`` is decided at the close of bar ``t``; row ``t`` of the
    result is the return of bar ``t`` (close ``t-1`` -> close ``t``), earned
    by the decisions at ``t-2`` (overnight) and ``t-1`` (executed at the open
    of ``t``), after the instrument's ``cost_bps``. Row 0 is 0 (flat start).
    """
    exposure = np.asarray(exposure, dtype=np.float64)
    squeeze = exposure.ndim == 1
    if squeeze:
        exposure = exposure[:, None]
    result = simulate(
        exposure,
        bars.open,
        bars.close,
        bars.cost_bps,
        bars.allow_short,
        timestamps=None,
        instruments=[bars.instrument],
    )
    out = result.net_return
    return out[:, 0] if squeeze else out


def decision_returns(returns: np.ndarray, decisions: np.ndarray) -> np.ndarray:
    """Net returns credited to the decision bars (row ``t`` -> bar ``t+1``).

    ``decisions`` is a boolean mask over bars; a decision at the last bar has
    no next bar and is dropped.
    """
    index = np.flatnonzero(decisions)
    index = index[index + 1 < len(returns)]
    return returns[index + 1]


def risk_adjusted_return(
    returns: np.ndarray, periods_per_year: float, axis: int = 0
) -> np.ndarray:
    """Annualised Sharpe ratio ``sqrt(A) * mean / std`` (ddof 1) along ``axis``.

    Flat bars count as zero returns, so a rarely active rule is not rewarded
    for a few lucky bars; 0 where there are fewer than 2 returns or no
    variation.
    """
    returns = np.asarray(returns, dtype=np.float64)
    n = returns.shape[axis]
    if n < 2:
        shape = list(returns.shape)
        del shape[axis]
        return np.zeros(shape) if shape else np.float64(0.0)
    mean = returns.mean(axis=axis)
    std = returns.std(axis=axis, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        sharpe = np.sqrt(periods_per_year) * mean / std
    return np.where(std > 1e-12, sharpe, 0.0)


def mean_variance_utility(
    returns: np.ndarray, risk_aversion: float, scale: float, axis: int = 0
) -> np.ndarray:
    """Certainty-equivalent return ``scale * (mean - risk_aversion / 2 * var)``.

    ``var`` has ddof 1; ``scale`` is ``periods_per_year`` for an annual figure
    or the horizon in bars for a figure per horizon. Unlike the Sharpe ratio it
    is not scale-invariant: halving a losing exposure halves the loss, which
    is what lets the defensive expert earn its place by holding less. 0 where
    there are fewer than 2 returns.
    """
    returns = np.asarray(returns, dtype=np.float64)
    if returns.shape[axis] < 2:
        shape = list(returns.shape)
        del shape[axis]
        return np.zeros(shape) if shape else np.float64(0.0)
    mean = returns.mean(axis=axis)
    variance = returns.var(axis=axis, ddof=1)
    return scale * (mean - 0.5 * risk_aversion * variance)


def window_returns(
    returns: np.ndarray, decisions: np.ndarray, length: int
) -> np.ndarray:
    """Compounded returns ``(n_windows, P)`` of bars ``t+1 .. t+length``.

    One window per decision bar ``t`` whose window lies inside ``returns``.
    """
    returns = np.asarray(returns, dtype=np.float64)
    squeeze = returns.ndim == 1
    if squeeze:
        returns = returns[:, None]
    index = np.flatnonzero(decisions)
    index = index[index + length < len(returns)]
    if len(index) == 0:
        out = np.zeros((0, returns.shape[1]))
    else:
        growth = sliding_window_view(1.0 + returns, length, axis=0)
        out = growth[index + 1].prod(axis=-1) - 1.0
    return out[:, 0] if squeeze else out


def decision_turnover(exposure: np.ndarray, decisions: np.ndarray) -> np.ndarray:
    """Mean ``|e[t] - e[t-1]|`` over the decision bars (one value per set)."""
    exposure = np.asarray(exposure, dtype=np.float64)
    if exposure.ndim == 1:
        exposure = exposure[:, None]
    change = np.abs(np.diff(exposure, axis=0, prepend=0.0))
    selected = change[np.asarray(decisions, dtype=bool)]
    if len(selected) == 0:
        return np.zeros(exposure.shape[1])
    return selected.mean(axis=0)
