"""Cost sensitivity: the same exposures re-executed at other costs.

Every strategy's target exposures (the backtest stage's ``strategy_exposures``)
go through the one engine (:func:`mm_drex.backtest.run_backtest`) with the
cost of every instrument overridden (``{"all": bps}``), and the market
portfolios' metrics are recomputed. Nothing else changes: a cost-sensitivity
row at the configured cost reproduces the main table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from mm_drex.backtest import (
    ExposureLimits,
    market_periods_per_year,
    market_returns,
)
from mm_drex.backtest.folds import FoldRun, run_folds
from mm_drex.backtest.metrics import aggregate_seeds, performance_summary
from mm_drex.backtest.sleeves import AVERAGE_NAME
from mm_drex.markdown import markdown_table

SENSITIVITY_METRICS = (
    "total_return",
    "sharpe",
    "max_drawdown",
    "annual_turnover",
)


def cost_sensitivity(
    exposures: pd.DataFrame,
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    markets: Mapping[str, Sequence[str]],
    costs_bps: Sequence[float],
    segment: str = "test",
    limits: ExposureLimits | None = None,
) -> pd.DataFrame:
    """Metrics of every strategy per market and equal-market average, per cost.

    Args:
        exposures: ``strategy, seed, instrument, timestamp, target_exposure``.
        ohlcv, instruments, split: ingestion's tables.
        markets: market -> asset classes (``backtest.markets``).
        costs_bps: the costs to evaluate, in bps of traded notional.

    Returns:
        ``cost_bps, strategy, name, n_seeds`` and ``<metric>_mean|_sd`` for
        :data:`SENSITIVITY_METRICS` (seed mean and sd); ``name`` is a market or
        the equal-market average.
    """
    return fold_cost_sensitivity(
        [(exposures, split)],
        ohlcv,
        instruments,
        markets,
        costs_bps,
        segment,
        limits,
    )


def fold_cost_sensitivity(
    runs: Sequence[FoldRun],
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    markets: Mapping[str, Sequence[str]],
    costs_bps: Sequence[float],
    segment: str = "test",
    limits: ExposureLimits | None = None,
) -> pd.DataFrame:
    """:func:`cost_sensitivity` of the walk-forward record: every fold's
    exposures re-executed on its own test window at each cost, chained."""
    rows = []
    for bps in costs_bps:
        positions = run_folds(
            runs,
            ohlcv,
            instruments,
            segment=segment,
            limits=limits,
            cost_override_bps={"all": float(bps)},
        )
        table = market_returns(positions, instruments, markets)
        market_periods = market_periods_per_year(instruments, markets, table)
        for (strategy, seed, market), group in table.groupby(
            ["strategy", "seed", "market"], sort=False
        ):
            if len(group) < 2:
                continue
            summary = performance_summary(
                group["net_return"].to_numpy(),
                market_periods[market],
                group["turnover"].to_numpy(),
            )
            rows.append(
                {
                    "cost_bps": float(bps),
                    "strategy": strategy,
                    "seed": seed,
                    "name": market,
                    **{m: float(summary[m]) for m in SENSITIVITY_METRICS},
                }
            )
    per_seed = pd.DataFrame(rows)
    if per_seed.empty:
        return per_seed
    average = (
        per_seed.groupby(["cost_bps", "strategy", "seed"], sort=False)[
            list(SENSITIVITY_METRICS)
        ]
        .mean()
        .reset_index()
        .assign(name=AVERAGE_NAME)
    )
    per_seed = pd.concat([per_seed, average], ignore_index=True)
    return aggregate_seeds(
        per_seed, ["cost_bps", "strategy", "name"], SENSITIVITY_METRICS
    )


def cost_sensitivity_markdown(table: pd.DataFrame, metric: str = "sharpe") -> str:
    """One row per (strategy, name), one column per cost: the seed-mean metric."""
    if table.empty:
        return "## Cost sensitivity\n\nNo exposures to re-execute.\n"
    wide = table.pivot_table(
        index=["strategy", "name"],
        columns="cost_bps",
        values=f"{metric}_mean",
        sort=False,
    )
    costs = list(wide.columns)
    lines = [
        "## Cost sensitivity",
        "",
        f"Seed-mean {metric} of each strategy when every instrument's cost is set "
        "to the column's bps of traded notional (same exposures, same engine).",
        "",
    ]
    rows = [
        [strategy, name, *("–" if pd.isna(v) else f"{v:.2f}" for v in row)]
        for (strategy, name), row in wide.iterrows()
    ]
    header = ["strategy", "name", *(f"{c:g} bps" for c in costs)]
    lines.append(markdown_table(header, rows, align="llr"))
    return "\n".join(lines) + "\n"
