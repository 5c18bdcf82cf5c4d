"""Train-only normalisation of the raw features.

Rule: per instrument and feature, a robust z-score
``(x - median) / (IQR / 1.349)`` whose median and inter-quartile range come
from that instrument's **train-segment** rows only, then clipped to
``[-clip, clip]``. The IQR/1.349 scale equals the standard deviation for a
normal variable but is not dominated by crashes and spikes (returns and
volume are heavy-tailed); per instrument because levels differ by an order of
magnitude between instruments (BTC's daily volatility is ~4x the S&P 500's),
so "volatility is high" means high *for this instrument*. A feature without
any finite train value (volume on WTI) stays NaN; a zero IQR falls back to a
scale of 1.

The fitted statistics are a table (``instrument, feature, center, scale,
n_train``) stored through the catalog and applied unchanged to every segment
and to any truncated history.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

IQR_TO_STD = 1.349
NORMALISER_COLUMNS = ["instrument", "feature", "center", "scale", "n_train"]


def fit_normaliser(
    raw_features: pd.DataFrame, columns: Sequence[str], segment: str = "train"
) -> pd.DataFrame:
    """Median and IQR/1.349 of each feature over each instrument's ``segment`` rows."""
    rows = []
    fit_rows = raw_features[raw_features["segment"] == segment]
    for instrument in raw_features["instrument"].unique():
        values = fit_rows.loc[fit_rows["instrument"] == instrument, list(columns)]
        for column in columns:
            finite = values[column].to_numpy(dtype=np.float64)
            finite = finite[np.isfinite(finite)]
            if len(finite) == 0:
                center, scale = np.nan, np.nan
            else:
                q25, center, q75 = np.quantile(finite, [0.25, 0.5, 0.75])
                scale = (q75 - q25) / IQR_TO_STD
                if not scale > 0:
                    scale = 1.0
            rows.append((instrument, column, float(center), float(scale), len(finite)))
    return pd.DataFrame(rows, columns=NORMALISER_COLUMNS)


def apply_normaliser(
    raw_features: pd.DataFrame,
    normaliser: pd.DataFrame,
    columns: Sequence[str],
    clip: float = 5.0,
) -> pd.DataFrame:
    """Normalised copy of ``raw_features``: feature columns as float32 in ``[-clip, clip]``.

    Every (instrument, feature) of ``raw_features`` must have fitted statistics.
    """
    out = raw_features.drop(columns=list(columns)).copy()
    stats = normaliser.set_index(["instrument", "feature"])
    instruments = raw_features["instrument"].to_numpy()
    for column in columns:
        center = np.full(len(raw_features), np.nan)
        scale = np.full(len(raw_features), np.nan)
        for instrument in pd.unique(instruments):
            if (instrument, column) not in stats.index:
                raise ValueError(
                    f"normaliser has no statistics for instrument '{instrument}', "
                    f"feature '{column}'"
                )
            rows = instruments == instrument
            center[rows] = stats.at[(instrument, column), "center"]
            scale[rows] = stats.at[(instrument, column), "scale"]
        values = (raw_features[column].to_numpy(dtype=np.float64) - center) / scale
        out[column] = np.clip(values, -clip, clip).astype(np.float32)
    return out
