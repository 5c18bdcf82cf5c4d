"""The backtest engine: target exposures -> executed exposure, cost, return, NAV.

Timing (DESIGN.md, "the one timing rule"): the target exposure ``e_t`` decided
at the close of bar ``t`` is held from the **open of bar t+1**. Row ``t`` of
every output describes bar ``t``: the exposure executed at its open (decided
at ``t-1``), the trade and its cost at that open, the return from the close of
``t-1`` to the close of ``t``, and the NAV at its close. The sleeve starts flat
with NAV 1 at the close of the first bar, so row 0 carries no position and no
return; a window of ``T`` bars has ``T-1`` returns.

Accounting (exact, the convention vectorbt uses for full long/flat orders).
Asset returns come only from :func:`mm_drex.data.prices.simple_returns`:
overnight ``r_co`` (close ``t-1`` -> open ``t``) and intraday ``r_oc`` (open
-> close of ``t``). Let ``x_{t-1}`` be the exposure executed at the previous
open. Between trades the holding drifts with the price::

    h      = x_{t-1}(1 + r_oc_{t-1}) / (1 + x_{t-1} r_oc_{t-1})   held at close t-1
    e_d    = h (1 + r_co_t) / (1 + h r_co_t)                     held before the trade
    NAV_pre = NAV_{t-1} (1 + h r_co_t)

Exposure is a fraction of the **post-trade** NAV, and the cost rate
``c = cost_bps / 1e4`` is paid on the traded notional, out of the NAV::

    NAV_post = NAV_pre - c |x_t NAV_post - e_d NAV_pre|

which solves in closed form (``y = NAV_post / NAV_pre``)::

    buying  (x_t >= e_d):  y = (1 + c e_d) / (1 + c x_t)
    selling (x_t <  e_d):  y = (1 - c e_d) / (1 - c x_t)

for any signs (shorts, and trades that cross zero, pay on the whole traded
notional). ``turnover = |x_t y - e_d|`` is the traded notional over the
pre-trade NAV, and ``cost = c * turnover = 1 - y`` the NAV it took; to first
order ``cost = c |Δexposure|`` (DESIGN.md). The NAV then moves with the day::

    NAV_t = NAV_pre * y * (1 + x_t r_oc_t)
    net_return_t = NAV_t / NAV_{t-1} - 1 = (1 + h r_co_t) y (1 + x_t r_oc_t) - 1

A sleeve whose NAV reaches zero (a floored -100% return, e.g. WTI on
2020-04-20) is wiped out and stays at zero: no trade, no cost, zero return.

Every step is a closed form given ``x_{t-1}``, so the whole computation is
vectorised over (bars × instruments × parameter sets); only the turnover cap of
:mod:`mm_drex.backtest.projection` is a (compiled) loop.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields

import numpy as np

from mm_drex.backtest.projection import (
    ExposureLimits,
    ShortNotAllowedError,
    cap_turnover,
    exposure_bounds,
    project_bounds_and_leverage,
)
from mm_drex.data.prices import simple_returns

BPS = 1e-4


@dataclass(frozen=True)
class Simulation:
    """Per-bar results; every array has the shape of the target exposure.

    Attributes:
        target_exposure: the decision at the close of bar ``t`` (input).
        delta_bounds, delta_leverage, delta_turnover: the change each limit made
            to that decision (``projected = target + the three deltas``);
            ``delta_turnover`` is NaN on the last row (never executed).
        projected_exposure: the decision after the limits, executed at the open
            of bar ``t+1``; NaN on the last row.
        exposure: the exposure executed at the open of bar ``t`` (0 on row 0).
        turnover: traded notional at the open of ``t`` / pre-trade NAV.
        cost: NAV paid for that trade / pre-trade NAV (``c * turnover``).
        net_return: close ``t-1`` -> close ``t`` after cost (0 on row 0).
        nav: NAV at the close of ``t`` (1 on row 0).
    """

    target_exposure: np.ndarray
    delta_bounds: np.ndarray
    delta_leverage: np.ndarray
    delta_turnover: np.ndarray
    projected_exposure: np.ndarray
    exposure: np.ndarray
    turnover: np.ndarray
    cost: np.ndarray
    net_return: np.ndarray
    nav: np.ndarray

    def as_dict(self) -> dict[str, np.ndarray]:
        """The arrays by field name."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


def asset_returns(
    open_price: np.ndarray, close_price: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Overnight and intraday returns of each bar, shape of the prices ``(T, ...)``.

    ``overnight[t]`` = close ``t-1`` -> open ``t`` (0 on row 0, which has no
    previous close); ``intraday[t]`` = open ``t`` -> close ``t``. Both from
    :func:`simple_returns` (absolute denominators, floored at -100%).
    """
    open_price = np.asarray(open_price, dtype=float)
    close_price = np.asarray(close_price, dtype=float)
    overnight = np.zeros_like(close_price)
    overnight[1:] = simple_returns(close_price[:-1], open_price[1:])
    intraday = simple_returns(open_price, close_price)
    return overnight, intraday


def drifted_exposure(exposure: np.ndarray, asset_return: np.ndarray) -> np.ndarray:
    """Exposure after the asset moved by ``asset_return`` with no trade.

    ``e (1 + r) / (1 + e r)``; 0 where the sleeve is wiped out (``1 + e r <= 0``).
    """
    exposure, asset_return = np.broadcast_arrays(exposure, asset_return)
    growth = 1.0 + exposure * asset_return
    out = np.zeros(growth.shape)
    np.divide(exposure * (1.0 + asset_return), growth, out=out, where=growth > 0)
    return out


def _shift_down(values: np.ndarray, fill: float) -> np.ndarray:
    shifted = np.empty_like(values)
    shifted[0] = fill
    shifted[1:] = values[:-1]
    return shifted


def account(
    exposure: np.ndarray,
    overnight_return: np.ndarray,
    intraday_return: np.ndarray,
    cost_rate: np.ndarray | float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Turnover, cost, net return and NAV of executed exposures (module docstring).

    Args:
        exposure: ``(T, ...)`` exposure executed at the open of each bar
            (row 0 must be 0: the sleeve starts flat).
        overnight_return, intraday_return: asset returns broadcastable to it.
        cost_rate: ``cost_bps * 1e-4``, broadcastable to it.

    Returns:
        ``(turnover, cost, net_return, nav)``, each shaped like ``exposure``.
    """
    held = drifted_exposure(
        _shift_down(exposure, 0.0), _shift_down(intraday_return, 0.0)
    )
    overnight_growth = 1.0 + held * overnight_return
    before_trade = drifted_exposure(held, overnight_return)
    # y = NAV_post / NAV_pre = (1 + s e_d) / (1 + s x), s = +c buying, -c selling
    signed_rate = np.where(exposure >= before_trade, cost_rate, -cost_rate)
    post_trade = (1.0 + signed_rate * before_trade) / (1.0 + signed_rate * exposure)
    turnover = np.abs(exposure * post_trade - before_trade)
    intraday_growth = 1.0 + exposure * intraday_return
    alive = (overnight_growth > 0) & (intraday_growth > 0)
    growth = np.where(alive, overnight_growth * post_trade * intraday_growth, 0.0)
    nav = np.cumprod(growth, axis=0)
    alive_before = _shift_down(nav, 1.0) > 0
    net_return = np.where(alive_before, growth - 1.0, 0.0)
    turnover = np.where(alive_before & (overnight_growth > 0), turnover, 0.0)
    cost = turnover * cost_rate
    return turnover, cost, net_return, nav


def _label(values: Sequence | None, index: int, kind: str) -> str:
    if values is None:
        return f"{kind} #{index}"
    return f"{kind} {values[index]}"


def simulate(
    target_exposure: np.ndarray,
    open_price: np.ndarray,
    close_price: np.ndarray,
    cost_bps: float | np.ndarray = 10.0,
    allow_short: bool | np.ndarray = True,
    limits: ExposureLimits | None = None,
    *,
    timestamps: Sequence | None = None,
    instruments: Sequence[str] | None = None,
    sleeves: Sequence[str] | None = None,
) -> Simulation:
    """Backtest target exposures on plain numpy arrays (no pandas).

    Args:
        target_exposure: ``(T, P)`` for one instrument, or ``(T, N, P)`` for N
            instruments on one calendar; ``[t, ..., p]`` is parameter set /
            strategy ``p``'s exposure decided at the close of bar ``t``, a
            fraction of NAV in ``[-1, 1]`` (values beyond the limits are
            projected). Must be finite.
        open_price, close_price: ``(T,)`` or ``(T, N)`` bar prices.
        cost_bps: cost per unit of traded notional, scalar or ``(N,)``.
        allow_short: scalar or ``(N,)``; a short where it is False is refused.
        limits: risk limits (default: ``|exposure| <= 1``, no other cap).
        timestamps, instruments, sleeves: optional labels of the T, N and P
            axes, used only in error messages.

    Returns:
        :class:`Simulation` with arrays shaped like ``target_exposure``.

    Raises:
        ValueError: non-finite target or returns, bad shapes or costs.
        ShortNotAllowedError: a refused short with ``limits.short_refusal ==
            "error"``; the message names instrument, timestamp, sleeve, value.
    """
    limits = limits or ExposureLimits()
    target = np.asarray(target_exposure, dtype=float)
    single_instrument = target.ndim == 2
    if single_instrument:
        target = target[:, None, :]
    if target.ndim != 3:
        raise ValueError(
            f"target_exposure must be (T, P) or (T, N, P), got shape {target.shape}"
        )
    n_bars, n_instruments, _ = target.shape
    prices = []
    for name, price in (("open_price", open_price), ("close_price", close_price)):
        price = np.asarray(price, dtype=float)
        price = price[:, None] if price.ndim == 1 else price
        if price.shape != (n_bars, n_instruments):
            raise ValueError(
                f"{name} has shape {np.shape(open_price)}; expected "
                f"{(n_bars,) if single_instrument else (n_bars, n_instruments)} "
                f"for target_exposure of shape {np.shape(target_exposure)}"
            )
        prices.append(price)
    cost_rate = np.broadcast_to(
        np.asarray(cost_bps, dtype=float) * BPS, (n_instruments,)
    )
    if np.any(~np.isfinite(cost_rate)) or np.any(cost_rate < 0):
        raise ValueError(f"cost_bps must be finite and >= 0, got {cost_bps}")
    if np.any(cost_rate * limits.max_gross_exposure >= 1):
        raise ValueError(f"cost_bps {cost_bps} is 100% or more of the traded notional")
    allow_short = np.broadcast_to(np.asarray(allow_short, dtype=bool), (n_instruments,))

    bad = ~np.isfinite(target)
    if bad.any():
        t, n, p = np.argwhere(bad)[0]
        raise ValueError(
            f"{_label(instruments, n, 'instrument')}, "
            f"{_label(timestamps, t, 'timestamp')}, {_label(sleeves, p, 'sleeve')}: "
            f"target_exposure is {target[t, n, p]}; it must be finite "
            f"({int(bad.sum())} non-finite value(s))"
        )
    if limits.short_refusal == "error":
        refused = (target < 0) & ~allow_short[None, :, None]
        if refused.any():
            t, n, p = np.argwhere(refused)[0]
            raise ShortNotAllowedError(
                f"{_label(instruments, n, 'instrument')}, "
                f"{_label(timestamps, t, 'timestamp')}, "
                f"{_label(sleeves, p, 'sleeve')}: target_exposure "
                f"{target[t, n, p]} is short but the instrument does not allow "
                f"shorts ({int(refused.sum())} refused value(s))"
            )

    overnight, intraday = asset_returns(*prices)
    bad = ~(np.isfinite(overnight) & np.isfinite(intraday))
    if bad.any():
        t, n = np.argwhere(bad)[0]
        raise ValueError(
            f"{_label(instruments, n, 'instrument')}, "
            f"{_label(timestamps, t, 'timestamp')}: the bar return is not finite "
            f"(open {prices[0][t, n]}, close {prices[1][t, n]}, previous close "
            f"{prices[1][t - 1, n] if t else 'none'}): a zero or non-finite price"
        )
    overnight, intraday = overnight[:, :, None], intraday[:, :, None]

    lower, upper = exposure_bounds(allow_short, limits.max_abs_exposure)
    after_bounds, after_leverage = project_bounds_and_leverage(
        target, lower, upper, limits.gross_leverage
    )
    requested = _shift_down(after_leverage, 0.0)
    if limits.max_turnover_per_bar is None:
        executed = requested
    else:
        shape = target.shape
        flat = (n_bars, -1)
        executed = cap_turnover(
            requested.reshape(flat),
            np.broadcast_to(overnight, shape).reshape(flat),
            np.broadcast_to(intraday, shape).reshape(flat),
            limits.max_turnover_per_bar,
        ).reshape(shape)

    turnover, cost, net_return, nav = account(
        executed, overnight, intraday, cost_rate[None, :, None]
    )
    projected = np.full_like(target, np.nan)
    projected[:-1] = executed[1:]
    delta_turnover = projected - after_leverage
    result = Simulation(
        target_exposure=target,
        delta_bounds=after_bounds - target,
        delta_leverage=after_leverage - after_bounds,
        delta_turnover=delta_turnover,
        projected_exposure=projected,
        exposure=executed,
        turnover=turnover,
        cost=cost,
        net_return=net_return,
        nav=nav,
    )
    if single_instrument:
        return Simulation(**{k: v[:, 0, :] for k, v in result.as_dict().items()})
    return result
