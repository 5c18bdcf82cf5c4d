"""Forward regime labels with volatility-scaled thresholds and split purging.

Rule, for a decision point at bar ``t`` of an instrument with horizon ``H``:

* forward return ``R = simple_returns(close[t], close[t+H])`` (the one return
  definition, so a negative WTI price is handled);
* trailing volatility ``sigma_t`` = std of the last ``volatility_window`` bar
  returns up to ``t`` (causal);
* threshold ``theta * sigma_t * sqrt(H)``: the typical size of an H-bar move
  for this instrument at this time;
* ``uptrend`` if ``R > +threshold``, ``downtrend`` if ``R < -threshold``,
  ``sideways`` otherwise.

The **persistence rule** (``persistence_id``) is the same rule applied to the
*past* ``H`` bars, ``simple_returns(close[t-H], close[t])`` against the same
threshold: a causal prediction of the label that any router must beat to show
it perceives more than "the last H bars go on" (-1 where ``t < H``).

The label is missing (NaN, ``regime_id = -1``) where ``t + H`` is beyond the
data, where ``sigma_t`` is not yet defined, where ``t`` is a purge bar, and
where bar ``t + H`` lies past the start of the next segment (the horizon would
cross a split boundary). Each segment owns the purge gap that follows it, so
with ``purge_bars = H`` (the default) no train/val label is lost beyond the
gap, and with any other ``purge_bars`` no label crosses a boundary.

Labels are targets only: nothing in features, text or charts reads them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd

from mm_drex.config import Settings, setting
from mm_drex.data.calendar import per_instrument
from mm_drex.data.prices import simple_returns
from mm_drex.data.split import PURGED, SEGMENTS, assign_segments
from mm_drex.features.indicators import rolling_volatility

REGIMES = ("downtrend", "sideways", "uptrend")
REGIME_ID = {name: i for i, name in enumerate(REGIMES)}
MISSING_ID = -1
REGIME_COLUMNS = [
    "instrument",
    "timestamp",
    "t",
    "segment",
    "forward_return",
    "volatility",
    "threshold",
    "regime",
    "regime_id",
    "persistence_id",
]


@dataclass(frozen=True)
class LabelSettings(Settings):
    """``params:labeling``: horizon ``H``, threshold ``theta`` (in units of
    ``sigma * sqrt(H)``), the volatility window and the first decision bar
    (``t >= window - 1``, the chart window)."""

    group: ClassVar[str] = "labeling"

    # bars, or a duration converted per instrument by its bar spacing ('90D')
    horizon: int | str = 90
    theta: float = setting(0.5, ge=0)
    volatility_window: int = setting(60, ge=2)
    window: int = setting(100, ge=1)


def segment_blocks(n_bars: int, split_rows: pd.DataFrame) -> np.ndarray:
    """Block id of every bar: segment ``k`` owns bars from its start to the
    start of segment ``k + 1`` (its purge gap included)."""
    starts = split_rows.set_index("segment").loc[list(SEGMENTS), "start_idx"].to_numpy()
    return np.searchsorted(starts, np.arange(n_bars), side="right") - 1


def instrument_regimes(
    close: np.ndarray,
    blocks: np.ndarray,
    segments: np.ndarray,
    horizon: int,
    theta: float,
    volatility_window: int,
) -> dict[str, np.ndarray]:
    """Forward return, volatility, threshold and regime id of every bar of ONE instrument."""
    n = len(close)
    forward = np.full(n, np.nan)
    if n > horizon:
        forward[: n - horizon] = simple_returns(close[: n - horizon], close[horizon:])
        crossing = blocks[: n - horizon] != blocks[horizon:]
        forward[: n - horizon][crossing] = np.nan
    forward[segments == PURGED] = np.nan
    volatility = rolling_volatility(close, volatility_window)
    threshold = theta * volatility * np.sqrt(horizon)
    regime_id = np.full(n, REGIME_ID["sideways"], dtype=np.int8)
    regime_id[forward > threshold] = REGIME_ID["uptrend"]
    regime_id[forward < -threshold] = REGIME_ID["downtrend"]
    regime_id[np.isnan(forward) | np.isnan(threshold)] = MISSING_ID
    past = np.full(n, np.nan)
    if n > horizon:
        past[horizon:] = simple_returns(close[: n - horizon], close[horizon:])
    persistence = np.full(n, REGIME_ID["sideways"], dtype=np.int8)
    persistence[past > threshold] = REGIME_ID["uptrend"]
    persistence[past < -threshold] = REGIME_ID["downtrend"]
    persistence[np.isnan(past) | np.isnan(threshold)] = MISSING_ID
    return {
        "forward_return": forward,
        "volatility": volatility,
        "threshold": threshold,
        "regime_id": regime_id,
        "persistence_id": persistence,
    }


def label_regimes(
    ohlcv: pd.DataFrame,
    split: pd.DataFrame,
    horizon: int | Mapping[str, int],
    theta: float,
    volatility_window: int,
    window: int,
) -> pd.DataFrame:
    """The ``regimes`` table for every decision point (``t >= window - 1``).

    Columns ``REGIME_COLUMNS``: ``regime`` is 'uptrend' / 'downtrend' /
    'sideways' or None, ``regime_id`` its index in ``REGIMES`` or -1.
    """
    segments = assign_segments(ohlcv, split)
    frames = []
    for instrument, bars in ohlcv.groupby("instrument", sort=False):
        bars_ahead = per_instrument(horizon, instrument, "labeling.horizon")
        if bars_ahead < 1:
            raise ValueError(
                f"labeling.horizon must be >= 1 bar, got {bars_ahead} for '{instrument}'"
            )
        rows = split[split["instrument"] == instrument]
        if len(rows) != len(SEGMENTS):
            raise ValueError(
                f"split has {len(rows)} segments for '{instrument}', expected 3"
            )
        close = bars["close"].to_numpy(dtype=np.float64)
        bar_segments = segments.loc[bars.index].to_numpy()
        values = instrument_regimes(
            close,
            segment_blocks(len(bars), rows),
            bar_segments,
            bars_ahead,
            theta,
            volatility_window,
        )
        keep = np.arange(len(bars)) >= window - 1
        frame = pd.DataFrame(
            {
                "instrument": bars["instrument"].to_numpy()[keep],
                "timestamp": bars["timestamp"].to_numpy()[keep],
                "t": np.flatnonzero(keep).astype(np.int64),
                "segment": bar_segments[keep],
                **{k: v[keep] for k, v in values.items()},
            }
        )
        frames.append(frame)
    regimes = pd.concat(frames, ignore_index=True)
    names = np.array([*REGIMES, None], dtype=object)
    regimes["regime"] = names[regimes["regime_id"].to_numpy()]
    return regimes[REGIME_COLUMNS]


def label_distribution(regimes: pd.DataFrame) -> pd.DataFrame:
    """Class counts and shares per instrument and segment (+ an ``ALL`` row per segment).

    Columns: instrument, segment, downtrend, sideways, uptrend, unlabelled,
    labelled, total, share_downtrend, share_sideways, share_uptrend.
    """
    frame = regimes.assign(regime=regimes["regime"].fillna("unlabelled"))
    order = [*SEGMENTS, PURGED]
    every = pd.concat([frame, frame.assign(instrument="ALL")], ignore_index=True)
    counts = (
        every.groupby(["instrument", "segment", "regime"], sort=False)
        .size()
        .unstack("regime", fill_value=0)
        .reindex(columns=[*REGIMES, "unlabelled"], fill_value=0)
        .reset_index()
    )
    counts["labelled"] = counts[list(REGIMES)].sum(axis=1)
    counts["total"] = counts["labelled"] + counts["unlabelled"]
    for name in REGIMES:
        counts[f"share_{name}"] = (
            counts[name] / counts["labelled"].where(counts["labelled"] > 0)
        ).round(4)
    instruments = [*pd.unique(regimes["instrument"]), "ALL"]
    counts["instrument"] = pd.Categorical(
        counts["instrument"], instruments, ordered=True
    )
    counts["segment"] = pd.Categorical(counts["segment"], order, ordered=True)
    counts = counts.sort_values(["instrument", "segment"]).reset_index(drop=True)
    counts["instrument"] = counts["instrument"].astype(str)
    counts["segment"] = counts["segment"].astype(str)
    counts.columns.name = None
    return counts
