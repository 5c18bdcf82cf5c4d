"""Counts of the features stage's outputs, for the docs and the router."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd


def features_summary(
    features: pd.DataFrame, text_view: pd.DataFrame, columns: Sequence[str]
) -> dict[str, Any]:
    """Rows, feature columns, decision points, distinct texts and sentences."""
    sentences = {
        sentence
        for text in text_view["text"].unique()
        for sentence in re.split(r"(?<=\.) ", text)
    }
    return {
        "feature_columns": list(columns),
        "feature_rows": len(features),
        "decision_points": len(text_view),
        "distinct_texts": int(text_view["text"].nunique()),
        "distinct_sentences": len(sentences),
        "distinct_texts_per_instrument": {
            str(k): int(v)
            for k, v in text_view.groupby("instrument", sort=False)["text"]
            .nunique()
            .items()
        },
    }
