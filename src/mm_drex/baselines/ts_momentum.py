"""Time-series momentum with volatility targeting (Moskowitz, Ooi and
Pedersen, 2012): the sign of the return over the last ``lookback`` bars,
scaled to an annualised volatility target,

    exposure_t = sign(close_t / close_{t-lookback} - 1) * min(1, target_vol / sigma_t)

with ``sigma_t`` the realised volatility of bar returns over ``vol_window``
bars annualised with the instrument's periods per year. Lookback, target,
window and mode are chosen on validation.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mm_drex.baselines.rules import GridRuleBaseline
from mm_drex.data.prices import simple_returns
from mm_drex.features.indicators import rolling_volatility


def momentum_exposure(
    close: np.ndarray,
    lookback: int,
    target_vol: float,
    vol_window: int,
    periods_per_year: int,
) -> np.ndarray:
    """Volatility-targeted momentum exposure in ``[-1, 1]`` (0 during warm-up)."""
    past = np.full(len(close), np.nan)
    past[lookback:] = close[:-lookback] if lookback else close
    direction = np.nan_to_num(np.sign(simple_returns(past, close)), nan=0.0)
    volatility = rolling_volatility(close, vol_window) * np.sqrt(periods_per_year)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.minimum(1.0, target_vol / volatility)
    return direction * np.nan_to_num(scale, nan=0.0, posinf=1.0)


class TsMomentum(GridRuleBaseline):
    """Time-series momentum sized to a volatility target."""

    name = "ts_momentum"
    default_grid = {
        "lookback": [20, 60, 120, 250],
        "target_vol": [0.10, 0.20, 0.40],
        "vol_window": [20, 60],
    }

    def signal(
        self, bars: pd.DataFrame, param_sets: list[dict[str, Any]]
    ) -> np.ndarray:
        close = bars["close"].to_numpy(dtype=np.float64)
        periods = self.context.periods_per_year if self.context else 252
        out = np.zeros((len(close), len(param_sets)))
        for column, p in enumerate(param_sets):
            out[:, column] = momentum_exposure(
                close,
                int(p["lookback"]),
                float(p["target_vol"]),
                int(p["vol_window"]),
                periods,
            )
        return out
