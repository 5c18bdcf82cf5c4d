"""Shared pieces of the learned forecasters (gradient boosting, LSTM, transformer).

Each predicts the **direction of the next bar** (close ``t`` -> close ``t+1``)
from the causal features at ``t`` (or the window of them ending at ``t``):
``p_up = P(next return > 0)``. A probability becomes a target exposure by a
decision band, the same rule for every forecaster::

    exposure = +1 if p_up > 0.5 + band
               -1 if p_up < 0.5 - band and the mode is long_short
                0 otherwise

The band and the mode are chosen per instrument on the val segment by
after-cost Sharpe through the engine (the model itself is fitted on train
and, where it has epochs or boosting rounds, stopped on the val loss).
Bars before ``min_history`` are not decided (exposure 0) and not learned from:
the long features (250-bar returns, 52-week range) are still warming up.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mm_drex.baselines.data import (
    FeatureScaler,
    InstrumentData,
    feature_spec,
    next_bar_returns,
    normalised_features,
    raw_features,
)
from mm_drex.baselines.rules import allowed_modes, best_on_segment
from mm_drex.features.temporal import FeatureSpec

DEFAULT_BANDS = (0.0, 0.02, 0.05, 0.1)


@dataclass(frozen=True)
class PreparedInstrument:
    """One instrument's normalised features and next-bar labels."""

    data: InstrumentData
    scaler: FeatureScaler
    features: np.ndarray  # (T, F) float32, NaN -> 0
    next_return: np.ndarray  # (T,) NaN on the last bar

    @property
    def up(self) -> np.ndarray:
        """1.0 where the next bar closes higher, else 0.0 (NaN -> 0, masked out)."""
        return (np.nan_to_num(self.next_return, nan=0.0) > 0).astype(np.float32)

    def rows(self, segment: str, min_history: int) -> np.ndarray:
        """Bars of ``segment`` with a known label and at least ``min_history`` bars."""
        t = np.arange(len(self.next_return))
        keep = (
            (self.data.segment == segment)
            & np.isfinite(self.next_return)
            & (t >= min_history)
        )
        return np.flatnonzero(keep)


def feature_settings(params: Mapping[str, Any]) -> tuple[FeatureSpec, float]:
    """Feature windows and the normaliser's clip of a learned baseline."""
    return feature_spec(params), float(params.get("feature_clip", 5.0))


def prepare_instrument(
    history: InstrumentData, params: Mapping[str, Any]
) -> PreparedInstrument:
    """Causal features of the full history, normalised with train-only statistics."""
    spec, clip = feature_settings(params)
    context = history.context
    raw = raw_features(history.bars, context.periods_per_year, spec)
    scaler = FeatureScaler.fit(raw, history.segment, context.instrument, spec, clip)
    return PreparedInstrument(
        history,
        scaler,
        scaler.transform(raw),
        next_bar_returns(history.bars),
    )


def features_of(
    bars, context, scaler: FeatureScaler, params: Mapping[str, Any]
) -> np.ndarray:
    """Normalised features of (possibly truncated) bars with a fitted scaler."""
    spec, _ = feature_settings(params)
    return normalised_features(bars, context.periods_per_year, spec, scaler)


def probability_exposure(
    p_up: np.ndarray, bands: Sequence[float], mode: str, min_history: int = 0
) -> np.ndarray:
    """``(T, B)`` exposures of the decision band rule (module docstring)."""
    p_up = np.asarray(p_up, dtype=np.float64)[:, None]
    bands = np.asarray(bands, dtype=np.float64)[None, :]
    exposure = (p_up > 0.5 + bands).astype(float)
    if mode == "long_short":
        exposure -= p_up < 0.5 - bands
    exposure[:min_history] = 0.0
    return np.nan_to_num(exposure, nan=0.0)


def choose_decision_rule(
    p_up: np.ndarray,
    history: InstrumentData,
    params: Mapping[str, Any],
    min_history: int,
) -> tuple[dict[str, Any], float]:
    """Band and mode with the best val Sharpe for one instrument's forecasts."""
    bands = [float(b) for b in params.get("bands", DEFAULT_BANDS)]
    modes = allowed_modes(
        params.get("modes", ["long_flat", "long_short"]), history.context.allow_short
    )
    candidates = np.concatenate(
        [probability_exposure(p_up, bands, mode, min_history) for mode in modes], axis=1
    )
    best, scores = best_on_segment(
        candidates,
        history.bars,
        history.segment,
        history.context,
        params.get("selection_segment", "val"),
    )
    rule = {"band": bands[best % len(bands)], "mode": modes[best // len(bands)]}
    return rule, float(scores[best])
