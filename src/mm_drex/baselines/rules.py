"""Rule baselines chosen from a parameter grid on the validation segment.

A rule baseline is a causal signal of the bars with a few parameters. Its
``fit`` evaluates every parameter set of the grid (x every allowed trading
mode) in one vectorised pass through the engine on the ``val`` segment (after
costs, next-open execution, the run's limits) and keeps the best Sharpe;
``target_exposure`` recomputes the chosen rule on whatever bars it is given.
A subclass declares its ``default_grid`` and a vectorised ``signal``.

Modes: ``long_short`` keeps the signal's sign; ``long_flat`` cuts shorts to
flat. ``long_short`` is dropped where the instrument does not allow shorts.
"""

from __future__ import annotations

import itertools
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from mm_drex.baselines.base import (
    SHARED_PARAMETERS,
    Baseline,
    InstrumentContext,
    best_active,
    segment_activity,
    segment_sharpe,
)

MODES = ("long_flat", "long_short")


def parameter_sets(grid: Mapping[str, Sequence[Any] | Any]) -> list[dict[str, Any]]:
    """Cartesian product of a grid ``{name: values}`` (a scalar is one value)."""
    names = list(grid)
    values = [v if isinstance(v, list | tuple) else [v] for v in grid.values()]
    return [
        dict(zip(names, combo, strict=True)) for combo in itertools.product(*values)
    ]


def allowed_modes(modes: Sequence[str] | str, allow_short: bool) -> list[str]:
    """The configured modes that the instrument allows (``long_flat`` at least)."""
    modes = [modes] if isinstance(modes, str) else list(modes)
    unknown = sorted(set(modes) - set(MODES))
    if unknown or not modes:
        raise ValueError(
            f"baseline modes must be a non-empty subset of {MODES}, got {modes}"
        )
    kept = [m for m in modes if allow_short or m == "long_flat"]
    return kept or ["long_flat"]


def apply_mode(direction: np.ndarray, mode: str) -> np.ndarray:
    """Signal in ``[-1, 1]`` -> exposure of the mode (shorts cut in ``long_flat``)."""
    direction = np.nan_to_num(np.clip(direction, -1.0, 1.0), nan=0.0)
    return np.maximum(direction, 0.0) if mode == "long_flat" else direction


def best_on_segment(
    candidates: np.ndarray,
    bars: pd.DataFrame,
    segment: np.ndarray,
    context: InstrumentContext,
    evaluated: str = "val",
) -> tuple[int, np.ndarray]:
    """Index of the candidate column with the best after-cost Sharpe on a segment.

    Candidates exposed on fewer than ``context.min_activity`` of the segment's
    bars rank after the active ones (:func:`best_active`); a flat candidate (NaN
    Sharpe) ranks below every traded one; ties go to the first column, so the
    grid order is the tie-break.
    """
    scores = segment_sharpe(candidates, bars, segment, context, evaluated)
    activity = segment_activity(candidates, segment, evaluated)
    return best_active(scores, activity, context.min_activity), scores


class GridRuleBaseline(Baseline):
    """A rule with a parameter grid, selected on validation (module docstring).

    Parameters (``params``): every key of ``default_grid`` (a list is searched,
    a scalar fixed), ``modes`` (list of :data:`MODES`), ``selection_segment``.
    """

    default_grid: ClassVar[dict[str, list[Any]]]
    default_modes: ClassVar[tuple[str, ...]] = MODES

    @abstractmethod
    def signal(
        self, bars: pd.DataFrame, param_sets: list[dict[str, Any]]
    ) -> np.ndarray:
        """``(T, P)`` signals in ``[-1, 1]`` (long-short form), causal, 0 in warm-up."""

    def valid(self, params: Mapping[str, Any]) -> bool:
        """Whether a grid point is meaningful (e.g. fast < slow)."""
        return True

    def grid(self) -> list[dict[str, Any]]:
        unknown = sorted(
            set(self.params)
            - set(self.default_grid)
            - {"modes", "selection_segment", *SHARED_PARAMETERS}
        )
        if unknown:
            raise ValueError(
                f"baseline {self.name}: unknown parameter(s) {unknown}; known: "
                f"{sorted(self.default_grid)} + modes, selection_segment"
            )
        merged = {k: self.params.get(k, v) for k, v in self.default_grid.items()}
        sets = [p for p in parameter_sets(merged) if self.valid(p)]
        if not sets:
            raise ValueError(
                f"baseline {self.name}: the grid {merged} has no valid point"
            )
        return sets

    def fit(
        self, bars: pd.DataFrame, segment: np.ndarray, context: InstrumentContext
    ) -> Self:
        super().fit(bars, segment, context)
        sets = self.grid()
        modes = allowed_modes(
            self.params.get("modes", list(self.default_modes)), context.allow_short
        )
        signals = self.signal(bars, sets)
        candidates = np.concatenate(
            [apply_mode(signals, mode) for mode in modes], axis=1
        )
        best, scores = best_on_segment(
            candidates,
            bars,
            segment,
            context,
            self.params.get("selection_segment", "val"),
        )
        self.chosen_ = dict(sets[best % len(sets)])
        self.mode_ = modes[best // len(sets)]
        self.score_ = float(scores[best])
        self.trial_scores_ = scores
        return self

    def target_exposure(self, bars: pd.DataFrame) -> np.ndarray:
        return apply_mode(self.signal(bars, [self.chosen_]), self.mode_)[:, 0]

    def selected_params(self) -> dict[str, Any]:
        return {**self.chosen_, "mode": self.mode_}

    def selection_score(self) -> float:
        return self.score_


def previous(values: np.ndarray) -> np.ndarray:
    """``values[t-1]`` at ``t`` (NaN at the first bar): a channel of the bars
    *before* ``t``, so that bar ``t`` is compared with them."""
    out = np.full(len(values), np.nan)
    out[1:] = values[:-1]
    return out
