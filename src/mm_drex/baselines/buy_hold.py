"""Buy & hold: fully long from the first decision on."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mm_drex.baselines.base import Baseline


class BuyHold(Baseline):
    """Exposure +1 on every bar (``params.exposure`` to scale it)."""

    name = "buy_hold"

    def target_exposure(self, bars: pd.DataFrame) -> np.ndarray:
        return np.full(len(bars), float(self.params.get("exposure", 1.0)))
