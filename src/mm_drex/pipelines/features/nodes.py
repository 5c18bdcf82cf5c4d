"""Features nodes: thin wrappers over :mod:`mm_drex.features`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from mm_drex.features.normalise import apply_normaliser, fit_normaliser
from mm_drex.features.settings import FeatureSettings
from mm_drex.features.summary import features_summary
from mm_drex.features.temporal import compute_raw_features
from mm_drex.features.text_view import build_text_view


def raw_features(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    params: Mapping[str, Any],
) -> pd.DataFrame:
    """Causal raw features of every bar (instrument, timestamp, t, segment, features)."""
    spec = FeatureSettings.from_params(params).indicators
    return compute_raw_features(ohlcv, instruments, split, spec)


def fit_feature_normaliser(
    features_raw: pd.DataFrame, params: Mapping[str, Any]
) -> pd.DataFrame:
    """Per-instrument median / IQR of each feature on the train segment only."""
    settings = FeatureSettings.from_params(params)
    return fit_normaliser(
        features_raw, settings.columns, settings.normaliser.fit_segment
    )


def normalise_features(
    features_raw: pd.DataFrame,
    feature_normaliser: pd.DataFrame,
    params: Mapping[str, Any],
) -> pd.DataFrame:
    """The model-input ``features`` table: robust z-scores, float32, clipped."""
    settings = FeatureSettings.from_params(params)
    return apply_normaliser(
        features_raw, feature_normaliser, settings.columns, settings.normaliser.clip
    )


def text_view(
    ohlcv: pd.DataFrame, features_raw: pd.DataFrame, params: Mapping[str, Any]
) -> pd.DataFrame:
    """One deterministic paragraph per decision point (t >= window - 1)."""
    settings = FeatureSettings.from_params(params)
    return build_text_view(ohlcv, features_raw, settings.window, settings.text)


def summary(
    features: pd.DataFrame, text_view: pd.DataFrame, params: Mapping[str, Any]
) -> dict[str, Any]:
    """Counts for the docs and the router: rows, feature columns, distinct texts."""
    columns = FeatureSettings.from_params(params).columns
    return features_summary(features, text_view, columns)
