"""Features nodes: thin wrappers over :mod:`mm_drex.features`."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from mm_drex.features.normalise import apply_normaliser, fit_normaliser
from mm_drex.features.temporal import FeatureSpec, compute_raw_features, feature_columns
from mm_drex.features.text_view import TextSpec, build_text_view


def raw_features(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    params: Mapping[str, Any],
) -> pd.DataFrame:
    """Causal raw features of every bar (instrument, timestamp, t, segment, features)."""
    return compute_raw_features(
        ohlcv, instruments, split, FeatureSpec.from_params(params.get("indicators"))
    )


def fit_feature_normaliser(
    features_raw: pd.DataFrame, params: Mapping[str, Any]
) -> pd.DataFrame:
    """Per-instrument median / IQR of each feature on the train segment only."""
    columns = feature_columns(FeatureSpec.from_params(params.get("indicators")))
    return fit_normaliser(features_raw, columns, params["normaliser"]["fit_segment"])


def normalise_features(
    features_raw: pd.DataFrame,
    feature_normaliser: pd.DataFrame,
    params: Mapping[str, Any],
) -> pd.DataFrame:
    """The model-input ``features`` table: robust z-scores, float32, clipped."""
    columns = feature_columns(FeatureSpec.from_params(params.get("indicators")))
    return apply_normaliser(
        features_raw, feature_normaliser, columns, float(params["normaliser"]["clip"])
    )


def text_view(
    ohlcv: pd.DataFrame, features_raw: pd.DataFrame, params: Mapping[str, Any]
) -> pd.DataFrame:
    """One deterministic paragraph per decision point (t >= window - 1)."""
    return build_text_view(
        ohlcv,
        features_raw,
        int(params["window"]),
        TextSpec.from_params(params.get("text")),
    )


def features_summary(
    features: pd.DataFrame, text_view: pd.DataFrame, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Counts for the docs and the router: rows, feature columns, distinct texts."""
    columns = feature_columns(FeatureSpec.from_params(params.get("indicators")))
    sentences = {
        sentence
        for text in text_view["text"].unique()
        for sentence in re.split(r"(?<=\.) ", text)
    }
    return {
        "feature_columns": columns,
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
