"""Gather the long-term temporal feature sequence of a decision point.

The router reads the last ``L`` rows of the normalised ``features`` table up to
and including bar ``t`` of an instrument. This module turns (instrument, t)
pairs into a dense ``(N, L, F)`` float32 array without any per-sample loop.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from mm_drex.features.temporal import FEATURE_COLUMNS


class FeatureSequences:
    """Index over a normalised ``features`` table for sequence look-ups.

    Args:
        features: the ``features`` table (instrument, timestamp, t, segment,
            feature columns), rows of one instrument contiguous and in time order.
        columns: feature columns to gather (default: all of ``FEATURE_COLUMNS``).
    """

    def __init__(
        self, features: pd.DataFrame, columns: Sequence[str] | None = None
    ) -> None:
        self.columns = list(columns or FEATURE_COLUMNS)
        self._values = features[self.columns].to_numpy(dtype=np.float32)
        instruments = features["instrument"].to_numpy()
        self._start: dict[str, int] = {}
        self._length: dict[str, int] = {}
        for instrument in pd.unique(instruments):
            rows = np.flatnonzero(instruments == instrument)
            if not np.array_equal(features["t"].to_numpy()[rows], np.arange(len(rows))):
                raise ValueError(
                    f"features of '{instrument}' are not contiguous bars 0..n-1"
                )
            self._start[instrument] = int(rows[0])
            self._length[instrument] = len(rows)

    def gather(
        self,
        instruments: Sequence[str],
        t: Sequence[int],
        length: int,
        fill: float = 0.0,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Rows ``t-length+1..t`` for each (instrument, t).

        Returns ``(values, mask)``: values ``(N, length, F)`` float32 with NaN
        (warm-up, missing volume) and the bars before the first one replaced by
        ``fill`` (0 = the train median after normalisation); mask ``(N, length)``
        True where the bar exists.
        """
        t = np.asarray(t, dtype=np.int64)
        instruments = np.asarray(instruments, dtype=object)
        start = np.empty(len(t), dtype=np.int64)
        for instrument in pd.unique(instruments):
            if instrument not in self._start:
                raise KeyError(f"no features for instrument '{instrument}'")
            rows = instruments == instrument
            if np.any(t[rows] >= self._length[instrument]) or np.any(t[rows] < 0):
                bad = t[rows][(t[rows] >= self._length[instrument]) | (t[rows] < 0)][0]
                raise IndexError(f"instrument '{instrument}' has no bar t={bad}")
            start[rows] = self._start[instrument]
        offsets = np.arange(length, dtype=np.int64) - (length - 1)
        position = t[:, None] + offsets[None, :]
        mask = position >= 0
        values = self._values[start[:, None] + np.where(mask, position, 0)]
        values[~mask] = fill
        return np.where(np.isnan(values), np.float32(fill), values), mask
