"""The walk-forward fold plan on the common calendar.

A fold is a **test window** of dates shared by every instrument (default: one
calendar year), a **validation window** just before it, and **training** data
before that: everything earlier (``expanding``) or the last ``train_years``
(``rolling``). The last ``purge_bars`` bars of train and of val belong to no
segment, so that no forward horizon reaches into the next segment. Dates are
trading dates in each exchange's time zone (:mod:`mm_drex.data.calendar`), so a
boundary means the same day for a US, a Korean and a 24/7 instrument.

An instrument **joins** a fold when it has at least ``min_train_bars`` train
bars and ``min_val_bars`` val bars before the test window and at least one
test bar; otherwise it sits the fold out (listed in the plan with
``joined = False`` and the reason).

The plan is a table in the shape of ``split`` plus ``fold``: one row per (fold,
instrument, segment) with bar-index bounds ``[start_idx, end_idx)`` into that
instrument's bars.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mm_drex.data.calendar import UTC, per_instrument, trading_dates
from mm_drex.data.split import SPLIT_COLUMNS, segments_of

FOLD_COLUMNS = ["fold", *SPLIT_COLUMNS, "joined", "reason"]


@dataclass(frozen=True)
class FoldWindow:
    """One fold's dates: ``[train_start, val_start)``, ``[val_start,
    test_start)``, ``[test_start, test_end)`` (``train_start`` None: expanding)."""

    name: str
    train_start: pd.Timestamp | None
    val_start: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp


def yearly_windows(
    test_years: Sequence[int], val_years: int = 1, train_years: int | None = None
) -> list[FoldWindow]:
    """Folds whose test windows are calendar years (``fold_<year>``)."""
    if not test_years:
        raise ValueError("the walk-forward plan needs at least one test year")
    windows = []
    for year in sorted(int(y) for y in test_years):
        val_start = pd.Timestamp(year - val_years, 1, 1)
        windows.append(
            FoldWindow(
                name=f"fold_{year}",
                train_start=None
                if train_years is None
                else pd.Timestamp(year - val_years - train_years, 1, 1),
                val_start=val_start,
                test_start=pd.Timestamp(year, 1, 1),
                test_end=pd.Timestamp(year + 1, 1, 1),
            )
        )
    return windows


def fold_plan(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    windows: Sequence[FoldWindow],
    purge_bars: int | Mapping[str, int],
    min_train_bars: int,
    min_val_bars: int = 20,
) -> pd.DataFrame:
    """The plan of the module docstring for every fold and instrument."""
    zones: Mapping[str, str] = (
        instruments.set_index("instrument")["timezone"].to_dict()
        if "timezone" in instruments.columns
        else {}
    )
    rows = []
    for instrument, bars in ohlcv.groupby("instrument", sort=False):
        dates = trading_dates(bars["timestamp"].to_numpy(), zones.get(instrument, UTC))
        dates = dates.to_numpy()
        stamps = bars["timestamp"].to_numpy()
        purge = per_instrument(purge_bars, instrument, "ingestion.split.purge_bars")
        for window in windows:
            first = (
                0
                if window.train_start is None
                else int(np.searchsorted(dates, window.train_start.to_datetime64()))
            )
            val = int(np.searchsorted(dates, window.val_start.to_datetime64()))
            test = int(np.searchsorted(dates, window.test_start.to_datetime64()))
            end = int(np.searchsorted(dates, window.test_end.to_datetime64()))
            bounds = {
                "train": (first, val - purge),
                "val": (val, test - purge),
                "test": (test, end),
            }
            sizes = {s: max(0, b - a) for s, (a, b) in bounds.items()}
            reason = ""
            if sizes["test"] == 0:
                reason = "no bar in the test window"
            elif sizes["val"] < min_val_bars:
                reason = f"{sizes['val']} val bars < min_val_bars {min_val_bars}"
            elif sizes["train"] < min_train_bars:
                reason = (
                    f"{sizes['train']} train bars < min_train_bars {min_train_bars}"
                )
            for segment, (start, stop) in bounds.items():
                n = sizes[segment]
                rows.append(
                    {
                        "fold": window.name,
                        "instrument": instrument,
                        "segment": segment,
                        "start_idx": start,
                        "end_idx": max(start, stop),
                        "start": stamps[start] if n else pd.NaT,
                        "end": stamps[stop - 1] if n else pd.NaT,
                        "n_bars": n,
                        "purge_bars": purge,
                        "joined": reason == "",
                        "reason": reason,
                    }
                )
    plan = pd.DataFrame(rows, columns=FOLD_COLUMNS)
    order = {w.name: i for i, w in enumerate(windows)}
    return plan.sort_values(
        "fold", key=lambda c: c.map(order), kind="stable"
    ).reset_index(drop=True)


def fold_split(plan: pd.DataFrame, fold: str) -> pd.DataFrame:
    """One fold's rows of the plan, for the instruments that join it, in the
    shape of ``split`` (what every stage reads)."""
    rows = plan[(plan["fold"] == fold) & plan["joined"]]
    if rows.empty:
        reasons = plan.loc[plan["fold"] == fold].drop_duplicates("instrument")
        why = "; ".join(f"{r.instrument}: {r.reason}" for r in reasons.itertuples())
        raise ValueError(
            f"fold {fold}: no instrument joins it ({why or 'no fold of that name'}); "
            "set ingestion.walk_forward.test_years to years the data covers "
            f"(folds now: {sorted(plan['fold'].unique())}), or lower "
            "ingestion.walk_forward.min_train_bars / min_val_bars, or run the "
            "single split (kedro run --pipeline single_split)"
        )
    return rows.drop(columns=["fold", "joined", "reason"]).reset_index(drop=True)


def fold_rows(table: pd.DataFrame, split: pd.DataFrame) -> np.ndarray:
    """Boolean mask of the rows of ``table`` (``instrument`` and bar position
    ``t``) that a fold may see: instruments of ``split``, bars before the end of
    its last segment. Nothing after the test window reaches the fold's chain."""
    ends = split.groupby("instrument", sort=False)["end_idx"].max()
    limit = table["instrument"].map(ends)
    return (limit.notna() & (table["t"] < limit)).to_numpy()


def relabel_segments(table: pd.DataFrame, split: pd.DataFrame) -> pd.DataFrame:
    """``table`` (``instrument``, ``t``, ``segment``) with each row's segment
    from ``split`` ('purge' outside every segment)."""
    segment = segments_of(table["instrument"].to_numpy(), table["t"].to_numpy(), split)
    out = table.copy()
    out["segment"] = pd.array(segment, dtype=table["segment"].dtype)
    return out


def fold_market_data(
    ohlcv: pd.DataFrame, instruments: pd.DataFrame, split: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The bars and instruments a fold's chain reads: the instruments that join
    it, each cut after its test window (bar positions are unchanged)."""
    position = ohlcv.groupby("instrument", sort=False).cumcount()
    keep = fold_rows(ohlcv.assign(t=position.to_numpy()), split)
    bars = ohlcv.loc[keep].reset_index(drop=True)
    joined = instruments[instruments["instrument"].isin(split["instrument"])]
    return bars, joined.reset_index(drop=True)
