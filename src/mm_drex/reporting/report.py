"""The run report: one markdown page gathering every table and figure.

Every number comes from a table produced in the run: each section is either
rendered here from a dataset or is a stage's own markdown report included as
is (headings demoted one level). Figures are linked by their file names
relative to the report, which sits in the same folder (``08_reporting``) as
the PNGs the catalog writes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from mm_drex.markdown import markdown_table
from mm_drex.reporting.comparison import comparison_markdown, comparison_table
from mm_drex.reporting.settings import ReportingSettings
from mm_drex.reporting.tables import results_table

MAIN_TABLE_METRICS = (
    "total_return",
    "sharpe",
    "max_drawdown",
    "sortino",
    "calmar",
    "annual_turnover",
    "q05_rolling_20",
)


def main_table(metrics: pd.DataFrame, baselines: Sequence[str]) -> pd.DataFrame:
    """Every strategy present x (each market, equal-market average) x
    :data:`MAIN_TABLE_METRICS`, mean and sd over seeds, flattened to
    ``strategy, name, n_seeds, <metric>_mean, <metric>_sd`` for parquet."""
    results = results_table(metrics)
    wide = comparison_table(results, baselines, MAIN_TABLE_METRICS)
    n_seeds = wide[("", "n_seeds")]
    long = wide.drop(columns=[("", "n_seeds")]).stack(level=0, future_stack=True)
    long.index.names = ["strategy", "name"]
    long = long.reset_index()
    long.insert(2, "n_seeds", long["strategy"].map(n_seeds).astype("Int64"))
    long.columns = [str(c) for c in long.columns]
    return long


def headline_metrics(
    table: pd.DataFrame,
    metrics: Sequence[str] = ("total_return", "sharpe", "max_drawdown"),
) -> dict[str, float]:
    """``{"<strategy>.<name>.<metric>": seed mean}`` from :func:`main_table`
    (finite values only), e.g. ``mm_drex.equal_market_average.sharpe``."""
    out = {}
    for row in table.to_dict("records"):
        for metric in metrics:
            value = row[f"{metric}_mean"]
            if pd.notna(value) and np.isfinite(value):
                out[f"{row['strategy']}.{row['name']}.{metric}"] = float(value)
    return out


def tracked_metrics(table: pd.DataFrame) -> dict[str, dict[str, float]]:
    """:func:`headline_metrics` in kedro-mlflow's metrics format
    (``{name: {"value": v, "step": 0}}``)."""
    return {
        name: {"value": value, "step": 0}
        for name, value in headline_metrics(table).items()
    }


def main_table_markdown(metrics: pd.DataFrame, baselines: Sequence[str]) -> str:
    """The main table in markdown: one table per market and the average."""
    results = results_table(metrics)
    wide = comparison_table(results, baselines, MAIN_TABLE_METRICS)
    groups = [g for g in dict.fromkeys(wide.columns.get_level_values(0)) if g]
    parts = [
        "## Main table",
        "",
        "Mean ± sd over seeds, evaluated segment, after costs; one table per "
        "market (equal weight of its instruments' sleeves) and the equal-market "
        "average.",
    ]
    for group in groups:
        columns = [c for c in wide.columns if c[0] in (group, "")]
        table = comparison_markdown(
            wide[columns], MAIN_TABLE_METRICS, title=f"### {group}"
        )
        parts += ["", table]
    return "\n".join(parts) + "\n"


def data_quality_markdown(data_quality: pd.DataFrame) -> str:
    """Counts of the ingestion repair log per instrument, rule and action."""
    if data_quality.empty:
        return "## Data quality\n\nNo repair or finding was logged.\n"
    counts = (
        data_quality.groupby(["instrument", "rule", "action"], sort=False)
        .size()
        .rename("events")
        .reset_index()
    )
    rows = [
        [r.instrument, r.rule, r.action, r.events]
        for r in counts.itertuples(index=False)
    ]
    table = markdown_table(["instrument", "rule", "action", "events"], rows, "lllr")
    return "## Data quality (ingestion's repair log)\n\n" + table + "\n"


def demote_headings(markdown: str, levels: int = 1) -> str:
    """Push every ``#`` heading down ``levels`` so that an included stage report
    nests under its section."""
    out = []
    for line in markdown.splitlines():
        if line.startswith("#"):
            line = "#" * levels + line
        out.append(line)
    return "\n".join(out)


def gather_report(
    sections: Mapping[str, str], figures: Sequence[tuple[str, str]], title: str
) -> str:
    """One markdown page: ``sections`` (title -> markdown, in order) and
    ``figures`` ((caption, relative path) pairs)."""
    parts = [f"# {title}", "", "## Contents", ""]
    parts += [f"- {name}" for name in sections]
    if figures:
        parts.append("- Figures")
    for name, body in sections.items():
        lines = body.strip().splitlines()
        if lines and lines[0].startswith("## "):
            # a section rendered here: its own heading is the section's
            lines = lines[1:]
        parts += ["", f"## {name}", "", demote_headings("\n".join(lines).strip(), 2)]
    if figures:
        parts += ["", "## Figures", ""]
        for caption, path in figures:
            parts += [f"### {caption}", "", f"![{caption}]({path})", ""]
    return "\n".join(parts).rstrip() + "\n"


def run_report(
    tables: Mapping[str, str],
    data_quality: pd.DataFrame,
    sample_charts: Iterable[str],
    settings: ReportingSettings,
) -> str:
    """``report.md``: every table of the run, the data quality, and the
    figures linked (``reporting.report_figures`` and the sample charts by
    their names; they are not loaded).

    Args:
        tables: markdown by key: ``main``, ``significance``, ``deflated``, ``costs``,
            ``regimes``, ``attribution``, ``mmdrex``, ``router``, ``experts``,
            ``labels``, ``results`` (the order of the sections).
    """
    sections = {title: tables[key] for key, title in SECTIONS.items() if key in tables}
    sections["Data quality (ingestion stage)"] = data_quality_markdown(data_quality)
    sections["All results (per instrument, market, average)"] = tables["results"]
    figures = [(figure.caption, figure.path) for figure in settings.report_figures]
    figures += [
        (f"Chart the router saw: {name}", f"sample_charts/{name}.png")
        for name in sorted(sample_charts)
    ]
    return gather_report(sections, figures, settings.report_title)


SECTIONS = {
    "main": "Main table",
    "significance": "Significance",
    "deflated": "Deflated Sharpe ratio",
    "costs": "Cost sensitivity",
    "regimes": "Results by regime",
    "attribution": "Per-expert attribution",
    "mmdrex": "MM-DREX and its ablations (audit stage)",
    "router": "Router evaluation (router_sft stage)",
    "experts": "Experts alone (experts stage)",
    "labels": "Regime labels (labeling stage)",
}
