"""Gradient-boosted trees on the temporal features predicting next-bar direction.

scikit-learn's ``HistGradientBoostingClassifier`` on the normalised causal
features at ``t`` (the feature stage's columns, train-only statistics), label
``next return > 0``. Fitted on the pool's train rows; the number of boosting
rounds is the one with the lowest log-loss on the pool's val rows (the model
is then refitted with exactly that many rounds: boosting is deterministic, so
its trees are the first rounds of the long fit). The decision band and mode
are chosen per instrument on val (:mod:`mm_drex.baselines.learned`).
Default pool: each instrument alone.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from mm_drex.baselines.base import InstrumentContext
from mm_drex.baselines.data import InstrumentData
from mm_drex.baselines.learned import (
    choose_decision_rule,
    features_of,
    prepare_instrument,
    probability_exposure,
)
from mm_drex.baselines.pooled import PooledBaseline, limited_threads

EPSILON = 1e-7


def _log_loss(p_up: np.ndarray, up: np.ndarray) -> float:
    p = np.clip(p_up, EPSILON, 1 - EPSILON)
    return float(-np.mean(up * np.log(p) + (1 - up) * np.log(1 - p)))


class GradientBoosting(PooledBaseline):
    """Next-bar direction classifier with boosted trees (module docstring).

    Parameters: ``max_iter``, ``learning_rate``, ``max_leaf_nodes``,
    ``min_samples_leaf``, ``l2_regularization``, ``min_history``, ``bands``,
    ``modes``, ``pooling``, ``features`` / ``feature_clip``.
    """

    name = "gradient_boosting"
    default_pooling = "instrument"

    def _model(self, max_iter: int) -> HistGradientBoostingClassifier:
        return HistGradientBoostingClassifier(
            max_iter=max_iter,
            learning_rate=float(self.params.get("learning_rate", 0.05)),
            max_leaf_nodes=int(self.params.get("max_leaf_nodes", 15)),
            min_samples_leaf=int(self.params.get("min_samples_leaf", 50)),
            l2_regularization=float(self.params.get("l2_regularization", 1.0)),
            early_stopping=False,
            random_state=self.seed,
        )

    def _fit_pool(self, histories: list[InstrumentData]) -> Self:
        with limited_threads(self.params.get("num_threads")):
            return self._fit_trees(histories)

    def _fit_trees(self, histories: list[InstrumentData]) -> Self:
        min_history = int(self.params.get("min_history", 100))
        prepared = [prepare_instrument(h, self.params) for h in histories]
        self.scalers_ = {p.data.instrument: p.scaler for p in prepared}

        def stacked(segment: str) -> tuple[np.ndarray, np.ndarray]:
            rows = [p.rows(segment, min_history) for p in prepared]
            x = np.concatenate(
                [p.features[r] for p, r in zip(prepared, rows, strict=True)]
            )
            y = np.concatenate([p.up[r] for p, r in zip(prepared, rows, strict=True)])
            return x, y

        x_train, y_train = stacked("train")
        x_val, y_val = stacked("val")
        if len(np.unique(y_train)) < 2 or len(y_val) == 0:
            raise ValueError(
                f"baseline {self.name}: pool {[h.instrument for h in histories]} has "
                f"{len(y_train)} train / {len(y_val)} val labelled rows; both classes "
                "and val rows are needed"
            )
        model = self._model(int(self.params.get("max_iter", 200))).fit(x_train, y_train)
        losses = [_log_loss(p[:, 1], y_val) for p in model.staged_predict_proba(x_val)]
        self.n_rounds_ = int(np.argmin(losses)) + 1
        self.val_loss_ = float(losses[self.n_rounds_ - 1])
        self.model_ = self._model(self.n_rounds_).fit(x_train, y_train)
        for p in prepared:
            p_up = self.model_.predict_proba(p.features)[:, 1]
            rule, score = choose_decision_rule(p_up, p.data, self.params, min_history)
            self.selected_[p.data.instrument] = rule
            self.scores_[p.data.instrument] = score
        return self

    def exposure_for(
        self, bars: pd.DataFrame, context: InstrumentContext
    ) -> np.ndarray:
        scaler = self.scalers_[context.instrument]
        features = features_of(bars, context, scaler, self.params)
        with limited_threads(self.params.get("num_threads")):
            p_up = self.model_.predict_proba(features)[:, 1]
        rule = self.selected_[context.instrument]
        return probability_exposure(
            p_up, [rule["band"]], rule["mode"], int(self.params.get("min_history", 100))
        )[:, 0]

    def shared_params(self) -> dict[str, Any]:
        return {
            **super().shared_params(),
            "n_rounds": self.n_rounds_,
            "val_log_loss": self.val_loss_,
        }
