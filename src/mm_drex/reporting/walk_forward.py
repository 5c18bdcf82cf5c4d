"""Walk-forward reporting: where each strategy wins and loses, fold by fold.

The per-fold table has one row per strategy and one column per (fold, market)
and the out-of-sample record of all folds together (``all_folds``): Sharpe,
total return and maximum drawdown of each fold's test window, mean over seeds.
Every number comes from a test window that no choice of that fold looked at.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mm_drex.backtest.metrics import aggregate_seeds
from mm_drex.backtest.sleeves import AVERAGE_NAME
from mm_drex.markdown import markdown_table

ALL_FOLDS = "all_folds"
CI_COLUMNS = ("sharpe_ci_low", "sharpe_ci_high")
FOLD_TABLE_METRICS = ("sharpe", "total_return", "max_drawdown")
_TITLES = {
    "sharpe": "Sharpe ratio",
    "total_return": "Total return",
    "max_drawdown": "Maximum drawdown",
}


def fold_table(
    fold_metrics: Mapping[str, pd.DataFrame], oos_metrics: pd.DataFrame
) -> pd.DataFrame:
    """``fold, strategy, name, n_seeds, start, end`` and ``<metric>_mean|_sd``
    for every market and the equal-market average of each fold's test window
    and of all folds chained (``fold = all_folds``)."""
    parts = []
    for fold, metrics in [*fold_metrics.items(), (ALL_FOLDS, oos_metrics)]:
        rows = metrics[metrics["level"].isin(["market", "average"])]
        if rows.empty:
            continue
        table = aggregate_seeds(
            rows, ["strategy", "name"], [*FOLD_TABLE_METRICS, *CI_COLUMNS]
        )
        span = rows.groupby(["strategy", "name"], sort=False).agg(
            start=("start", "min"), end=("end", "max")
        )
        table = table.merge(span.reset_index(), on=["strategy", "name"])
        parts.append(table.assign(fold=fold))
    if not parts:
        return pd.DataFrame(columns=["fold", "strategy", "name", "n_seeds"])
    table = pd.concat(parts, ignore_index=True)
    first = ["fold", "strategy", "name", "n_seeds", "start", "end"]
    return table[first + [c for c in table.columns if c not in first]]


def _sharpe(row: pd.Series | None) -> str:
    if row is None or not np.isfinite(row["sharpe_mean"]):
        return "–"
    low, high = row["sharpe_ci_low_mean"], row["sharpe_ci_high_mean"]
    interval = f" [{low:.2f}, {high:.2f}]" if np.isfinite(low) else ""
    return f"{row['sharpe_mean']:.2f}{interval}"


def _summary_cells(
    window: pd.DataFrame, lead: str, benchmark: str, baselines: Sequence[str]
) -> list[str]:
    window = window.set_index("strategy")
    base = window[window.index.isin(baselines) & (window.index != benchmark)]
    ablations = window[window.index.str.startswith(f"{lead}_")]
    cells = [
        _sharpe(window.loc[s] if s in window.index else None) for s in (lead, benchmark)
    ]
    for group in (base, ablations):
        best = (
            group["sharpe_mean"].idxmax()
            if group["sharpe_mean"].notna().any()
            else None
        )
        cells.append(f"{best}: {_sharpe(window.loc[best])}" if best else "–")
    return cells


def summary_markdown(
    table: pd.DataFrame,
    lead: str,
    benchmark: str,
    baselines: Sequence[str],
    folds: Sequence[str] = (),
) -> str:
    """Per fold and over all folds (equal-market average): the lead strategy,
    the benchmark, the baseline and the ablation with the highest Sharpe of
    that window (named after the fact: nothing was chosen on it)."""
    parts = [
        "## Summary: MM-DREX against buy & hold, the best baseline and its ablations",
        "",
        "Each market of each test window and of all folds chained, and their "
        "equal-market average; Sharpe (seed mean) with its 95% block-bootstrap "
        "interval (seed mean of the bounds; none for the average). *Best* baseline and ablation are the highest Sharpe of "
        "that window among the baselines and among the ablations, read after "
        "the fact: they are a yardstick, not a choice.",
        "",
        "",
    ]
    names = [n for n in dict.fromkeys(table["name"]) if n != AVERAGE_NAME]
    rows = []
    for fold in [*folds, ALL_FOLDS]:
        for name in [*names, AVERAGE_NAME]:
            window = table[(table["fold"] == fold) & (table["name"] == name)]
            if window.empty:
                continue
            rows.append(
                [fold, name, *_summary_cells(window, lead, benchmark, baselines)]
            )
    header = ["window", "market", lead, benchmark, "best baseline", "best ablation"]
    return "\n".join(parts) + markdown_table(header, rows) + "\n"


def _cell(value: float, metric: str) -> str:
    if not np.isfinite(value):
        return "–"
    if metric == "sharpe":
        return f"{value:.2f}"
    return f"{100 * value:.1f}%"


def fold_table_markdown(
    table: pd.DataFrame, order: Sequence[str] = (), folds: Sequence[str] = ()
) -> str:
    """One pipe table per metric: rows strategies (``order`` first), columns
    fold x market (a fold holds the markets with an instrument in it)."""
    parts = [
        "## Per-fold results",
        "",
        "Each fold's test window (its strategies fitted on its own train/val "
        f"only) and `{ALL_FOLDS}`: the folds' test windows chained. Per market "
        "(equal weight of its sleeves) and the equal-market average; mean over "
        "seeds, after costs. `–`: the market has no instrument in the fold.",
    ]
    if table.empty:
        return "\n".join([*parts, "", "No fold was evaluated."]) + "\n"
    fold_order = [*folds, ALL_FOLDS]
    present = [f for f in fold_order if f in set(table["fold"])]
    names = [n for n in dict.fromkeys(table["name"]) if n != AVERAGE_NAME]
    columns = [
        (fold, name)
        for fold in present
        for name in [*names, AVERAGE_NAME]
        if ((table["fold"] == fold) & (table["name"] == name)).any()
    ]
    strategies = list(dict.fromkeys([*order, *table["strategy"]]))
    strategies = [s for s in strategies if s in set(table["strategy"])]
    indexed = table.set_index(["strategy", "fold", "name"])
    for metric in FOLD_TABLE_METRICS:
        values = indexed[f"{metric}_mean"]
        rows = [
            [strategy]
            + [
                _cell(float(values.get((strategy, fold, name), np.nan)), metric)
                for fold, name in columns
            ]
            for strategy in strategies
        ]
        header = ["strategy"] + [
            f"{fold.removeprefix('fold_')} {'average' if name == AVERAGE_NAME else name}"
            for fold, name in columns
        ]
        parts += ["", f"### {_TITLES[metric]}", "", markdown_table(header, rows, "lr")]
    return "\n".join(parts) + "\n"


def fold_plan_markdown(folds: pd.DataFrame) -> str:
    """The folds' windows and which instruments join each (and why not)."""
    parts = [
        "## Walk-forward folds",
        "",
        "Test windows on the common calendar; each fold's val window precedes "
        "its test window and training uses the bars before it, purged at both "
        "boundaries. An instrument joins a fold when it has enough train and "
        "val bars and a bar in the test window.",
        "",
        "",
    ]
    rows = []
    for (fold, instrument), group in folds.groupby(["fold", "instrument"], sort=False):
        by = group.set_index("segment")
        joined = bool(group["joined"].iloc[0])
        rows.append(
            [
                fold,
                instrument,
                "yes" if joined else f"no ({group['reason'].iloc[0]})",
                *(
                    f"{int(by.loc[s, 'n_bars'])}"
                    + (
                        f" ({pd.Timestamp(by.loc[s, 'start']).date()} – "
                        f"{pd.Timestamp(by.loc[s, 'end']).date()})"
                        if by.loc[s, "n_bars"]
                        else ""
                    )
                    for s in ("train", "val", "test")
                ),
            ]
        )
    header = ["fold", "instrument", "joined", "train bars", "val bars", "test bars"]
    return "\n".join(parts) + markdown_table(header, rows) + "\n"
