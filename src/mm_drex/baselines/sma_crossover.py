"""SMA crossover: long when the fast moving average of the close is above the
slow one; flat (``long_flat``) or short (``long_short``) otherwise.

The (fast, slow) pair is chosen on the validation segment by after-cost Sharpe
from the grid ``fast x slow`` (pairs with fast < slow), with indicators
computed causally on the full history.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import numpy as np
import pandas as pd

from mm_drex.baselines.base import (
    Baseline,
    InstrumentContext,
    best_active,
    segment_activity,
    segment_sharpe,
)

MODES = ("long_flat", "long_short")


def rolling_mean(values: np.ndarray, windows: Sequence[int]) -> np.ndarray:
    """``(T, len(windows))`` trailing means; NaN until a window is full.

    The mean at ``t`` uses bars ``t - w + 1 .. t`` only (causal).
    """
    values = np.asarray(values, dtype=float)
    prefix = np.concatenate([[0.0], np.cumsum(values)])
    out = np.full((len(values), len(windows)), np.nan)
    for column, window in enumerate(windows):
        if window < 1:
            raise ValueError(f"a moving-average window must be >= 1, got {window}")
        if window <= len(values):
            out[window - 1 :, column] = (prefix[window:] - prefix[:-window]) / window
    return out


def crossover_exposures(
    close: np.ndarray,
    fast: Sequence[int],
    slow: Sequence[int],
    mode: str = "long_flat",
) -> np.ndarray:
    """``(T, P)`` exposures of P crossover pairs ``(fast[p], slow[p])``.

    +1 where SMA(fast) > SMA(slow); -1 where below and ``mode`` is
    ``long_short``; 0 otherwise and during the warm-up.
    """
    if mode not in MODES:
        raise ValueError(f"sma_crossover mode must be one of {MODES}, got {mode!r}")
    windows, index = np.unique(np.concatenate([fast, slow]), return_inverse=True)
    means = rolling_mean(close, windows)
    fast_mean = means[:, index[: len(fast)]]
    slow_mean = means[:, index[len(fast) :]]
    exposure = (fast_mean > slow_mean).astype(float)
    if mode == "long_short":
        exposure -= fast_mean < slow_mean
    return exposure


def parameter_grid(fast: Sequence[int], slow: Sequence[int]) -> np.ndarray:
    """All ``(fast, slow)`` pairs with ``fast < slow``, shape ``(P, 2)``."""
    pairs = [(f, s) for f in fast for s in slow if f < s]
    if not pairs:
        raise ValueError(
            f"sma_crossover grid has no pair with fast < slow: {fast=} {slow=}"
        )
    return np.array(pairs, dtype=int)


class SmaCrossover(Baseline):
    """Moving-average crossover, pair selected on validation."""

    name = "sma_crossover"

    def fit(
        self, bars: pd.DataFrame, segment: np.ndarray, context: InstrumentContext
    ) -> Self:
        super().fit(bars, segment, context)
        grid = parameter_grid(
            self.params.get("fast", [5, 10, 20, 50]),
            self.params.get("slow", [20, 50, 100, 200]),
        )
        candidates = crossover_exposures(
            bars["close"].to_numpy(), grid[:, 0], grid[:, 1], self._mode()
        )
        evaluated = self.params.get("selection_segment", "val")
        scores = segment_sharpe(candidates, bars, segment, context, evaluated)
        best = best_active(
            scores,
            segment_activity(candidates, segment, evaluated),
            context.min_activity,
        )
        self.fast_, self.slow_ = (int(v) for v in grid[best])
        self.score_ = float(scores[best])
        self.trial_scores_ = scores
        return self

    def _mode(self) -> str:
        mode = self.params.get("mode", "long_flat")
        if mode == "long_short" and self.context and not self.context.allow_short:
            return "long_flat"
        return mode

    def target_exposure(self, bars: pd.DataFrame) -> np.ndarray:
        return crossover_exposures(
            bars["close"].to_numpy(), [self.fast_], [self.slow_], self._mode()
        )[:, 0]

    def selected_params(self) -> dict[str, Any]:
        return {"fast": self.fast_, "slow": self.slow_, "mode": self._mode()}

    def selection_score(self) -> float:
        return self.score_
