"""The out-of-sample record of all folds: their tables stacked, their test
windows chained, and the walk-forward report."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from mm_drex.backtest.folds import FoldRun
from mm_drex.reporting.routing import diagnostics_markdown, fold_diagnostics


def per_fold(tables: Sequence, folds: Sequence[str], per_fold: int = 1) -> list[tuple]:
    """``tables`` (``per_fold`` consecutive tables of each fold, in ``folds``
    order) grouped per fold."""
    if len(tables) != per_fold * len(folds):
        raise ValueError(
            f"expected {per_fold} table(s) for each of {len(folds)} folds, "
            f"got {len(tables)}"
        )
    return [tuple(tables[i * per_fold : (i + 1) * per_fold]) for i in range(len(folds))]


def stack(tables: Sequence[pd.DataFrame], folds: Sequence[str]) -> pd.DataFrame:
    """The folds' tables of one kind in one, with a ``fold`` column first."""
    parts = [
        table.assign(fold=fold)
        for fold, (table,) in zip(folds, per_fold(tables, folds), strict=True)
    ]
    out = pd.concat(parts, ignore_index=True)
    return out[["fold", *[c for c in out.columns if c != "fold"]]]


def stack_test_rows(
    tables: Sequence[pd.DataFrame], folds: Sequence[str]
) -> pd.DataFrame:
    """:func:`stack` of each fold's rows of its test segment."""
    return stack([t[t["segment"] == "test"] for t in tables], folds)


def fold_runs(tables: Sequence[pd.DataFrame], folds: Sequence[str]) -> list[FoldRun]:
    """``(exposures, split)`` of every fold from its two tables."""
    return [(exposures, split) for exposures, split in per_fold(tables, folds, 2)]


def walk_forward_report(
    sections: Sequence[str], folds: Sequence[str], lead: str, n_baselines: int
) -> str:
    """The walk-forward report: what was refitted, then ``sections``."""
    intro = (
        "# MM-DREX walk-forward report\n\n"
        f"{len(folds)} folds ({', '.join(folds)}). In each fold the whole chain "
        "was refitted on that fold's own train and val windows (feature "
        "normalisation, regime labels, expert pools, router SFT, RL with its "
        "seeds and checkpoint selection, static weights, the baselines); its "
        "test window was then executed once by the backtest engine, after "
        f"costs. `{lead}` is compared with buy & hold, the {n_baselines} "
        "baselines and its ablations on the folds' test windows chained "
        "(the out-of-sample record); intervals are block-bootstrap intervals "
        "of that record. Nothing in this report was chosen on a test window.\n"
    )
    return intro + "\n" + "\n".join(sections)


def routing_record(
    tables: Sequence[pd.DataFrame], folds: Sequence[str], instruments: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str]:
    """The routing diagnostics of all folds from each fold's three tables
    (returns, oracle weights, weights by predicted regime): the per-fold and
    all-folds summary, the stacked weights by predicted regime and oracle
    weights, and the report section."""
    grouped = per_fold(tables, folds, 3)
    periods = instruments.set_index("instrument")["periods_per_year"].to_dict()
    summary = fold_diagnostics(
        {fold: returns for fold, (returns, _, _) in zip(folds, grouped, strict=True)},
        periods,
    )
    weights = stack([w for _, w, _ in grouped], folds)
    by_regime = stack([b for _, _, b in grouped], folds)
    return (
        summary,
        by_regime,
        weights,
        diagnostics_markdown(summary, by_regime, weights),
    )
