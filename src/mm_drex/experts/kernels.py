"""Compiled path-dependent rules of the sub-strategies: risk rules, hysteresis.

Everything here runs on one instrument, vectorised over ``P`` parameter sets
(arrays of shape ``(T, P)``), in numba. The timing rule is the project's: the
exposure decided at the close of bar ``t`` is held from the open of ``t+1``.
So during bar ``t`` the sleeve holds ``e[t-2]`` over the overnight gap
(close ``t-1`` -> open ``t``), trades to ``e[t-1]`` at the open and holds it
to the close. A rule that needs the sleeve's own NAV (drawdown control) marks
it with :func:`bar_net_return`, the first-order form of the backtest engine's
accounting (:mod:`mm_drex.backtest.engine`, which also lets the holding drift
within the bar and solves the cost exactly)::

    r[t] = (1 + e[t-2] * gap[t]) * (1 - cost_rate * |e[t-1] - e[t-2]|)
           * (1 + e[t-1] * intraday[t]) - 1

with ``gap[t] = simple_returns(close[t-1], open[t])`` and ``intraday[t] =
simple_returns(open[t], close[t])`` (:mod:`mm_drex.data.prices`; a NaN return,
e.g. at the first bar, counts as 0). Scores of the search, the audit and the
reports come from the engine itself (:mod:`mm_drex.experts.evaluation`).
"""

from __future__ import annotations

import numba
import numpy as np

from mm_drex.data.prices import simple_returns


def return_pieces(
    open_: np.ndarray, close: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``gap``, ``intraday`` and close-to-close returns of one instrument.

    All three come from :func:`mm_drex.data.prices.simple_returns`; NaN (no
    previous bar, non-finite price) becomes 0 so the kernels need no checks.
    """
    open_ = np.asarray(open_, dtype=np.float64)
    close = np.asarray(close, dtype=np.float64)
    gap = np.zeros(len(close))
    close_change = np.zeros(len(close))
    if len(close) > 1:
        gap[1:] = simple_returns(close[:-1], open_[1:])
        close_change[1:] = simple_returns(close[:-1], close[1:])
    intraday = simple_returns(open_, close)
    return (
        np.nan_to_num(gap, nan=0.0),
        np.nan_to_num(intraday, nan=0.0),
        np.nan_to_num(close_change, nan=0.0),
    )


@numba.njit(cache=True, inline="always")
def bar_net_return(
    held_overnight: float,
    held_intraday: float,
    gap: float,
    intraday: float,
    cost_rate: float,
) -> float:
    """Net return of bar ``t``: hold ``e[t-2]`` over the gap, trade to
    ``e[t-1]`` at the open (paying the cost), hold it to the close."""
    traded = abs(held_intraday - held_overnight)
    return (1.0 + held_overnight * gap) * (1.0 - cost_rate * traded) * (
        1.0 + held_intraday * intraday
    ) - 1.0


@numba.njit(cache=True, inline="always")
def _sign(x: float) -> float:
    if x > 0.0:
        return 1.0
    if x < 0.0:
        return -1.0
    return 0.0


@numba.njit(cache=True)
def apply_risk_rules(
    target: np.ndarray,
    gap: np.ndarray,
    intraday: np.ndarray,
    close_change: np.ndarray,
    cost_rate: float,
    allow_short: bool,
    stop_loss: np.ndarray,
    trailing_stop: np.ndarray,
    rebalance_band: np.ndarray,
    drawdown_window: np.ndarray,
    max_drawdown: np.ndarray,
    drawdown_floor: np.ndarray,
    max_exposure: np.ndarray,
    max_turnover: np.ndarray,
) -> np.ndarray:
    """Exposures ``(T, P)`` after the risk rules, decided at each close.

    ``target`` ``(T, P)`` is the position rule's output; every rule parameter
    has one value per parameter set (``P``). Off values: ``stop_loss`` and
    ``trailing_stop`` = ``inf``, ``rebalance_band`` = 0, ``drawdown_window``
    = 0. Per bar ``t`` and set ``p``, in this order:

    1. the open trade (direction ``d = sign(e[t-1])``) is marked to the close:
       its value is ``1 + d * intraday[t]`` on its fill bar (filled at the open
       of ``t``), then compounds ``1 + d * close_change``; it is floored at 0.
       The sleeve's NAV compounds :func:`bar_net_return`.
    2. stop-loss (value <= 1 - stop_loss) or trailing stop (value <= best
       value * (1 - trailing_stop)) closes it; the direction ``d`` stays
       blocked until the target leaves it (goes flat or flips), so a stop is
       not re-entered on the same signal;
    3. shorts are cut to flat where the instrument may not be shorted;
    4. drawdown control: ``dd`` = 1 - NAV / max(NAV over the last
       ``drawdown_window`` bars); the target is scaled by
       ``clip(1 - dd / max_drawdown, drawdown_floor, 1)``;
    5. clip to ``[-max_exposure, max_exposure]``;
    6. rebalance band: a same-direction resize smaller than the band keeps
       the previous exposure (entries, exits and flips always go through);
    7. turnover bound: ``|e[t] - e[t-1]| <= max_turnover``.
    """
    n_bars, n_sets = target.shape
    out = np.zeros((n_bars, n_sets))
    nav_path = np.zeros(n_bars)
    for p in range(n_sets):
        before_last = 0.0
        last = 0.0
        trade_value = 1.0
        trade_best = 1.0
        blocked = 0.0
        nav = 1.0
        window = drawdown_window[p]
        for t in range(n_bars):
            # 1. mark the open trade and the sleeve to this close
            nav *= 1.0 + bar_net_return(
                before_last, last, gap[t], intraday[t], cost_rate
            )
            if nav < 0.0:
                nav = 0.0
            direction = _sign(last)
            if direction != 0.0:
                if _sign(before_last) != direction:
                    trade_value = 1.0 + direction * intraday[t]
                    trade_best = 1.0
                else:
                    trade_value *= 1.0 + direction * close_change[t]
                if trade_value < 0.0:
                    trade_value = 0.0
                if trade_value > trade_best:
                    trade_best = trade_value
            wanted = target[t, p]
            # 2. stops, and no re-entry on the signal that was stopped out
            if direction != 0.0 and (
                trade_value <= 1.0 - stop_loss[p]
                or trade_value <= trade_best * (1.0 - trailing_stop[p])
            ):
                blocked = direction
            if blocked != 0.0:
                if _sign(wanted) == blocked:
                    wanted = 0.0
                else:
                    blocked = 0.0
            # 3. short-sale limit
            if not allow_short and wanted < 0.0:
                wanted = 0.0
            # 4. drawdown control on the sleeve's own NAV
            if window > 0:
                nav_path[t] = nav
                peak = nav
                for s in range(max(0, t - window + 1), t):
                    if nav_path[s] > peak:
                        peak = nav_path[s]
                drawdown = 1.0 - nav / peak if peak > 0.0 else 1.0
                scale = 1.0 - drawdown / max_drawdown[p]
                if scale < drawdown_floor[p]:
                    scale = drawdown_floor[p]
                if scale > 1.0:
                    scale = 1.0
                wanted *= scale
            # 5. exposure cap
            cap = max_exposure[p]
            if wanted > cap:
                wanted = cap
            elif wanted < -cap:
                wanted = -cap
            # 6. rebalance band
            if (
                wanted != 0.0
                and _sign(wanted) == _sign(last)
                and abs(wanted - last) < rebalance_band[p]
            ):
                wanted = last
            # 7. turnover bound
            bound = max_turnover[p]
            exposure = wanted
            if wanted - last > bound:
                exposure = last + bound
            elif wanted - last < -bound:
                exposure = last - bound
            out[t, p] = exposure
            before_last = last
            last = exposure
    return out


@numba.njit(cache=True)
def hysteresis(
    enter_long: np.ndarray,
    exit_long: np.ndarray,
    enter_short: np.ndarray,
    exit_short: np.ndarray,
) -> np.ndarray:
    """Direction (+1 / 0 / -1) of an entry/exit rule tree, bar by bar.

    An entry signal always wins (a long entry at a short flips it); otherwise
    an open long closes on ``exit_long`` and an open short on ``exit_short``.
    Starts flat. Inputs are boolean arrays of one instrument.
    """
    n_bars = enter_long.shape[0]
    out = np.zeros(n_bars)
    state = 0.0
    for t in range(n_bars):
        if enter_long[t]:
            state = 1.0
        elif enter_short[t]:
            state = -1.0
        elif state > 0.0 and exit_long[t]:
            state = 0.0
        elif state < 0.0 and exit_short[t]:
            state = 0.0
        out[t] = state
    return out
