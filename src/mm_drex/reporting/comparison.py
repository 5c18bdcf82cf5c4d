"""The paper-style comparison: every strategy per market and equal-market average.

Input is the seed-aggregated results table (:func:`mm_drex.reporting.results_table`
of a ``metrics`` table). Any strategy present is listed: MM-DREX first when it
is there, then the other strategies (ablations, ...) alphabetically, then the
baselines in the order given (the registry's: buy & hold ... LLMoE router).
Cells are ``mean ± sd`` over seeds (a bare mean for a single seed).
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from mm_drex.markdown import markdown_table
from mm_drex.reporting.tables import METRIC_FORMATS, format_metric

HEADLINE_METRICS = ("total_return", "sharpe", "max_drawdown")
LEAD_STRATEGY = "mm_drex"


def strategy_order(strategies: Sequence[str], baselines: Sequence[str]) -> list[str]:
    """MM-DREX, then other strategies (sorted), then baselines in their order."""
    present = list(dict.fromkeys(strategies))
    lead = [s for s in present if s == LEAD_STRATEGY]
    known = [b for b in baselines if b in present]
    others = sorted(s for s in present if s not in known and s != LEAD_STRATEGY)
    return lead + others + known


def comparison_table(
    results: pd.DataFrame,
    baselines: Sequence[str] = (),
    metrics: Sequence[str] = HEADLINE_METRICS,
) -> pd.DataFrame:
    """One row per strategy; columns ``(<market or average>, <metric>_mean|_sd)``.

    Args:
        results: seed-aggregated results (``strategy, level, name`` and
            ``<metric>_mean`` / ``<metric>_sd``); levels ``market`` and
            ``average`` are used.
        baselines: the baseline names in display order.
        metrics: which metrics.

    Returns:
        A table indexed by strategy (in :func:`strategy_order`) with a
        two-level column index (market, metric statistic) and ``n_seeds``.
    """
    rows = results[results["level"].isin(["market", "average"])]
    if rows.empty:
        raise ValueError("results have no market or average rows to compare")
    columns = [f"{m}_{stat}" for m in metrics for stat in ("mean", "sd")]
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise ValueError(f"results lack the columns {missing}")
    wide = rows.pivot_table(
        index="strategy", columns="name", values=columns, aggfunc="first", dropna=False
    )
    wide = wide.swaplevel(0, 1, axis=1)
    groups = list(dict.fromkeys(rows.loc[rows["level"] == "market", "name"]))
    groups += list(dict.fromkeys(rows.loc[rows["level"] == "average", "name"]))
    wide = wide.reindex(columns=pd.MultiIndex.from_product([groups, columns]))
    order = strategy_order(list(rows["strategy"]), baselines)
    wide = wide.reindex(order)
    wide[("", "n_seeds")] = rows.groupby("strategy")["n_seeds"].max().reindex(order)
    wide.index.name = "strategy"
    return wide


def comparison_markdown(
    table: pd.DataFrame, metrics: Sequence[str] = HEADLINE_METRICS, title: str = ""
) -> str:
    """The comparison table in markdown: one column block per market and the
    equal-market average, one row per strategy (cells mean ± sd over seeds)."""
    groups = [g for g in dict.fromkeys(table.columns.get_level_values(0)) if g]
    header = ["strategy", "seeds"] + [
        f"{group} {METRIC_FORMATS[m][0]}" for group in groups for m in metrics
    ]
    rows = []
    for strategy, row in table.iterrows():
        n_seeds = row[("", "n_seeds")]
        cells = [str(strategy), "–" if pd.isna(n_seeds) else str(int(n_seeds))]
        for group in groups:
            for metric in metrics:
                cells.append(
                    format_metric(
                        row[(group, f"{metric}_mean")],
                        row[(group, f"{metric}_sd")],
                        metric,
                    )
                )
        rows.append(cells)
    body = markdown_table(header, rows, align="llr")
    return f"{title}\n\n{body}" if title else body
