"""Projection of requested exposures onto the risk limits.

A target exposure decided at the close of bar ``t`` is projected in three steps
before it is executed at the open of bar ``t+1`` (paper-notes, v3: "projection
onto position, leverage, short-sale and turnover limits"):

1. **bounds** (position and short-sale limit): ``lower <= e <= upper`` per
   instrument, with ``upper = max_abs_exposure`` and ``lower =
   -max_abs_exposure`` where the instrument allows shorts, else ``0`` (a short
   is refused: clipped to flat, or an error in strict mode);
2. **leverage**: the sleeve's gross exposure ``|e|`` is capped at
   ``gross_leverage`` (one instrument per sleeve, so gross = ``|e|``; it binds
   when an asset bound is wider than the leverage cap);
3. **turnover**: the change from the exposure held just before the trade (the
   previous exposure after the price drift, see :mod:`mm_drex.backtest.engine`)
   is capped at ``max_turnover_per_bar``. This is the only path-dependent step,
   so it is the one loop of the engine, compiled with numba.

Each step's change is reported so that the audit trail shows which limit moved
the requested exposure and by how much.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
from numba import njit

from mm_drex.config import Settings, setting

ShortRefusal = Literal["clip", "error"]


class ShortNotAllowedError(ValueError):
    """A short target on an instrument whose ``allow_short`` is False (strict mode)."""


@dataclass(frozen=True)
class ExposureLimits(Settings):
    """The risk limits applied before execution (``params:backtest.limits``).

    Attributes:
        max_abs_exposure: per-asset bound on ``|exposure|`` (fraction of NAV).
        gross_leverage: cap on the sleeve's gross exposure; ``None`` = no cap.
        max_turnover_per_bar: cap on ``|exposure - drifted previous exposure|``
            traded at one open; ``None`` = no cap.
        short_refusal: ``"clip"`` sets a refused short to 0 and reports it in
            ``delta_bounds``; ``"error"`` raises :class:`ShortNotAllowedError`.
    """

    group: ClassVar[str] = "backtest.limits"

    max_abs_exposure: float = setting(1.0, gt=0)
    gross_leverage: float | None = setting(None, gt=0)
    max_turnover_per_bar: float | None = setting(None, gt=0)
    short_refusal: ShortRefusal = setting("clip", choices=("clip", "error"))

    @property
    def max_gross_exposure(self) -> float:
        """The largest ``|exposure|`` any sleeve can end up with."""
        if self.gross_leverage is None:
            return self.max_abs_exposure
        return min(self.max_abs_exposure, self.gross_leverage)


def exposure_bounds(
    allow_short: np.ndarray, max_abs_exposure: float
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper exposure bound per instrument, shape ``(N,)`` each."""
    allow_short = np.asarray(allow_short, dtype=bool)
    upper = np.full(allow_short.shape, float(max_abs_exposure))
    lower = np.where(allow_short, -upper, 0.0)
    return lower, upper


def project_bounds_and_leverage(
    target_exposure: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    gross_leverage: float | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1 and 2 of the projection, vectorised over all bars.

    Args:
        target_exposure: ``(T, N, P)`` requested exposures.
        lower, upper: ``(N,)`` bounds per instrument.
        gross_leverage: cap on ``|exposure|`` or ``None``.

    Returns:
        ``(after_bounds, after_leverage)``, both ``(T, N, P)``.
    """
    after_bounds = np.clip(target_exposure, lower[:, None], upper[:, None])
    if gross_leverage is None:
        return after_bounds, after_bounds
    return after_bounds, np.clip(after_bounds, -gross_leverage, gross_leverage)


@njit(cache=True)
def _drift(exposure: float, asset_return: float) -> float:
    # Same equation as engine.drifted_exposure: e(1+r)/(1+e r); 0 once wiped out.
    growth = 1.0 + exposure * asset_return
    if growth <= 0.0:
        return 0.0
    return exposure * (1.0 + asset_return) / growth


@njit(cache=True)
def _cap_turnover_kernel(
    requested: np.ndarray,
    overnight: np.ndarray,
    intraday: np.ndarray,
    max_turnover: float,
) -> np.ndarray:
    n_bars, n_sleeves = requested.shape
    executed = np.zeros_like(requested)
    for sleeve in range(n_sleeves):
        previous = 0.0
        for bar in range(1, n_bars):
            held = _drift(previous, intraday[bar - 1, sleeve])
            before_trade = _drift(held, overnight[bar, sleeve])
            change = requested[bar, sleeve] - before_trade
            if change > max_turnover:
                previous = before_trade + max_turnover
            elif change < -max_turnover:
                previous = before_trade - max_turnover
            else:
                previous = requested[bar, sleeve]
            executed[bar, sleeve] = previous
    return executed


def cap_turnover(
    requested: np.ndarray,
    overnight_return: np.ndarray,
    intraday_return: np.ndarray,
    max_turnover_per_bar: float,
) -> np.ndarray:
    """Step 3: executed exposures with ``|x_t - e_drift_t| <= max_turnover_per_bar``.

    Args:
        requested: ``(T, M)`` exposure wanted at the open of each bar (row 0 is
            the flat start and is not traded).
        overnight_return, intraday_return: ``(T, M)`` asset returns close->open
            and open->close of each bar (broadcast per sleeve).
        max_turnover_per_bar: the cap.

    Returns:
        ``(T, M)`` executed exposures (row 0 = 0).
    """
    return _cap_turnover_kernel(
        np.ascontiguousarray(requested, dtype=np.float64),
        np.ascontiguousarray(overnight_return, dtype=np.float64),
        np.ascontiguousarray(intraday_return, dtype=np.float64),
        float(max_turnover_per_bar),
    )
