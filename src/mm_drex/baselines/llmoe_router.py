"""LLMoE-style router: binary optimistic / pessimistic routing over two experts.

After LLMoE (Liu et al., 2025, "LLM-based routing in mixture of experts"): a
router reads the multimodal view of the market and classifies it as
*optimistic* or *pessimistic*; the top-1 (hard) route sends the decision to
the expert trained on that kind of market; the expert predicts the next bar's
direction and the strategy trades **all-in / all-out** (exposure 1 when the
routed expert predicts a rise, 0 otherwise). Here the language model is
replaced by the same frozen pretrained towers as our router
(:mod:`mm_drex.baselines.towers`: EfficientNet-Lite0 on the chart, MiniLM on
the text view) plus the causal temporal features at ``t``:

- **router**: an MLP on ``[chart embedding, text embedding, features]``
  (z-scored with train statistics, clipped to +/-5) giving ``P(optimistic)``,
  trained on train decision points with the label "the close ``horizon`` bars
  ahead is higher" (a short forward horizon, default 5 bars; a target, never
  an input);
  early-stopped on the val loss. Route = optimistic iff ``P > 0.5``.
- **experts**: two MLPs on the temporal features giving ``P(next bar up)``,
  each trained on the train decision points the router sends to it (all
  train points if a route receives fewer than ``min_expert_rows``) and
  early-stopped on the val points routed to it.

Pooled over the universe by default (one model per seed); runs once per seed.
The tower embeddings come from ``context.resources['tower_embeddings']``.
"""

from __future__ import annotations

from typing import Any, Self

import numpy as np
import pandas as pd
import torch
from torch import nn

from mm_drex.baselines.base import InstrumentContext, segment_sharpe
from mm_drex.baselines.data import InstrumentData, forward_returns
from mm_drex.baselines.forecasters import TrainingSettings, fit_binary_classifier
from mm_drex.baselines.learned import features_of, prepare_instrument
from mm_drex.baselines.pooled import PooledBaseline, limited_threads
from mm_drex.baselines.towers import TowerEmbeddings

RESOURCE = "tower_embeddings"
# z-scores of the router inputs: a scale floor (embedding dimensions that are
# almost constant on train) and the features stage's clip.
SCALE_FLOOR = 1e-3
CLIP = 5.0


class MlpHead(nn.Module):
    """``inputs -> hidden -> 1 logit`` with a ReLU and dropout."""

    def __init__(self, n_inputs: int, hidden: int, dropout: float) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(n_inputs, hidden),
            nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(-1)


def tower_embeddings(context: InstrumentContext) -> TowerEmbeddings:
    """The run's frozen tower embeddings, from the instrument context."""
    towers = context.resources.get(RESOURCE)
    if towers is None:
        raise ValueError(
            f"baseline llmoe_router, instrument {context.instrument}: the context has no "
            f"'{RESOURCE}' resource (the router_inputs stage's frozen caches or "
            "RenderedTowerEmbeddings)"
        )
    return towers


def _probabilities(model: nn.Module, inputs: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        return torch.sigmoid(model(torch.from_numpy(inputs))).double().numpy()


class LlmoeRouter(PooledBaseline):
    """Hard top-1 optimistic/pessimistic routing, all-in/all-out (module docstring).

    Parameters: ``horizon``, ``router_hidden``, ``expert_hidden``, ``dropout``,
    ``epochs``, ``batch_size``, ``learning_rate``, ``weight_decay``,
    ``patience``, ``max_train_samples``, ``min_expert_rows``, ``min_history``,
    ``num_threads``, ``pooling``, ``features`` / ``feature_clip``.
    """

    name = "llmoe_router"
    deterministic = False
    required_resources = (RESOURCE,)
    default_pooling = "universe"

    @property
    def min_history(self) -> int:
        # decisions need a chart; this can only delay them further
        return int(self.params.get("min_history", 0))

    def _inputs(self, bars, context, features) -> tuple[np.ndarray, np.ndarray]:
        embeddings, available = tower_embeddings(context).embed(bars, context)
        router_inputs = np.concatenate([embeddings, features], axis=1).astype(
            np.float32
        )
        available &= np.arange(len(bars)) >= self.min_history
        return router_inputs, available

    def _scaled(self, router_inputs: np.ndarray) -> np.ndarray:
        """Router inputs z-scored with train statistics, clipped like the features."""
        scaled = (router_inputs - self.input_mean_) / self.input_scale_
        return np.clip(scaled, -CLIP, CLIP).astype(np.float32)

    def _fit_pool(self, histories: list[InstrumentData]) -> Self:
        horizon = int(self.params.get("horizon", 5))
        settings = TrainingSettings.from_params(self.params)
        rng = np.random.default_rng(self.seed)
        limit = int(self.params.get("max_train_samples", 8000))
        parts: dict[str, list] = {"train": [], "val": []}
        self.scalers_ = {}
        for history in histories:
            prepared = prepare_instrument(history, self.params)
            self.scalers_[history.instrument] = prepared.scaler
            router_inputs, available = self._inputs(
                history.bars, history.context, prepared.features
            )
            optimistic = forward_returns(history.bars, horizon)
            for segment in parts:
                rows = np.flatnonzero(
                    available
                    & (history.segment == segment)
                    & np.isfinite(optimistic)
                    & np.isfinite(prepared.next_return)
                )
                parts[segment].append(
                    (
                        router_inputs[rows],
                        prepared.features[rows],
                        (optimistic[rows] > 0).astype(np.float32),
                        prepared.up[rows],
                    )
                )
        train = [np.concatenate(column) for column in zip(*parts["train"], strict=True)]
        val = [np.concatenate(column) for column in zip(*parts["val"], strict=True)]
        if len(train[0]) > limit:
            keep = np.sort(rng.choice(len(train[0]), limit, replace=False))
            train = [column[keep] for column in train]
        if len(np.unique(train[2])) < 2 or len(val[0]) == 0:
            raise ValueError(
                f"baseline {self.name}: pool {[h.instrument for h in histories]} has "
                f"{len(train[0])} train / {len(val[0])} val decision points with charts; "
                "both labels and val points are needed"
            )
        self.input_mean_ = train[0].mean(axis=0)
        self.input_scale_ = np.maximum(train[0].std(axis=0), SCALE_FLOOR)
        router_train = self._scaled(train[0])
        router_val = self._scaled(val[0])
        dropout = float(self.params.get("dropout", 0.1))
        with limited_threads(self.params.get("num_threads")):
            torch.manual_seed(self.seed)
            self.router_, self.router_epoch_, self.router_loss_ = fit_binary_classifier(
                MlpHead(
                    router_train.shape[1],
                    int(self.params.get("router_hidden", 64)),
                    dropout,
                ),
                router_train,
                train[2],
                router_val,
                val[2],
                settings,
                self.seed,
            )
            route_train = _probabilities(self.router_, router_train) > 0.5
            route_val = _probabilities(self.router_, router_val) > 0.5
            self.experts_, self.expert_rows_ = [], []
            min_rows = int(self.params.get("min_expert_rows", 200))
            for route in (False, True):  # pessimistic, optimistic
                rows = np.flatnonzero(route_train == route)
                val_rows = np.flatnonzero(route_val == route)
                if len(rows) < min_rows or len(np.unique(train[3][rows])) < 2:
                    rows = np.arange(len(route_train))
                if len(val_rows) == 0:
                    val_rows = np.arange(len(route_val))
                torch.manual_seed(self.seed + 1 + int(route))
                expert, _, _ = fit_binary_classifier(
                    MlpHead(
                        train[1].shape[1],
                        int(self.params.get("expert_hidden", 32)),
                        dropout,
                    ),
                    train[1][rows],
                    train[3][rows],
                    val[1][val_rows],
                    val[3][val_rows],
                    settings,
                    self.seed + 1 + int(route),
                )
                self.experts_.append(expert)
                self.expert_rows_.append(len(rows))
            self.optimistic_share_ = float(route_train.mean())
            for history in histories:
                exposure = self.exposure_for(history.bars, history.context)
                self.selected_[history.instrument] = {}
                self.scores_[history.instrument] = float(
                    segment_sharpe(
                        exposure[:, None],
                        history.bars,
                        history.segment,
                        history.context,
                    )[0]
                )
        return self

    def exposure_for(
        self, bars: pd.DataFrame, context: InstrumentContext
    ) -> np.ndarray:
        features = features_of(
            bars, context, self.scalers_[context.instrument], self.params
        )
        router_inputs, available = self._inputs(bars, context, features)
        exposure = np.zeros(len(bars))
        rows = np.flatnonzero(available)
        if rows.size == 0:
            return exposure
        with limited_threads(self.params.get("num_threads")):
            optimistic = (
                _probabilities(self.router_, self._scaled(router_inputs[rows])) > 0.5
            )
            p_up = np.where(
                optimistic,
                _probabilities(self.experts_[1], features[rows]),
                _probabilities(self.experts_[0], features[rows]),
            )
        exposure[rows] = (p_up > 0.5).astype(float)  # all-in / all-out
        return exposure

    def shared_params(self) -> dict[str, Any]:
        return {
            **super().shared_params(),
            "router_epoch": self.router_epoch_,
            "router_val_loss": self.router_loss_,
            "optimistic_share_train": self.optimistic_share_,
            "expert_train_rows": {
                "pessimistic": self.expert_rows_[0],
                "optimistic": self.expert_rows_[1],
            },
        }
