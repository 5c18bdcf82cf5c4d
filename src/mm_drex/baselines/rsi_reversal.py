"""RSI reversal: buy when the RSI falls below ``lower`` (oversold), sell short
when it rises above ``upper`` (overbought); an open position is closed when
the RSI crosses back through ``exit_level``. Window, levels and mode are
chosen on validation by after-cost Sharpe."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mm_drex.baselines.rules import GridRuleBaseline
from mm_drex.experts.kernels import hysteresis
from mm_drex.features.indicators import rsi


class RsiReversal(GridRuleBaseline):
    """Oversold / overbought fade on Wilder's RSI with an exit level."""

    name = "rsi_reversal"
    default_grid = {
        "window": [2, 7, 14, 21],
        "lower": [20.0, 30.0],
        "upper": [70.0, 80.0],
        "exit_level": [50.0],
    }

    def valid(self, params: Mapping[str, Any]) -> bool:
        return params["lower"] < params["exit_level"] < params["upper"]

    def signal(
        self, bars: pd.DataFrame, param_sets: list[dict[str, Any]]
    ) -> np.ndarray:
        close = bars["close"].to_numpy(dtype=np.float64)
        out = np.zeros((len(close), len(param_sets)))
        values = {}
        for column, p in enumerate(param_sets):
            window = int(p["window"])
            if window not in values:
                values[window] = rsi(close, window)
            value, exit_level = values[window], float(p["exit_level"])
            out[:, column] = hysteresis(
                value < float(p["lower"]),
                value >= exit_level,
                value > float(p["upper"]),
                value <= exit_level,
            )
        return out
