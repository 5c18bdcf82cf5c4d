"""Each expert alone on the test segment, per market and per regime.

Every expert's mixed exposure is backtested on its own through the project's
engine (:func:`mm_drex.backtest.sleeves.run_backtest`, same costs and limits
as every strategy), next to buy & hold. Levels of the table:

- ``instrument`` / ``market`` / ``average``: the backtest's metrics of each
  sleeve, of each market's equal-weight portfolio and their equal-market
  average (:func:`mm_drex.backtest.sleeves.compute_metrics`);
- ``market_regime``: the market's sleeve returns on the bars whose
  *decision-time* regime label (the label of the bar at whose close the held
  exposure was decided) is each regime, pooled over the market's
  instruments: number of returns, annualised mean, volatility, Sharpe and
  hit rate. Drawdown and compounding are not defined on such scattered bars.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mm_drex.backtest.settings import BacktestSettings
from mm_drex.backtest.sleeves import compute_metrics, market_returns, run_backtest
from mm_drex.markdown import markdown_table
from mm_drex.reporting.regimes import regime_performance

BENCHMARK = "buy_hold"


def _strategy_exposures(expert_exposures: pd.DataFrame) -> pd.DataFrame:
    experts = expert_exposures[
        ["expert", "instrument", "timestamp", "exposure"]
    ].rename(columns={"expert": "strategy", "exposure": "target_exposure"})
    keys = expert_exposures.drop_duplicates(["instrument", "timestamp"])
    benchmark = pd.DataFrame(
        {
            "strategy": BENCHMARK,
            "instrument": keys["instrument"].to_numpy(),
            "timestamp": keys["timestamp"].to_numpy(),
            "target_exposure": 1.0,
        }
    )
    return pd.concat([experts, benchmark], ignore_index=True).assign(seed=0)


def expert_test_performance(
    expert_exposures: pd.DataFrame,
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    regimes: pd.DataFrame,
    backtest: BacktestSettings,
    regime_names: Sequence[str],
) -> pd.DataFrame:
    """The expert report table (module docstring): one row per (strategy, level, name).

    ``backtest`` gives the markets, limits, costs and bootstrap (settings or the
    raw ``backtest`` parameters); the evaluated segment is always ``test``.
    """
    backtest = BacktestSettings.of(backtest)
    markets = backtest.markets
    positions = run_backtest(
        _strategy_exposures(expert_exposures),
        ohlcv,
        instruments,
        split,
        segment="test",
        limits=backtest.limits,
        cost_override_bps=backtest.cost_override_bps,
    )
    market_table = market_returns(positions, instruments, markets)
    overall = compute_metrics(
        positions, market_table, instruments, markets, backtest.bootstrap
    ).drop(columns=["seed"])
    overall["regime"] = ""
    by_regime = regime_performance(
        positions, regimes, instruments, markets, regime_names
    )
    table = pd.concat([overall, by_regime], ignore_index=True)
    table["regime"] = table["regime"].fillna("").astype(str)
    return table


def _fmt(value: float, percent: bool = False) -> str:
    if value is None or not np.isfinite(value):
        return ""
    return f"{100 * value:.1f}" if percent else f"{value:.2f}"


def pool_summary(catalog: Mapping[str, Any]) -> pd.DataFrame:
    """One row per admitted pool member: expert, regime, scope, rank, template,
    score, train objective, validation metrics and parameters (as text)."""
    rows = []
    for pool in catalog["pools"]:
        for member in pool["members"]:
            rows.append(
                {
                    "expert": pool["expert"],
                    "regime": pool["regime"],
                    "scope": pool["scope"],
                    "member_id": member["member_id"],
                    "template": member["template"],
                    "score": member["score"],
                    "train_objective": member["train_objective"],
                    "val_objective": member["audit"]["val_objective"],
                    "beats_benchmark": member["audit"]["beats_benchmark"],
                    "q05_return": member["audit"]["q05_return"],
                    "turnover": member["audit"]["turnover"],
                    "params": ", ".join(
                        f"{k}={v}" for k, v in member["params"].items()
                    ),
                }
            )
    return pd.DataFrame(rows)


def _stability_line(catalog: Mapping[str, Any]) -> str:
    """How many pools found stable candidates (positive mean return in every
    train block and on val) and how many members were admitted."""
    pools = catalog["pools"]
    stable = sum(bool(p.get("stable", True)) for p in pools)
    candidates = sum(len(p["candidates"]) for p in pools)
    steady = sum(int(p.get("n_stable_candidates", 0)) for p in pools)
    members = sum(len(p["members"]) for p in pools)
    return (
        f"{stable} of {len(pools)} pools have a stable candidate ({steady} of "
        f"{candidates} audited candidates keep a positive mean return in every "
        f"train block and on val); {members} members admitted. A pool without "
        "one admits its first candidate alone."
    )


def expert_report_markdown(
    performance: pd.DataFrame, catalog: Mapping[str, Any], regime_names: Sequence[str]
) -> str:
    """Markdown: per-market test metrics, per-regime Sharpe, and the pools."""
    overall = performance[performance["level"].isin(["market", "average"])]
    market_rows = [
        [
            row.name,
            row.strategy,
            _fmt(row.total_return, True),
            _fmt(row.annual_return, True),
            _fmt(row.sharpe),
            _fmt(row.max_drawdown, True),
            _fmt(row.annual_turnover),
            _fmt(row.q05_rolling_20, True),
        ]
        for row in overall.sort_values(["level", "name"], kind="stable").itertuples()
    ]
    regime_rows = []
    by_regime = performance[performance["level"] == "market_regime"]
    for (market, strategy), group in by_regime.groupby(
        ["market", "strategy"], sort=False
    ):
        cells = []
        for regime in regime_names:
            row = group[group["regime"] == regime].iloc[0]
            cells.append(
                f"{_fmt(row['sharpe'])} ({_fmt(row['annual_mean_return'], True)}; "
                f"{int(row['n_returns'])})"
            )
        regime_rows.append([market, strategy, *cells])
    member_rows = [
        [
            row.expert,
            row.regime,
            row.scope,
            row.member_id,
            row.template,
            _fmt(row.score),
            _fmt(row.train_objective),
            _fmt(row.val_objective),
            row.params,
        ]
        for row in pool_summary(catalog).itertuples()
    ]
    market_header = ["market", "strategy", "TR %", "annual %", "Sharpe", "MDD %"]
    market_header += ["turnover/yr", "Q5 20-bar %"]
    member_header = ["expert", "regime", "scope", "member", "template", "score"]
    member_header += ["train obj.", "val obj.", "params"]
    parts = [
        "# Experts alone on the test segment",
        "",
        f"Pools version `{catalog['version']}`. Each expert's exposure (its pools of "
        "all regimes mixed by audit score) is backtested alone through the engine, "
        "after costs; buy & hold for reference. Markets are equal-weight portfolios "
        "of their instruments' sleeves.",
        "",
        "## Per market",
        "",
        markdown_table(market_header, market_rows, align="llr"),
        "",
        "## Per market and decision-time regime (Sharpe; annualised mean % in "
        "brackets; bars)",
        "",
        markdown_table(["market", "strategy", *regime_names], regime_rows, "llr"),
        "",
        "## Admitted pool members",
        "",
        _stability_line(catalog),
        "",
        markdown_table(member_header, member_rows, align="lllllrrrl"),
    ]
    return "\n".join(parts) + "\n"


def experts_report(
    expert_exposures: pd.DataFrame,
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    regimes: pd.DataFrame,
    catalog: Mapping[str, Any],
    backtest: BacktestSettings,
) -> tuple[pd.DataFrame, str]:
    """Each expert alone on test per market and regime (the regimes of the
    pools' ``catalog``): the table and its markdown."""
    regime_names = list(catalog["regimes"])
    performance = expert_test_performance(
        expert_exposures, ohlcv, instruments, split, regimes, backtest, regime_names
    )
    return performance, expert_report_markdown(performance, catalog, regime_names)
