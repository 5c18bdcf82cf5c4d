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

from mm_drex.backtest.metrics import annual_volatility, hit_rate, sharpe_ratio
from mm_drex.backtest.projection import ExposureLimits
from mm_drex.backtest.sleeves import (
    compute_metrics,
    market_of_instruments,
    market_returns,
    run_backtest,
)

BENCHMARK = "buy_hold"
REGIME_METRICS = ["annual_mean_return", "annual_volatility", "sharpe", "hit_rate"]


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


def regime_performance(
    positions: pd.DataFrame,
    regimes: pd.DataFrame,
    instruments: pd.DataFrame,
    markets: Mapping[str, Sequence[str]],
    regime_names: Sequence[str],
) -> pd.DataFrame:
    """``market_regime`` rows: sleeve returns grouped by decision-time regime."""
    labels = regimes[["instrument", "timestamp", "regime"]]
    frames = []
    for _, sleeve in positions.groupby(["strategy", "instrument"], sort=False):
        sleeve = sleeve.merge(labels, on=["instrument", "timestamp"], how="left")
        # the return of bar t was earned by the decision at t-1
        sleeve["decision_regime"] = sleeve["regime"].shift(1)
        frames.append(sleeve.iloc[1:])
    returns = pd.concat(frames, ignore_index=True)
    returns["market"] = returns["instrument"].map(
        market_of_instruments(instruments, markets)
    )
    periods = instruments.set_index("instrument")["periods_per_year"]
    rows = []
    for (strategy, market), group in returns.groupby(
        ["strategy", "market"], sort=False
    ):
        years = float(periods.loc[group["instrument"].unique()].mean())
        for regime in regime_names:
            values = group.loc[
                group["decision_regime"] == regime, "net_return"
            ].to_numpy()
            enough = len(values) >= 2
            rows.append(
                {
                    "strategy": strategy,
                    "level": "market_regime",
                    "name": f"{market}/{regime}",
                    "market": market,
                    "regime": regime,
                    "n_returns": len(values),
                    "annual_mean_return": years * values.mean() if enough else np.nan,
                    "annual_volatility": float(annual_volatility(values, years))
                    if enough
                    else np.nan,
                    "sharpe": float(sharpe_ratio(values, years)) if enough else np.nan,
                    "hit_rate": float(hit_rate(values)) if enough else np.nan,
                }
            )
    return pd.DataFrame(rows)


def expert_test_performance(
    expert_exposures: pd.DataFrame,
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    split: pd.DataFrame,
    regimes: pd.DataFrame,
    backtest_params: Mapping[str, Any],
    regime_names: Sequence[str],
) -> pd.DataFrame:
    """The expert report table (module docstring): one row per (strategy, level, name).

    ``backtest_params`` are the ``backtest`` parameters (``markets``,
    ``limits``, ``costs.override_bps``, ``bootstrap``); the evaluated segment is
    always ``test``.
    """
    markets = backtest_params["markets"]
    positions = run_backtest(
        _strategy_exposures(expert_exposures),
        ohlcv,
        instruments,
        split,
        segment="test",
        limits=ExposureLimits.from_params(backtest_params.get("limits")),
        cost_override_bps=backtest_params.get("costs", {}).get("override_bps"),
    )
    market_table = market_returns(positions, instruments, markets)
    overall = compute_metrics(
        positions, market_table, instruments, markets, backtest_params.get("bootstrap")
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


def expert_report_markdown(
    performance: pd.DataFrame, catalog: Mapping[str, Any], regime_names: Sequence[str]
) -> str:
    """Markdown: per-market test metrics, per-regime Sharpe, and the pools."""
    lines = [
        "# Experts alone on the test segment",
        "",
        f"Pools version `{catalog['version']}`. Each expert's exposure (its pools of "
        "all regimes mixed by audit score) is backtested alone through the engine, "
        "after costs; buy & hold for reference. Markets are equal-weight portfolios "
        "of their instruments' sleeves.",
        "",
        "## Per market",
        "",
        "| market | strategy | TR % | annual % | Sharpe | MDD % | turnover/yr | Q5 20-bar % |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    overall = performance[performance["level"].isin(["market", "average"])]
    for row in overall.sort_values(["level", "name"], kind="stable").itertuples():
        lines.append(
            f"| {row.name} | {row.strategy} | {_fmt(row.total_return, True)} | "
            f"{_fmt(row.annual_return, True)} | {_fmt(row.sharpe)} | "
            f"{_fmt(row.max_drawdown, True)} | {_fmt(row.annual_turnover)} | "
            f"{_fmt(row.q05_rolling_20, True)} |"
        )
    lines += [
        "",
        "## Per market and decision-time regime (Sharpe; annualised mean % in brackets; bars)",
        "",
        "| market | strategy | " + " | ".join(regime_names) + " |",
        "|---|---|" + "---:|" * len(regime_names),
    ]
    regime_rows = performance[performance["level"] == "market_regime"]
    for (market, strategy), group in regime_rows.groupby(
        ["market", "strategy"], sort=False
    ):
        cells = []
        for regime in regime_names:
            row = group[group["regime"] == regime].iloc[0]
            cells.append(
                f"{_fmt(row['sharpe'])} ({_fmt(row['annual_mean_return'], True)}; "
                f"{int(row['n_returns'])})"
            )
        lines.append(f"| {market} | {strategy} | " + " | ".join(cells) + " |")
    summary = pool_summary(catalog)
    lines += [
        "",
        "## Admitted pool members",
        "",
        "| expert | regime | scope | member | template | score | train obj. | val obj. | params |",
        "|---|---|---|---|---|---:|---:|---:|---|",
    ]
    for row in summary.itertuples():
        lines.append(
            f"| {row.expert} | {row.regime} | {row.scope} | {row.member_id} | "
            f"{row.template} | {_fmt(row.score)} | {_fmt(row.train_objective)} | "
            f"{_fmt(row.val_objective)} | {row.params} |"
        )
    return "\n".join(lines) + "\n"
