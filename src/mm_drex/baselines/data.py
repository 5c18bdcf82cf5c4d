"""What the learned baselines read: one instrument's bars, its causal features.

Learned baselines (9-15) compute their inputs from the bars they are given, so
that ``target_exposure`` on a history cut after bar ``t`` sees exactly what a
live job would have seen at ``t`` (the truncation property). Features are the
feature stage's (:func:`mm_drex.features.temporal.instrument_features`, same
:class:`~mm_drex.features.temporal.FeatureSpec`), normalised with statistics of
the instrument's **train** rows only (:mod:`mm_drex.features.normalise`); the
fitted statistics live in the fitted baseline and are applied unchanged to any
later history.

Several baselines and seeds read the same instrument's features in one run,
so raw features are memoised by the *content* of the bars (a digest of the
prices, not the instrument's name): a truncated or altered history is a
different key and is computed afresh.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from mm_drex.baselines.base import InstrumentContext
from mm_drex.data.prices import simple_returns
from mm_drex.features.indicators import bar_returns
from mm_drex.features.normalise import apply_normaliser, fit_normaliser
from mm_drex.features.temporal import FeatureSpec, feature_columns, instrument_features

PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
_RAW_CACHE: OrderedDict[tuple, np.ndarray] = OrderedDict()
_RAW_CACHE_SIZE = 64


@dataclass(frozen=True)
class InstrumentData:
    """One instrument's history as a baseline is fitted on it.

    Attributes:
        bars: the instrument's ``ohlcv`` rows in time order (``instrument``,
            ``timestamp``, open, high, low, close, volume), index ``0..T-1``.
        segment: ``(T,)`` segment of each bar (train/val/test/purge).
        context: costs, shorts, limits, periods per year.
    """

    bars: pd.DataFrame
    segment: np.ndarray
    context: InstrumentContext

    @property
    def instrument(self) -> str:
        return self.context.instrument


def instrument_of(bars: pd.DataFrame) -> str:
    """The one instrument ``bars`` belong to (its ``instrument`` column)."""
    if "instrument" not in bars.columns:
        raise ValueError(
            "bars need an 'instrument' column (rows of ohlcv) so that a pooled "
            "baseline knows which instrument it trades"
        )
    names = pd.unique(bars["instrument"])
    if len(names) != 1:
        raise ValueError(
            f"bars hold {len(names)} instruments {list(names)[:5]}; one expected"
        )
    return str(names[0])


def feature_spec(params: Mapping[str, Any]) -> FeatureSpec:
    """The feature windows of a baseline: ``params['features']`` (the feature
    stage's ``features.indicators``, injected by the pipeline) or the defaults."""
    return FeatureSpec.of(params.get("features"))


def _bars_digest(bars: pd.DataFrame) -> str:
    digest = hashlib.blake2b(digest_size=16)
    for column in PRICE_COLUMNS:
        digest.update(
            np.ascontiguousarray(bars[column].to_numpy(dtype=np.float64)).tobytes()
        )
    return digest.hexdigest()


def raw_features(
    bars: pd.DataFrame, periods_per_year: int, spec: FeatureSpec
) -> np.ndarray:
    """``(T, F)`` raw causal features of ONE instrument's bars (memoised).

    Columns follow :func:`~mm_drex.features.temporal.feature_columns` of ``spec``;
    NaN during warm-up (and where the instrument has no volume). The returned
    array is read-only: it is shared by every caller with the same bars.
    """
    key = (len(bars), _bars_digest(bars), int(periods_per_year), spec)
    if key in _RAW_CACHE:
        _RAW_CACHE.move_to_end(key)
        return _RAW_CACHE[key]
    values = instrument_features(bars, periods_per_year, spec)
    matrix = np.column_stack([values[c] for c in feature_columns(spec)])
    matrix.setflags(write=False)
    _RAW_CACHE[key] = matrix
    while len(_RAW_CACHE) > _RAW_CACHE_SIZE:
        _RAW_CACHE.popitem(last=False)
    return matrix


@dataclass(frozen=True)
class FeatureScaler:
    """Train-only robust z-score of one instrument's features (a fitted object).

    Built by :meth:`fit` with the features stage's rule
    (:func:`~mm_drex.features.normalise.fit_normaliser`: median and IQR/1.349
    of the train rows, clipped to ``[-clip, clip]``); NaN (warm-up, no volume)
    becomes 0, the train median.
    """

    instrument: str
    columns: tuple[str, ...]
    normaliser: pd.DataFrame
    clip: float

    @classmethod
    def fit(
        cls,
        raw: np.ndarray,
        segment: np.ndarray,
        instrument: str,
        spec: FeatureSpec,
        clip: float = 5.0,
        fit_segment: str = "train",
    ) -> FeatureScaler:
        columns = tuple(feature_columns(spec))
        table = pd.DataFrame(raw, columns=list(columns))
        table.insert(0, "segment", np.asarray(segment))
        table.insert(0, "instrument", instrument)
        if not (table["segment"] == fit_segment).any():
            raise ValueError(
                f"instrument {instrument}: no '{fit_segment}' bars to fit the feature "
                "normaliser on"
            )
        return cls(
            instrument, columns, fit_normaliser(table, columns, fit_segment), clip
        )

    def transform(self, raw: np.ndarray) -> np.ndarray:
        """``(T, F)`` float32 normalised features, NaN replaced by 0."""
        table = pd.DataFrame(raw, columns=list(self.columns))
        table.insert(0, "instrument", self.instrument)
        scaled = apply_normaliser(table, self.normaliser, self.columns, self.clip)
        values = scaled[list(self.columns)].to_numpy(dtype=np.float32)
        return np.nan_to_num(values, nan=0.0)


def normalised_features(
    bars: pd.DataFrame, periods_per_year: int, spec: FeatureSpec, scaler: FeatureScaler
) -> np.ndarray:
    """``(T, F)`` normalised causal features of ``bars`` with a fitted scaler."""
    return scaler.transform(raw_features(bars, periods_per_year, spec))


def next_bar_returns(bars: pd.DataFrame) -> np.ndarray:
    """``(T,)`` return from the close of ``t`` to the close of ``t+1`` (NaN on the
    last bar): the label of a next-bar direction forecast made at ``t``."""
    out = np.full(len(bars), np.nan)
    out[:-1] = bar_returns(bars["close"].to_numpy(dtype=np.float64))[1:]
    return out


def forward_returns(bars: pd.DataFrame, horizon: int) -> np.ndarray:
    """``(T,)`` return from the close of ``t`` to the close of ``t+horizon``
    (NaN for the last ``horizon`` bars), via the one return definition."""
    close = bars["close"].to_numpy(dtype=np.float64)
    out = np.full(len(close), np.nan)
    if horizon < len(close):
        out[:-horizon] = simple_returns(close[:-horizon], close[horizon:])
    return out
