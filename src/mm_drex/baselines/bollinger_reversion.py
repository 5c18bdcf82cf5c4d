"""Bollinger-band reversion: buy a close below the lower band, sell short a
close above the upper band, close the position when the price returns to the
middle band. Window, band width and mode are chosen on validation."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mm_drex.baselines.rules import GridRuleBaseline
from mm_drex.experts.kernels import hysteresis
from mm_drex.features.indicators import bollinger


class BollingerReversion(GridRuleBaseline):
    """Mean reversion to the middle Bollinger band."""

    name = "bollinger_reversion"
    default_grid = {"window": [10, 20, 40], "num_std": [1.5, 2.0, 2.5]}

    def signal(
        self, bars: pd.DataFrame, param_sets: list[dict[str, Any]]
    ) -> np.ndarray:
        close = bars["close"].to_numpy(dtype=np.float64)
        out = np.zeros((len(close), len(param_sets)))
        for column, p in enumerate(param_sets):
            middle, upper, lower = bollinger(
                close, int(p["window"]), float(p["num_std"])
            )
            out[:, column] = hysteresis(
                close < lower, close >= middle, close > upper, close <= middle
            )
        return out
