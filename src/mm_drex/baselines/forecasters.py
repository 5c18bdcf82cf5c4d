"""Deep sequence forecasters of the next bar's direction (LSTM, transformer).

A forecaster reads the window of the last ``seq_len`` normalised feature rows
ending at bar ``t`` (rows before the first bar are zeros) and outputs the
logit of ``P(next return > 0)``. It is trained with binary cross-entropy on
the train windows of its pool (seeded subsample of at most
``max_train_samples``), Adam, for at most ``epochs`` epochs; the epoch with
the lowest val loss is kept (early stopping with ``patience``). The decision
band and mode are then chosen per instrument on val
(:mod:`mm_drex.baselines.learned`). A subclass only builds the network.

Same seed -> same weights and exposures on CPU (seeded initialisation,
sampling and shuffling; inference in fixed chunks of bars from the first one).
"""

from __future__ import annotations

import copy
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self

import numpy as np
import pandas as pd
import torch
from torch import nn

from mm_drex.baselines.base import InstrumentContext
from mm_drex.baselines.data import InstrumentData
from mm_drex.baselines.learned import (
    choose_decision_rule,
    features_of,
    prepare_instrument,
    probability_exposure,
)
from mm_drex.baselines.pooled import PooledBaseline, limited_threads

INFERENCE_CHUNK = 1024


def windows(features: np.ndarray, rows: np.ndarray, seq_len: int) -> np.ndarray:
    """``(N, seq_len, F)`` windows ending at ``rows`` (bars before 0 are zeros)."""
    offsets = np.arange(seq_len) - (seq_len - 1)
    positions = np.asarray(rows)[:, None] + offsets[None, :]
    out = features[np.clip(positions, 0, None)]
    out[positions < 0] = 0.0
    return out


@dataclass(frozen=True)
class TrainingSettings:
    """Optimisation settings shared by the small torch heads of the baselines."""

    epochs: int = 15
    batch_size: int = 256
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    patience: int = 3

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> TrainingSettings:
        return cls(
            epochs=int(params.get("epochs", cls.epochs)),
            batch_size=int(params.get("batch_size", cls.batch_size)),
            learning_rate=float(params.get("learning_rate", cls.learning_rate)),
            weight_decay=float(params.get("weight_decay", cls.weight_decay)),
            patience=int(params.get("patience", cls.patience)),
        )


def fit_binary_classifier(
    model: nn.Module,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    settings: TrainingSettings,
    seed: int,
) -> tuple[nn.Module, int, float]:
    """Train a logit model with BCE; keep the epoch with the lowest val loss.

    Returns ``(model with the best weights, best epoch (1-based), its val loss)``.
    """
    generator = torch.Generator().manual_seed(seed)
    x_train_t, y_train_t = torch.from_numpy(x_train), torch.from_numpy(y_train)
    x_val_t, y_val_t = torch.from_numpy(x_val), torch.from_numpy(y_val)
    optimiser = torch.optim.AdamW(
        model.parameters(),
        lr=settings.learning_rate,
        weight_decay=settings.weight_decay,
    )
    loss_fn = nn.BCEWithLogitsLoss()
    best_state, best_epoch, best_loss, waited = None, 0, np.inf, 0
    for epoch in range(1, settings.epochs + 1):
        model.train()
        order = torch.randperm(len(x_train_t), generator=generator)
        for start in range(0, len(order), settings.batch_size):
            batch = order[start : start + settings.batch_size]
            optimiser.zero_grad()
            loss = loss_fn(model(x_train_t[batch]), y_train_t[batch])
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimiser.step()
        model.eval()
        with torch.no_grad():
            val_loss = float(loss_fn(logits_in_chunks(model, x_val_t), y_val_t))
        if val_loss < best_loss - 1e-6:
            best_state, best_epoch, best_loss, waited = (
                copy.deepcopy(model.state_dict()),
                epoch,
                val_loss,
                0,
            )
        else:
            waited += 1
            if waited >= settings.patience:
                break
    model.load_state_dict(best_state)
    model.eval()
    return model, best_epoch, float(best_loss)


def logits_in_chunks(model: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """Model outputs in fixed chunks of :data:`INFERENCE_CHUNK` rows."""
    parts = [
        model(inputs[start : start + INFERENCE_CHUNK])
        for start in range(0, len(inputs), INFERENCE_CHUNK)
    ]
    return torch.cat(parts) if parts else torch.zeros(0)


class LstmNetwork(nn.Module):
    """LSTM over the window; the last hidden state -> one logit."""

    def __init__(
        self, n_features: int, hidden: int, layers: int, dropout: float
    ) -> None:
        super().__init__()
        self.lstm = nn.LSTM(
            n_features,
            hidden,
            num_layers=layers,
            batch_first=True,
            dropout=dropout if layers > 1 else 0.0,
        )
        self.head = nn.Linear(hidden, 1)

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        output, _ = self.lstm(window)
        return self.head(output[:, -1]).squeeze(-1)


class TransformerNetwork(nn.Module):
    """Causal transformer encoder over the window; the last position -> one logit.

    Input projection + learned position embedding, ``layers`` pre-norm encoder
    layers with a causal mask (position ``i`` attends to ``<= i``: the order
    of the window matters, as in a forecaster), a final norm and a linear head.
    """

    def __init__(
        self,
        n_features: int,
        seq_len: int,
        d_model: int,
        heads: int,
        layers: int,
        feedforward: int,
        dropout: float,
    ) -> None:
        super().__init__()
        self.project = nn.Linear(n_features, d_model)
        self.position = nn.Parameter(torch.zeros(seq_len, d_model))
        nn.init.normal_(self.position, std=0.02)
        layer = nn.TransformerEncoderLayer(
            d_model,
            heads,
            feedforward,
            dropout,
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(d_model, 1)
        self.register_buffer(
            "mask",
            nn.Transformer.generate_square_subsequent_mask(seq_len),
            persistent=False,
        )

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        x = self.project(window) + self.position
        x = self.encoder(x, mask=self.mask, is_causal=True)
        return self.head(self.norm(x[:, -1])).squeeze(-1)


class SequenceForecaster(PooledBaseline):
    """Base of the torch forecasters (module docstring).

    Parameters: ``seq_len``, ``epochs``, ``batch_size``, ``learning_rate``,
    ``weight_decay``, ``patience``, ``max_train_samples``,
    ``max_val_samples``, ``num_threads``, ``min_history``, ``bands``,
    ``modes``, ``pooling`` and the network's own (see subclasses).
    """

    deterministic = False
    default_pooling = "universe"

    @abstractmethod
    def build_network(self, n_features: int, seq_len: int) -> nn.Module:
        """A fresh network mapping ``(B, seq_len, F)`` to ``(B,)`` logits."""

    @property
    def seq_len(self) -> int:
        return int(self.params.get("seq_len", 32))

    @property
    def min_history(self) -> int:
        return int(self.params.get("min_history", 100))

    def _sample(self, prepared, segment: str, limit: int, rng: np.random.Generator):
        parts = [(i, p.rows(segment, self.min_history)) for i, p in enumerate(prepared)]
        index = np.concatenate(
            [np.column_stack([np.full(len(r), i), r]) for i, r in parts]
        )
        if len(index) > limit:
            index = index[np.sort(rng.choice(len(index), limit, replace=False))]
        x = np.concatenate(
            [
                windows(prepared[i].features, index[index[:, 0] == i, 1], self.seq_len)
                for i in range(len(prepared))
            ]
        )
        y = np.concatenate(
            [prepared[i].up[index[index[:, 0] == i, 1]] for i in range(len(prepared))]
        )
        return x.astype(np.float32), y.astype(np.float32)

    def _fit_pool(self, histories: list[InstrumentData]) -> Self:
        prepared = [prepare_instrument(h, self.params) for h in histories]
        self.scalers_ = {p.data.instrument: p.scaler for p in prepared}
        rng = np.random.default_rng(self.seed)
        x_train, y_train = self._sample(
            prepared, "train", int(self.params.get("max_train_samples", 6000)), rng
        )
        x_val, y_val = self._sample(
            prepared, "val", int(self.params.get("max_val_samples", 3000)), rng
        )
        if len(np.unique(y_train)) < 2 or len(y_val) == 0:
            raise ValueError(
                f"baseline {self.name}: pool {[h.instrument for h in histories]} has "
                f"{len(y_train)} train / {len(y_val)} val windows; both classes and "
                "val windows are needed"
            )
        with limited_threads(self.params.get("num_threads")):
            torch.manual_seed(self.seed)
            network = self.build_network(x_train.shape[-1], self.seq_len)
            self.network_, self.epoch_, self.val_loss_ = fit_binary_classifier(
                network,
                x_train,
                y_train,
                x_val,
                y_val,
                TrainingSettings.from_params(self.params),
                self.seed,
            )
            for p in prepared:
                p_up = self._probabilities(p.features)
                rule, score = choose_decision_rule(
                    p_up, p.data, self.params, self.min_history
                )
                self.selected_[p.data.instrument] = rule
                self.scores_[p.data.instrument] = score
        return self

    def _probabilities(self, features: np.ndarray) -> np.ndarray:
        """``P(up)`` at every bar, in fixed chunks of bars from bar 0."""
        out = np.zeros(len(features))
        with torch.no_grad():
            for start in range(0, len(features), INFERENCE_CHUNK):
                rows = np.arange(start, min(start + INFERENCE_CHUNK, len(features)))
                batch = torch.from_numpy(windows(features, rows, self.seq_len))
                out[rows] = torch.sigmoid(self.network_(batch)).double().numpy()
        return out

    def exposure_for(
        self, bars: pd.DataFrame, context: InstrumentContext
    ) -> np.ndarray:
        features = features_of(
            bars, context, self.scalers_[context.instrument], self.params
        )
        with limited_threads(self.params.get("num_threads")):
            p_up = self._probabilities(features)
        rule = self.selected_[context.instrument]
        return probability_exposure(
            p_up, [rule["band"]], rule["mode"], self.min_history
        )[:, 0]

    def shared_params(self) -> dict[str, Any]:
        return {
            **super().shared_params(),
            "epoch": self.epoch_,
            "val_log_loss": self.val_loss_,
        }
