"""Transformer forecaster of the next bar's direction (torch), traded by a
decision band.

A small causal transformer encoder (``d_model``, ``heads``, ``layers``,
``feedforward``) over the last ``seq_len`` normalised feature rows; training,
early stopping on val and the val-chosen decision band are those of
:mod:`mm_drex.baselines.forecasters`. Runs once per seed.
"""

from __future__ import annotations

from torch import nn

from mm_drex.baselines.forecasters import SequenceForecaster, TransformerNetwork


class TransformerForecaster(SequenceForecaster):
    """Parameters (besides the forecaster's): ``d_model``, ``heads``, ``layers``,
    ``feedforward``, ``dropout``."""

    name = "transformer_forecaster"

    def build_network(self, n_features: int, seq_len: int) -> nn.Module:
        return TransformerNetwork(
            n_features,
            seq_len,
            d_model=int(self.params.get("d_model", 32)),
            heads=int(self.params.get("heads", 4)),
            layers=int(self.params.get("layers", 1)),
            feedforward=int(self.params.get("feedforward", 64)),
            dropout=float(self.params.get("dropout", 0.1)),
        )
