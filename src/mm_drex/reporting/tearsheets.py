"""quantstats HTML tearsheets of MM-DREX and the best baseline per market.

The return series are the market portfolios' (seed-average return on each
date); buy & hold of the same market is the benchmark; the annualisation is
the market's ``periods_per_year`` (365 for crypto). quantstats writes to a
file path, so each page is rendered into a temporary file and returned as a
string for the catalog to save.
"""

from __future__ import annotations

import logging
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib
import pandas as pd


def tearsheet_html(
    returns: pd.Series,
    benchmark: pd.Series | None,
    periods_per_year: int,
    title: str,
) -> str:
    """One quantstats HTML tearsheet (a full page) of per-bar ``returns``
    indexed by timestamp, against ``benchmark`` when given."""
    import matplotlib.pyplot as plt
    import quantstats as qs

    matplotlib.use("Agg")
    font_log = logging.getLogger("matplotlib.font_manager")
    level = font_log.level
    font_log.setLevel(logging.ERROR)  # quantstats asks for Arial: not installed
    with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = Path(folder) / "tearsheet.html"
        qs.reports.html(
            returns.rename("Strategy"),
            benchmark=None if benchmark is None else benchmark.rename("Benchmark"),
            periods_per_year=int(periods_per_year),
            title=title,
            output=str(path),
        )
        plt.close("all")
        font_log.setLevel(level)
        return path.read_text()


def best_strategies(
    metrics: pd.DataFrame, lead: str, baselines: Sequence[str], benchmark: str
) -> dict[str, list[str]]:
    """Per market, the strategies to draw: the lead (when present) and the
    baseline (other than the benchmark) with the highest seed-mean Sharpe."""
    markets = metrics[metrics["level"] == "market"]
    mean = markets.groupby(["name", "strategy"])["sharpe"].mean()
    chosen = {}
    for market, sharpe in mean.groupby(level="name"):
        sharpe = sharpe.droplevel("name")
        candidates = sharpe[
            sharpe.index.isin([b for b in baselines if b != benchmark])
        ].dropna()
        picks = [lead] if lead in sharpe.index else []
        if not candidates.empty:
            picks.append(str(candidates.idxmax()))
        chosen[str(market)] = picks
    return chosen


def market_tearsheets(
    market_returns: pd.DataFrame,
    metrics: pd.DataFrame,
    lead: str,
    baselines: Sequence[str],
    benchmark: str,
    markets: Sequence[str] | None = None,
) -> Mapping[str, str]:
    """``{"<market>_<strategy>": html}`` for the lead and the best baseline
    of each market (of ``markets``; None: all), buy & hold (``benchmark``) as
    the benchmark."""
    periods = (
        metrics[metrics["level"] == "market"]
        .groupby("name")["periods_per_year"]
        .first()
    )
    series = market_returns.groupby(["market", "strategy", "timestamp"])[
        "net_return"
    ].mean()
    pages = {}
    for market, strategies in best_strategies(
        metrics, lead, baselines, benchmark
    ).items():
        if markets is not None and market not in markets:
            continue
        by_strategy = series.loc[market]
        bench = (
            by_strategy.loc[benchmark]
            if benchmark in by_strategy.index.get_level_values(0)
            else None
        )
        for strategy in strategies:
            pages[f"{market}_{strategy}"] = tearsheet_html(
                by_strategy.loc[strategy],
                bench,
                int(periods[market]),
                f"{strategy} on {market} (benchmark {benchmark})",
            )
    return pages
