"""LSTM forecaster of the next bar's direction (torch), traded by a decision band.

One LSTM (``hidden`` units, ``layers`` layers) over the last ``seq_len``
normalised feature rows; training, early stopping on val and the val-chosen
decision band are those of :mod:`mm_drex.baselines.forecasters`. Runs once
per seed.
"""

from __future__ import annotations

from torch import nn

from mm_drex.baselines.forecasters import LstmNetwork, SequenceForecaster


class LstmForecaster(SequenceForecaster):
    """Parameters (besides the forecaster's): ``hidden``, ``layers``, ``dropout``."""

    name = "lstm_forecaster"

    def build_network(self, n_features: int, seq_len: int) -> nn.Module:
        return LstmNetwork(
            n_features,
            hidden=int(self.params.get("hidden", 32)),
            layers=int(self.params.get("layers", 1)),
            dropout=float(self.params.get("dropout", 0.0)),
        )
