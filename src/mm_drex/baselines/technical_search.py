"""Technical search: Bayesian optimisation over every expert template, best on val.

The search space is the experts' twelve sub-strategy templates
(:data:`mm_drex.experts.templates.TEMPLATES`: trend, reversal, breakout and
positioning rules with their typed parameter ranges), through their public
API (``ParamRange.suggest``, ``SubStrategyTemplate.target_exposures``).

For ONE instrument:

1. **Fit on train**: per template, a seeded optuna TPE study of ``n_trials``
   trials maximises the after-cost Sharpe of the template's exposures on the
   ``train`` segment, through the backtest engine (next-open execution, the
   run's costs and limits). Exposures are computed causally on the full
   history; only train bars are scored.
2. **Select on val**: the ``val_candidates`` best distinct trials of every
   study are scored on the ``val`` segment; the best one is the baseline.

Unlike the experts' pools (per regime, robustness-audited, mixed by the
router), this is the classic "search the technical rule space and keep the
validation winner" baseline of the paper's tables.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any, Self

import numpy as np
import optuna
import pandas as pd

from mm_drex.baselines.base import Baseline, InstrumentContext, segment_sharpe
from mm_drex.baselines.rules import best_on_segment
from mm_drex.experts.schema import Bars, RiskLimits, SubStrategyTemplate
from mm_drex.experts.templates import TEMPLATES

# Score of a candidate that never trades (NaN Sharpe): below any traded one.
FLAT_SCORE = -10.0


def template_bars(bars: pd.DataFrame, context: InstrumentContext) -> Bars:
    """The experts' :class:`Bars` view of one instrument's ohlcv rows."""
    return Bars(
        instrument=context.instrument,
        open=bars["open"].to_numpy(dtype=np.float64),
        high=bars["high"].to_numpy(dtype=np.float64),
        low=bars["low"].to_numpy(dtype=np.float64),
        close=bars["close"].to_numpy(dtype=np.float64),
        volume=bars["volume"].to_numpy(dtype=np.float64),
        periods_per_year=context.periods_per_year,
        allow_short=context.allow_short,
        cost_bps=context.cost_bps,
    )


def template_exposures(
    template: SubStrategyTemplate,
    bars: Bars,
    param_sets: list[dict[str, Any]],
    limits: RiskLimits,
) -> np.ndarray:
    """``(T, P)`` exposures of a template; shorts cut where not allowed."""
    exposure = template.target_exposures(bars, param_sets, limits)
    return exposure if bars.allow_short else np.maximum(exposure, 0.0)


def _study_seed(seed: int, instrument: str, template: str) -> int:
    return zlib.crc32(f"{seed}/{instrument}/{template}".encode()) % (2**31)


class TechnicalSearch(Baseline):
    """Best-on-val template found by per-template TPE on train (module docstring).

    Parameters: ``templates`` (names, default all), ``n_trials``,
    ``n_startup_trials``, ``val_candidates``, ``risk_limits``
    (``max_exposure``, ``max_turnover``), ``objective_segment`` (train),
    ``selection_segment`` (val). The seed seeds every study.
    """

    name = "technical_search"

    def _templates(self) -> list[SubStrategyTemplate]:
        names = self.params.get("templates") or list(TEMPLATES)
        unknown = sorted(set(names) - set(TEMPLATES))
        if unknown:
            raise ValueError(
                f"baseline technical_search: unknown template(s) {unknown}; "
                f"known: {sorted(TEMPLATES)}"
            )
        return [TEMPLATES[n] for n in names]

    def _limits(self) -> RiskLimits:
        limits: Mapping[str, Any] = self.params.get("risk_limits") or {}
        return RiskLimits(
            max_exposure=float(limits.get("max_exposure", 1.0)),
            max_turnover=float(limits.get("max_turnover", 1.0)),
        )

    def _study(
        self,
        template: SubStrategyTemplate,
        expert_bars: Bars,
        bars: pd.DataFrame,
        segment: np.ndarray,
        context: InstrumentContext,
    ) -> list[dict[str, Any]]:
        """Run one template's study; its best distinct parameter sets, best first."""
        limits = self._limits()
        objective_segment = self.params.get("objective_segment", "train")
        n_trials = int(self.params.get("n_trials", 24))
        sampler = optuna.samplers.TPESampler(
            seed=_study_seed(self.seed, context.instrument, template.name),
            n_startup_trials=int(self.params.get("n_startup_trials", 8)),
        )
        study = optuna.create_study(direction="maximize", sampler=sampler)

        def objective(trial: optuna.Trial) -> float:
            params = {p.name: p.suggest(trial) for p in template.params}
            exposure = template_exposures(template, expert_bars, [params], limits)
            score = segment_sharpe(exposure, bars, segment, context, objective_segment)[
                0
            ]
            return float(score) if np.isfinite(score) else FLAT_SCORE

        study.optimize(objective, n_trials=n_trials)
        trials = sorted(
            (t for t in study.trials if t.value is not None),
            key=lambda t: (-t.value, t.number),
        )
        best, seen = [], set()
        for trial in trials:
            params = template.validate_params(
                {p.name: trial.params[p.name] for p in template.params}
            )
            key = tuple(sorted(params.items()))
            if key not in seen:
                seen.add(key)
                best.append(params)
            if len(best) >= int(self.params.get("val_candidates", 2)):
                break
        return best

    def fit(
        self, bars: pd.DataFrame, segment: np.ndarray, context: InstrumentContext
    ) -> Self:
        super().fit(bars, segment, context)
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        expert_bars = template_bars(bars, context)
        limits = self._limits()
        candidates, labels = [], []
        for template in self._templates():
            chosen = self._study(template, expert_bars, bars, segment, context)
            candidates.append(template_exposures(template, expert_bars, chosen, limits))
            labels += [(template.name, params) for params in chosen]
        best, scores = best_on_segment(
            np.concatenate(candidates, axis=1),
            bars,
            segment,
            context,
            self.params.get("selection_segment", "val"),
        )
        self.template_, self.chosen_ = labels[best]
        self.score_ = float(scores[best])
        self.trial_scores_ = scores
        return self

    def target_exposure(self, bars: pd.DataFrame) -> np.ndarray:
        return template_exposures(
            TEMPLATES[self.template_],
            template_bars(bars, self.context),
            [self.chosen_],
            self._limits(),
        )[:, 0]

    def selected_params(self) -> dict[str, Any]:
        return {"template": self.template_, **self.chosen_}

    def selection_score(self) -> float:
        return self.score_
