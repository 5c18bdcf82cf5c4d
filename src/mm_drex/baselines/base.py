"""The one interface every baseline implements.

A baseline is a small estimator (scikit-learn style) for ONE instrument:

- ``Baseline(params, seed)`` — its parameters (from
  ``baselines.strategies.<name>``) and a seed for anything random;
- ``fit(bars, segment, context)`` — learn / select on the bars labelled
  ``train`` (and ``val`` for model selection); returns ``self``;
- ``target_exposure(bars)`` — one exposure in ``[-1, 1]`` per bar, decided at
  that bar's close from bars ``<= t`` only. It is computed on the full history
  and the backtest keeps the evaluated segment, so indicators are warm at the
  segment start.

Adding a baseline = one module with a subclass + one line in
:mod:`mm_drex.baselines.registry`. Baselines fitted on several instruments at
once subclass :class:`mm_drex.baselines.pooled.PooledBaseline`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from mm_drex.backtest.engine import simulate
from mm_drex.backtest.metrics import sharpe_ratio
from mm_drex.backtest.projection import ExposureLimits

# Stage-wide parameters every baseline receives unless its own entry sets them
# (torch threads; the feature stage's windows and clip); a baseline that has
# no use for them ignores them.
SHARED_PARAMETERS = ("num_threads", "features", "feature_clip")


@dataclass(frozen=True)
class InstrumentContext:
    """What a baseline may know about the instrument it trades.

    ``resources`` holds run-level inputs beyond the bars that some baselines
    read (by name, declared in their ``required_resources``), e.g.
    ``tower_embeddings`` for the LLMoE-style router.
    """

    instrument: str
    asset_class: str
    periods_per_year: int
    cost_bps: float
    allow_short: bool
    limits: ExposureLimits = field(default_factory=ExposureLimits)
    # a candidate exposed on fewer than this share of the selection segment's
    # bars is chosen only when no candidate is active enough (as the experts)
    min_activity: float = 0.0
    resources: Mapping[str, Any] = field(
        default_factory=dict, compare=False, repr=False
    )


class Baseline(ABC):
    """Base class of the baselines (see the module docstring)."""

    name: ClassVar[str]
    # A deterministic baseline runs once (first seed); a stochastic one per seed.
    deterministic: ClassVar[bool] = True
    # Names of the context resources it needs (the pipeline provides them).
    required_resources: ClassVar[tuple[str, ...]] = ()

    def __init__(self, params: Mapping[str, Any] | None = None, seed: int = 42):
        self.params = dict(params or {})
        self.seed = int(seed)
        self.context: InstrumentContext | None = None

    def fit(
        self, bars: pd.DataFrame, segment: np.ndarray, context: InstrumentContext
    ) -> Self:
        """Learn from the ``train`` bars (select on ``val``); default: nothing."""
        self.context = context
        return self

    @abstractmethod
    def target_exposure(self, bars: pd.DataFrame) -> np.ndarray:
        """``(len(bars),)`` exposures, each decided at its bar's close."""

    def selected_params(self) -> dict[str, Any]:
        """The parameters chosen by ``fit`` (for the audit trail)."""
        return {}

    def selection_score(self) -> float:
        """The validation score that chose them (NaN when nothing was chosen)."""
        return float("nan")

    def selection_trials(self) -> tuple[int, float]:
        """How many candidates the val selection compared and the standard
        deviation of their (annualised) val Sharpes, for the deflated Sharpe
        ratio; ``(1, nan)`` when nothing was chosen. A baseline that chose
        sets ``trial_scores_`` in ``fit``."""
        scores = np.asarray(getattr(self, "trial_scores_", []), dtype=float)
        finite = scores[np.isfinite(scores)]
        if len(scores) < 2:
            return 1, float("nan")
        return len(scores), float(np.std(finite, ddof=1)) if len(finite) > 1 else 0.0


def segment_sharpe(
    target_exposure: np.ndarray,
    bars: pd.DataFrame,
    segment: np.ndarray,
    context: InstrumentContext,
    evaluated: str = "val",
) -> np.ndarray:
    """After-cost Sharpe of candidate exposures on one segment, through the engine.

    Args:
        target_exposure: ``(len(bars), P)`` candidates on the full history.
        bars: the instrument's bars (``open``, ``close``).
        segment: per-bar segment label (``train``/``val``/``test``/``purge``).
        context: costs, shorts, limits, periods per year.
        evaluated: which segment to score on.

    Returns:
        ``(P,)`` Sharpe ratios (NaN for a flat candidate).
    """
    rows = np.flatnonzero(np.asarray(segment) == evaluated)
    if rows.size < 3:
        raise ValueError(
            f"instrument {context.instrument}: segment '{evaluated}' has "
            f"{rows.size} bar(s); at least 3 are needed to score a baseline"
        )
    rows = np.arange(rows[0], rows[-1] + 1)
    result = simulate(
        np.asarray(target_exposure, dtype=float)[rows],
        bars["open"].to_numpy()[rows],
        bars["close"].to_numpy()[rows],
        cost_bps=context.cost_bps,
        allow_short=context.allow_short,
        limits=context.limits,
    )
    return np.atleast_1d(sharpe_ratio(result.net_return[1:], context.periods_per_year))


def segment_activity(
    target_exposure: np.ndarray, segment: np.ndarray, evaluated: str = "val"
) -> np.ndarray:
    """``(P,)`` share of a segment's bars on which each candidate is exposed."""
    rows = np.flatnonzero(np.asarray(segment) == evaluated)
    exposure = np.asarray(target_exposure, dtype=float).reshape(len(segment), -1)
    if rows.size == 0:
        return np.full(exposure.shape[1], np.nan)
    return (np.nan_to_num(exposure[rows]) != 0.0).mean(axis=0)


def best_active(scores: np.ndarray, activity: np.ndarray, min_activity: float) -> int:
    """The best-scoring candidate among those active on at least
    ``min_activity`` of the selection bars (all of them when none is); a flat
    candidate (NaN score) ranks last, ties go to the first."""
    ranked = np.where(np.isnan(scores), -np.inf, np.asarray(scores, dtype=float))
    eligible = np.asarray(activity) >= min_activity
    if eligible.any():
        ranked = np.where(eligible, ranked, -np.inf)
        if np.isneginf(ranked).all():
            return int(np.flatnonzero(eligible)[0])
    return int(np.argmax(ranked))
