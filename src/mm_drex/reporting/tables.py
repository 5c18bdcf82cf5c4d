"""Results tables: metrics aggregated over seeds, as parquet and markdown."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from mm_drex.backtest.metrics import METRIC_NAMES, aggregate_seeds
from mm_drex.backtest.settings import BacktestSettings
from mm_drex.markdown import markdown_table

RESULT_GROUP_COLUMNS = ["strategy", "level", "name", "market", "periods_per_year"]
LEVELS = {
    "instrument": "Per instrument",
    "market": "Per market (equal weight of its instruments' sleeves)",
    "average": "Equal-market average (mean of the market metrics)",
}
# How each metric is shown in markdown: header, scale, decimals.
METRIC_FORMATS: dict[str, tuple[str, float, int]] = {
    "total_return": ("TR %", 100.0, 1),
    "annual_return": ("Ann. return %", 100.0, 1),
    "annual_volatility": ("Ann. vol %", 100.0, 1),
    "sharpe": ("Sharpe", 1.0, 2),
    "sortino": ("Sortino", 1.0, 2),
    "calmar": ("Calmar", 1.0, 2),
    "max_drawdown": ("MDD %", 100.0, 1),
    "annual_turnover": ("Turnover /yr", 1.0, 2),
    "q05_rolling_20": ("Q5 20-bar %", 100.0, 1),
    "hit_rate": ("Hit %", 100.0, 1),
}


def results_table(metrics: pd.DataFrame) -> pd.DataFrame:
    """Seed mean and sd of every metric per (strategy, level, name).

    Args:
        metrics: the backtest's per-seed metrics table.

    Returns:
        ``strategy, level, name, market, periods_per_year, n_seeds, start, end,
        n_returns`` and ``<metric>_mean`` / ``<metric>_sd`` for every metric and
        for the Sharpe interval bounds.
    """
    values = [*METRIC_NAMES, "sharpe_ci_low", "sharpe_ci_high"]
    table = aggregate_seeds(metrics, RESULT_GROUP_COLUMNS, values)
    spans = metrics.groupby(RESULT_GROUP_COLUMNS, sort=False, dropna=False).agg(
        start=("start", "min"), end=("end", "max"), n_returns=("n_returns", "max")
    )
    table = table.merge(spans.reset_index(), on=RESULT_GROUP_COLUMNS, how="left")
    first = [*RESULT_GROUP_COLUMNS, "n_seeds", "start", "end", "n_returns"]
    return table[first + [c for c in table.columns if c not in first]]


def _cell(mean: float, sd: float, scale: float, decimals: int) -> str:
    if not np.isfinite(mean):
        return "–"
    text = f"{mean * scale:.{decimals}f}"
    if np.isfinite(sd):
        text += f" ± {sd * scale:.{decimals}f}"
    return text


def format_metric(mean: float, sd: float, metric: str) -> str:
    """``mean ± sd`` of one metric in its display unit (``–`` when missing)."""
    _, scale, decimals = METRIC_FORMATS[metric]
    return _cell(mean, sd, scale, decimals)


def difference_cells(record: Mapping[str, Any], other: str) -> list[str]:
    """Sharpe, the other's Sharpe, the difference, its interval and whether it
    is significant, as table cells (``other``: the other Sharpe's column)."""
    return [
        f"{record['sharpe']:.2f}",
        f"{record[other]:.2f}",
        f"{record['sharpe_difference']:.2f}",
        f"[{record['ci_low']:.2f}, {record['ci_high']:.2f}]",
        "yes" if record["significant"] else "no",
    ]


def _format_level(table: pd.DataFrame, metrics: Sequence[str]) -> str:
    header = ["name", "strategy", "seeds", "bars"] + [
        METRIC_FORMATS[m][0] for m in metrics
    ]
    if "sharpe" in metrics:
        header.append("Sharpe 95% CI")
    rows = []
    for record in table.to_dict("records"):
        row = [
            str(record["name"]),
            str(record["strategy"]),
            str(record["n_seeds"]),
            str(record["n_returns"]),
        ]
        for metric in metrics:
            _, scale, decimals = METRIC_FORMATS[metric]
            row.append(
                _cell(record[f"{metric}_mean"], record[f"{metric}_sd"], scale, decimals)
            )
        if "sharpe" in metrics:
            low, high = record["sharpe_ci_low_mean"], record["sharpe_ci_high_mean"]
            row.append(f"[{low:.2f}, {high:.2f}]" if np.isfinite(low) else "–")
        rows.append(row)
    return markdown_table(header, rows)


def results_markdown(
    results: pd.DataFrame,
    sharpe_tests: pd.DataFrame,
    selection: pd.DataFrame,
    context: Mapping[str, Any],
    metrics: Sequence[str] = tuple(METRIC_FORMATS),
) -> str:
    """The results report in markdown.

    Args:
        results: :func:`results_table` output.
        sharpe_tests: the backtest's Sharpe-difference intervals.
        selection: the baselines' chosen parameters.
        context: ``segment``, ``cost`` (text), ``limits`` (text) for the header.
        metrics: which metric columns to show, in order.
    """
    unknown = sorted(set(metrics) - set(METRIC_FORMATS))
    if unknown:
        raise ValueError(
            f"parameters reporting.table_metrics: unknown metric(s) {unknown}; "
            f"known: {list(METRIC_FORMATS)}"
        )
    parts = [
        "# Backtest results",
        "",
        f"Segment: **{context.get('segment', 'test')}**. Costs: {context.get('cost', '')}. "
        f"Limits: {context.get('limits', '')}. Decisions at the close of bar t are "
        "executed at the open of bar t+1. Cells with several seeds show mean ± sd "
        "over seeds; the Sharpe interval is the moving-block bootstrap interval "
        "(mean of its bounds over seeds).",
    ]
    for level, title in LEVELS.items():
        subset = results[results["level"] == level]
        if subset.empty:
            continue
        parts += ["", f"## {title}", "", _format_level(subset, metrics)]
    if not sharpe_tests.empty:
        header = [
            "level",
            "name",
            "strategy",
            "seed",
            "benchmark",
            "Sharpe",
            "benchmark Sharpe",
            "difference",
            "95% CI",
            "significant",
        ]
        rows = [
            [
                str(r["level"]),
                str(r["name"]),
                str(r["strategy"]),
                str(r["seed"]),
                str(r["benchmark"]),
                *difference_cells(r, "benchmark_sharpe"),
            ]
            for r in sharpe_tests.to_dict("records")
        ]
        parts += [
            "",
            "## Sharpe difference against the benchmark (block bootstrap)",
            "",
            markdown_table(header, rows),
        ]
    if not selection.empty:
        rows = [
            [
                str(r["strategy"]),
                str(r["seed"]),
                str(r["instrument"]),
                str(r["parameters"]),
                "–"
                if not np.isfinite(r["selection_score"])
                else f"{r['selection_score']:.2f}",
            ]
            for r in selection.to_dict("records")
        ]
        parts += [
            "",
            "## Baseline parameters chosen on validation",
            "",
            markdown_table(
                ["strategy", "seed", "instrument", "parameters", "val Sharpe"], rows
            ),
        ]
    return "\n".join(parts) + "\n"


def results_report(
    results: pd.DataFrame,
    sharpe_tests: pd.DataFrame,
    selection: pd.DataFrame,
    backtest: BacktestSettings,
    metrics: Sequence[str],
) -> str:
    """:func:`results_markdown` with the backtest's segment, costs and limits."""
    overrides = backtest.cost_override_bps
    context = {
        "segment": backtest.segment,
        "cost": "per instrument from the instruments table (10 bps default)"
        + (f", overridden by {overrides}" if overrides else ""),
        "limits": ", ".join(f"{k}={v}" for k, v in asdict(backtest.limits).items()),
    }
    return results_markdown(results, sharpe_tests, selection, context, metrics)
