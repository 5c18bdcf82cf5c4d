"""Chronological train / val / test split with purge gaps.

For each instrument with ``n`` bars, the boundaries sit at ``floor(train * n)``
and ``floor((train + val) * n)``. The last ``purge_bars`` bars before each
boundary belong to no segment: a decision point there has a forward label
horizon that would reach into the next segment. With the default
``purge_bars`` equal to the label horizon H, no label ever crosses a boundary.
Positions are 0-based bar indices within the instrument; ``end_idx`` is
exclusive.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mm_drex.data.calendar import instrument_bars, per_instrument

SEGMENTS = ("train", "val", "test")
PURGED = "purge"

SPLIT_COLUMNS = [
    "instrument",
    "segment",
    "start_idx",
    "end_idx",
    "start",
    "end",
    "n_bars",
    "purge_bars",
]


def learner_horizons(
    label_horizon: int, baselines: Mapping[str, Mapping[str, Any] | None]
) -> dict[str, int]:
    """The forward horizon of every learner, by the setting that gives it: the
    regime labels and each baseline whose parameters set a ``horizon``."""
    horizons = {"labeling.horizon": int(label_horizon)}
    for name, params in (baselines or {}).items():
        value = (params or {}).get("horizon")
        if isinstance(value, int) and not isinstance(value, bool):
            horizons[f"baselines.strategies.{name}.horizon"] = value
    return horizons


def check_purge(
    purge_bars: int, horizons: Mapping[str, int], instrument: str | None = None
) -> None:
    """Refuse a purge shorter than the longest learner horizon: a target that
    looks further ahead than the purge would see the next segment's bars
    (both in bars of ``instrument`` when they were given as durations)."""
    if not horizons:
        return
    setting, longest = max(horizons.items(), key=lambda item: item[1])
    if purge_bars < longest:
        where = "" if instrument is None else f" for instrument '{instrument}'"
        raise ValueError(
            f"parameters ingestion.split.purge_bars = {purge_bars} bars{where} is "
            f"shorter than the longest learner horizon, {setting} = {longest} bars: "
            f"its targets near a boundary would look into the next segment; set "
            f"purge_bars to at least {longest}"
        )


def instrument_purges(
    instruments: pd.DataFrame,
    purge_bars: int | str,
    label_horizon: int | str,
    baselines: Mapping[str, Mapping[str, Any] | None],
) -> dict[str, int]:
    """The purge of every instrument in its bars (``purge_bars`` and the label
    horizon may be durations, converted by each instrument's bar spacing),
    checked against the longest learner horizon (:func:`check_purge`)."""
    purge = instrument_bars(purge_bars, instruments, "ingestion.split.purge_bars")
    horizon = instrument_bars(label_horizon, instruments, "labeling.horizon")
    for instrument, bars in purge.items():
        check_purge(bars, learner_horizons(horizon[instrument], baselines), instrument)
    return purge


def segment_bounds(
    n_bars: int, fractions: Mapping[str, float], purge_bars: int
) -> dict[str, tuple[int, int]]:
    """Bar-index bounds ``[start, end)`` of each segment for an ``n_bars`` series."""
    total = sum(fractions[s] for s in SEGMENTS)
    if not np.isclose(total, 1.0):
        raise ValueError(
            f"ingestion.split fractions must add up to 1, got train+val+test = {total}"
        )
    train_end = int(np.floor(fractions["train"] * n_bars))
    val_end = int(np.floor((fractions["train"] + fractions["val"]) * n_bars))
    bounds = {
        "train": (0, train_end - purge_bars),
        "val": (train_end, val_end - purge_bars),
        "test": (val_end, n_bars),
    }
    for segment, (start, end) in bounds.items():
        if end <= start:
            raise ValueError(
                f"segment '{segment}' is empty: {n_bars} bars with purge_bars="
                f"{purge_bars} leave nothing in [{start}, {end})"
            )
    return bounds


def chronological_split(
    ohlcv: pd.DataFrame,
    fractions: Mapping[str, float],
    purge_bars: int | Mapping[str, int],
) -> pd.DataFrame:
    """One row per (instrument, segment) with index bounds and timestamps;
    ``purge_bars`` is one count or one per instrument."""
    rows = []
    for instrument, bars in ohlcv.groupby("instrument", sort=False):
        timestamps = bars["timestamp"].to_numpy()
        purge = per_instrument(purge_bars, instrument, "ingestion.split.purge_bars")
        for segment, (start, end) in segment_bounds(
            len(bars), fractions, purge
        ).items():
            rows.append(
                {
                    "instrument": instrument,
                    "segment": segment,
                    "start_idx": start,
                    "end_idx": end,
                    "start": timestamps[start],
                    "end": timestamps[end - 1],
                    "n_bars": end - start,
                    "purge_bars": purge,
                }
            )
    return pd.DataFrame(rows, columns=SPLIT_COLUMNS)


def assign_segments(ohlcv: pd.DataFrame, split: pd.DataFrame) -> pd.Series:
    """The segment of every bar of ``ohlcv`` ('train', 'val', 'test' or 'purge').

    ``ohlcv`` is the long table sorted by instrument then time, as ingestion
    writes it; the result is aligned with its index.
    """
    position = ohlcv.groupby("instrument", sort=False).cumcount().to_numpy()
    segment = segments_of(ohlcv["instrument"].to_numpy(), position, split)
    return pd.Series(segment, index=ohlcv.index, name="segment")


def segments_of(
    instruments: np.ndarray, positions: np.ndarray, split: pd.DataFrame
) -> np.ndarray:
    """The segment of each (instrument, bar position) pair ('purge' outside
    every segment of ``split``)."""
    segment = np.full(len(instruments), PURGED, dtype=object)
    for row in split.itertuples(index=False):
        in_segment = (
            (instruments == row.instrument)
            & (positions >= row.start_idx)
            & (positions < row.end_idx)
        )
        segment[in_segment] = row.segment
    return segment
