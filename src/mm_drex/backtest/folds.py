"""Walk-forward evaluation: the folds' test windows executed one after another.

Each fold's strategies were fitted on that fold's train/val only; its test
window is executed by the one engine (:func:`run_backtest`) on the fold's own
split. The out-of-sample record of a strategy is the concatenation of its
folds' test windows in time order (the folds' test windows do not overlap):
each window starts flat, so entering the first position pays its cost, and the
NAV is chained across windows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from mm_drex.backtest.projection import ExposureLimits
from mm_drex.backtest.sleeves import run_backtest

FoldRun = tuple[pd.DataFrame, pd.DataFrame]
"""``(exposures, split)`` of one fold."""

SLEEVE_KEYS = ["strategy", "seed", "instrument"]


def chain_positions(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The ``positions`` tables of several non-overlapping windows as one, in
    time order per sleeve, with the NAV compounded across windows."""
    parts = [part for part in parts if len(part)]
    if not parts:
        raise ValueError("no fold has positions to chain")
    table = pd.concat(parts, ignore_index=True)
    table = table.sort_values([*SLEEVE_KEYS, "timestamp"], kind="stable")
    overlap = table.duplicated([*SLEEVE_KEYS, "timestamp"])
    if overlap.any():
        row = table.loc[overlap].iloc[0]
        raise ValueError(
            f"two folds evaluate strategy '{row['strategy']}' on instrument "
            f"'{row['instrument']}' at {row['timestamp']}: the folds' test "
            "windows overlap (ingestion.walk_forward.test_years)"
        )
    growth = 1.0 + table["net_return"]
    table["nav"] = growth.groupby(
        [table[key] for key in SLEEVE_KEYS], sort=False
    ).cumprod()
    return table.reset_index(drop=True)


def run_folds(
    runs: Sequence[FoldRun],
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    segment: str = "test",
    limits: ExposureLimits | None = None,
    cost_override_bps: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Every fold's exposures executed on its own ``segment``, chained."""
    return chain_positions(
        [
            run_backtest(
                exposures,
                ohlcv,
                instruments,
                split,
                segment=segment,
                limits=limits,
                cost_override_bps=cost_override_bps,
            )
            for exposures, split in runs
        ]
    )
