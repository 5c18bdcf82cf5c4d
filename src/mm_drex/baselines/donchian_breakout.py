"""Donchian (turtle) breakout: enter long on a close above the highest high of
the previous ``entry`` bars, short on a close below their lowest low; exit a
long on a close below the lowest low of the previous ``exit`` bars (a short
on one above their highest high). Channels and mode are chosen on validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mm_drex.baselines.rules import GridRuleBaseline, previous
from mm_drex.experts.kernels import hysteresis
from mm_drex.features.indicators import donchian


class DonchianBreakout(GridRuleBaseline):
    """The turtle system's channel breakout (System 1: 20/10, System 2: 55/20)."""

    name = "donchian_breakout"
    default_grid = {"entry": [20, 55, 100], "exit": [10, 20, 50]}

    def valid(self, params: Mapping[str, Any]) -> bool:
        return params["exit"] < params["entry"]

    def signal(
        self, bars: pd.DataFrame, param_sets: list[dict[str, Any]]
    ) -> np.ndarray:
        high = bars["high"].to_numpy(dtype=np.float64)
        low = bars["low"].to_numpy(dtype=np.float64)
        close = bars["close"].to_numpy(dtype=np.float64)
        channels = {}
        out = np.zeros((len(close), len(param_sets)))
        for column, p in enumerate(param_sets):
            for window in (int(p["entry"]), int(p["exit"])):
                if window not in channels:
                    upper, lower = donchian(high, low, window)
                    channels[window] = (previous(upper), previous(lower))
            entry_upper, entry_lower = channels[int(p["entry"])]
            exit_upper, exit_lower = channels[int(p["exit"])]
            out[:, column] = hysteresis(
                close > entry_upper,
                close < exit_lower,
                close < entry_lower,
                close > exit_upper,
            )
        return out
