"""MACD signal: long while the MACD line is above its signal line, short (or
flat) below it. The (fast, slow, signal) spans and the mode are chosen on
validation by after-cost Sharpe."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mm_drex.baselines.rules import GridRuleBaseline
from mm_drex.features.indicators import macd


class MacdSignal(GridRuleBaseline):
    """MACD line vs signal line crossover (Appel's rule)."""

    name = "macd_signal"
    default_grid = {"fast": [5, 8, 12], "slow": [17, 26, 35], "signal": [5, 9]}

    def valid(self, params: Mapping[str, Any]) -> bool:
        return params["fast"] < params["slow"]

    def signal(
        self, bars: pd.DataFrame, param_sets: list[dict[str, Any]]
    ) -> np.ndarray:
        close = bars["close"].to_numpy(dtype=np.float64)
        out = np.zeros((len(close), len(param_sets)))
        for column, p in enumerate(param_sets):
            line, signal_line, _ = macd(
                close, int(p["fast"]), int(p["slow"]), int(p["signal"])
            )
            out[:, column] = (line > signal_line).astype(float) - (line < signal_line)
        return out
