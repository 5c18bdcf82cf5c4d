"""MM-DREX against its ablations and buy & hold: tables and an honest summary.

The comparison table stacks, per strategy (mean ± sd over seeds):

- levels ``instrument`` / ``market`` / ``average`` — the backtest engine's
  metrics (:func:`mm_drex.backtest.sleeves.compute_metrics` aggregated by
  :func:`mm_drex.reporting.tables.results_table`);
- level ``market_regime`` — the sleeve returns grouped by the decision-time
  regime label (:func:`mm_drex.reporting.regimes.regime_performance`, seeds
  pooled): annualised mean, volatility, Sharpe, hit rate.

The markdown states, per market and for the equal-market average, whether
MM-DREX's mean Sharpe beats each other strategy's, and lists every case
where it does not.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mm_drex.backtest.settings import BacktestSettings
from mm_drex.backtest.sleeves import AVERAGE_NAME
from mm_drex.markdown import markdown_table
from mm_drex.regimes.labels import REGIMES
from mm_drex.reporting.regimes import regime_performance
from mm_drex.reporting.tables import METRIC_FORMATS, format_metric, results_table
from mm_drex.rl.settings import RLSettings
from mm_drex.strategy.mmdrex import ABLATIONS, STRATEGY

SFT_ONLY = "mm_drex_sft_only"
SUMMARY_METRICS = (
    "total_return",
    "sharpe",
    "max_drawdown",
    "annual_volatility",
    "annual_turnover",
)


def comparison_table(
    metrics: pd.DataFrame,
    positions: pd.DataFrame,
    regimes: pd.DataFrame,
    instruments: pd.DataFrame,
    markets: Mapping[str, Sequence[str]],
) -> pd.DataFrame:
    """Seed-aggregated metrics per level plus the per-(market, regime) breakdown."""
    table = results_table(metrics)
    table["regime"] = ""
    by_regime = regime_performance(positions, regimes, instruments, markets, REGIMES)
    by_regime = by_regime.rename(
        columns={
            c: f"{c}_mean"
            for c in ("annual_mean_return", "annual_volatility", "sharpe", "hit_rate")
        }
    )
    by_regime["periods_per_year"] = np.nan
    n_seeds = positions.groupby("strategy")["seed"].nunique()
    by_regime["n_seeds"] = by_regime["strategy"].map(n_seeds).astype(np.int64)
    out = pd.concat([table, by_regime], ignore_index=True)
    out["regime"] = out["regime"].fillna("").astype(str)
    return out


def _level_rows(table: pd.DataFrame, strategies: Sequence[str]) -> list[list[str]]:
    rows = []
    order = {s: i for i, s in enumerate(strategies)}
    table = table.assign(_o=table["strategy"].map(order)).sort_values(
        ["name", "_o"], kind="stable"
    )
    for record in table.to_dict("records"):
        row = [str(record["name"]), str(record["strategy"]), str(record["n_seeds"])]
        row += [
            format_metric(record[f"{m}_mean"], record[f"{m}_sd"], m)
            for m in SUMMARY_METRICS
        ]
        rows.append(row)
    return rows


def verdicts(comparison: pd.DataFrame, strategy: str = STRATEGY) -> pd.DataFrame:
    """Per market and the equal-market average: MM-DREX's mean Sharpe minus
    each other strategy's, and whether it is higher."""
    levels = comparison[comparison["level"].isin(["market", "average"])]
    rows = []
    for name, group in levels.groupby("name", sort=False):
        own = group.loc[group["strategy"] == strategy, "sharpe_mean"]
        if own.empty:
            continue
        for record in group[group["strategy"] != strategy].to_dict("records"):
            difference = float(own.iloc[0] - record["sharpe_mean"])
            rows.append(
                {
                    "name": name,
                    "other": record["strategy"],
                    "sharpe": float(own.iloc[0]),
                    "other_sharpe": float(record["sharpe_mean"]),
                    "difference": difference,
                    "beats": bool(difference > 0),
                }
            )
    return pd.DataFrame(
        rows, columns=["name", "other", "sharpe", "other_sharpe", "difference", "beats"]
    )


def _rl_effect(comparison: pd.DataFrame, selection: pd.DataFrame) -> str:
    """One sentence: what RL did on val (selection) and on the evaluated segment."""
    average = comparison[comparison["level"] == "average"].set_index("strategy")
    if selection.empty or not {STRATEGY, SFT_ONLY} <= set(average.index):
        return ""
    chosen = selection[selection["chosen"]].iloc[0]
    test, sft = average.loc[STRATEGY], average.loc[SFT_ONLY]
    difference = test["sharpe_mean"] - sft["sharpe_mean"]
    carried = "carries over to" if difference > 0 else "does **not** carry over to"
    return (
        f"RL against the SFT-only router: on val the kept checkpoint scores {chosen['val_score']:.2f} "
        f"against {chosen['sft_val_score']:.2f} (seed {chosen['seed']}, equal-market Sharpe); on the "
        f"evaluated segment the equal-market Sharpe is {test['sharpe_mean']:.2f} ± "
        f"{test['sharpe_sd']:.2f} against {sft['sharpe_mean']:.2f}, a difference of {difference:+.2f}: "
        f"the validation gain {carried} it."
    )


def _header(context: Mapping[str, Any], policy_config: Mapping[str, Any]) -> list[str]:
    seeds = ", ".join(str(s) for s in policy_config.get("seeds", []))
    return [
        "# MM-DREX: RL-tuned routing, ablations and buy & hold",
        "",
        f"Segment **{context.get('segment', 'test')}** (never used to choose anything). "
        f"Costs: {context.get('cost', '')}. Limits: {context.get('limits', '')}. "
        "Decisions at the close of t execute at the open of t+1 through the backtest "
        "engine. Cells: mean ± sd over seeds "
        f"({seeds} for the policy-based strategies; the others are deterministic, "
        "one run).",
    ]


def _verdict_section(comparison: pd.DataFrame, selection: pd.DataFrame) -> list[str]:
    verdict = verdicts(comparison)
    if verdict.empty:
        return []
    lost = verdict[~verdict["beats"]]
    average = verdict[verdict["name"] == AVERAGE_NAME]
    parts = ["", "## Verdict", ""]
    if not average.empty:
        wins = int(average["beats"].sum())
        parts.append(
            f"On the equal-market average, MM-DREX (Sharpe {average['sharpe'].iloc[0]:.2f}) "
            f"beats {wins} of the {len(average)} other strategies."
        )
    won = verdict.groupby("name", sort=False)["beats"].all()
    best = [str(n) for n, beaten_all in won.items() if beaten_all]
    if best:
        parts.append(
            f"MM-DREX has the highest mean Sharpe of all these strategies in: {', '.join(best)}."
        )
    rl_effect = _rl_effect(comparison, selection)
    if rl_effect:
        parts += ["", rl_effect]
    if lost.empty:
        parts.append(
            "MM-DREX has the higher mean Sharpe in every market and on average."
        )
        return parts
    rows = [
        [
            r["name"],
            r["other"],
            f"{r['sharpe']:.2f}",
            f"{r['other_sharpe']:.2f}",
            f"{r['difference']:.2f}",
        ]
        for r in lost.to_dict("records")
    ]
    header = [
        "market",
        "other strategy",
        "MM-DREX Sharpe",
        "other Sharpe",
        "difference",
    ]
    return parts + [
        "",
        "Where MM-DREX does **not** have the higher mean Sharpe:",
        "",
        markdown_table(header, rows),
    ]


def _level_sections(comparison: pd.DataFrame, strategies: Sequence[str]) -> list[str]:
    header = [
        "name",
        "strategy",
        "seeds",
        *[METRIC_FORMATS[m][0] for m in SUMMARY_METRICS],
    ]
    parts = []
    for level, title in (
        ("average", "Equal-market average"),
        ("market", "Per market (equal weight of its instruments' sleeves)"),
        ("instrument", "Per instrument"),
    ):
        subset = comparison[comparison["level"] == level]
        if not subset.empty:
            table = markdown_table(header, _level_rows(subset, strategies))
            parts += ["", f"## {title}", "", table]
    return parts


def _regime_section(comparison: pd.DataFrame, strategies: Sequence[str]) -> list[str]:
    by_regime = comparison[comparison["level"] == "market_regime"]
    if by_regime.empty:
        return []
    wide = by_regime.pivot_table(
        index=["market", "regime"], columns="strategy", values="sharpe_mean", sort=False
    )
    wide = wide[[s for s in strategies if s in wide.columns]]
    counts = by_regime[by_regime["strategy"] == STRATEGY].set_index(
        ["market", "regime"]
    )["n_returns"]
    rows = [
        [
            m,
            r,
            str(int(counts.get((m, r), 0))),
            *[("–" if not np.isfinite(v) else f"{v:.2f}") for v in values],
        ]
        for (m, r), values in zip(wide.index, wide.to_numpy(), strict=True)
    ]
    return [
        "",
        "## Sharpe by market and decision-time regime (seeds pooled)",
        "",
        "Returns of bar t+1 grouped by the forward regime label of the decision bar t "
        "(hindsight labels, used here only to break the result down).",
        "",
        markdown_table(["market", "regime", "returns (MM-DREX)", *wide.columns], rows),
    ]


def _reward_section(train_comparison: pd.DataFrame) -> list[str]:
    if train_comparison.empty:
        return []
    average = train_comparison[train_comparison["instrument"] == AVERAGE_NAME]
    wide = average.pivot_table(
        index="seed", columns="policy", values=["mean_reward", "sharpe"]
    )
    policies = ("trained", "sft_only", "random")
    rows = [
        [
            str(seed),
            *[f"{record[('mean_reward', p)]:.4f}" for p in policies],
            *[f"{record[('sharpe', p)]:.2f}" for p in policies],
        ]
        for seed, record in wide.iterrows()
    ]
    segment = average["segment"].iloc[0] if len(average) else "train"
    header = ["seed", "reward trained", "reward SFT-only", "reward random"]
    header += ["Sharpe trained", "Sharpe SFT-only", "Sharpe random"]
    return [
        "",
        f"## Reward on {segment}: trained policy vs SFT-only router vs random policy",
        "",
        "Whole segment per instrument from flat, equal-market average of the mean "
        "reward per decision (reward units: the training reward) and of the Sharpe.",
        "",
        markdown_table(header, rows),
    ]


def _selection_section(
    selection: pd.DataFrame, policy_config: Mapping[str, Any]
) -> list[str]:
    if selection.empty:
        return []
    rows = [
        [
            str(r["entry"]),
            r["overrides"],
            str(r["seed"]),
            str(r["best_iteration"]),
            f"{r['val_score']:.3f}",
            f"{r['sft_val_score']:.3f}",
            "yes" if r["chosen"] else "",
        ]
        for r in selection.to_dict("records")
    ]
    header = ["grid entry", "overrides", "seed", "best iteration", "val score"]
    header += ["SFT-only val score", "chosen"]
    parts = [
        "",
        f"## Selection on {policy_config.get('selection_segment', 'val')} "
        f"({policy_config.get('selection_metric', 'sharpe')})",
        "",
        markdown_table(header, rows),
    ]
    checkpoints = policy_config.get("checkpoints", {})
    if checkpoints:
        kept = ", ".join(
            f"seed {s}: iteration {c['iteration']} (val {c['val_score']:.3f})"
            for s, c in checkpoints.items()
        )
        parts += ["", f"Checkpoint kept per seed (best val score): {kept}."]
    return parts


def _choices_section(choices: pd.DataFrame) -> list[str]:
    if choices.empty:
        return []
    rows = choices[["strategy", "chosen_on", "market", "choice"]].to_numpy().tolist()
    return [
        "",
        "## What the learned ablations chose",
        "",
        markdown_table(["strategy", "chosen on", "market", "choice"], rows),
    ]


def report_markdown(
    comparison: pd.DataFrame,
    train_comparison: pd.DataFrame,
    selection: pd.DataFrame,
    choices: pd.DataFrame,
    policy_config: Mapping[str, Any],
    context: Mapping[str, Any],
) -> str:
    """The MM-DREX report (markdown): verdict, levels, regimes, RL's reward
    against the SFT-only and a random policy, the selection on val and what
    the learned ablations chose."""
    strategies = list(dict.fromkeys(comparison["strategy"]))
    strategies = [STRATEGY, *[s for s in strategies if s != STRATEGY]]
    parts = [
        *_header(context, policy_config),
        *_verdict_section(comparison, selection),
        *_level_sections(comparison, strategies),
        *_regime_section(comparison, strategies),
        *_reward_section(train_comparison),
        *_selection_section(selection, policy_config),
        *_choices_section(choices),
    ]
    for note in context.get("notes", []):
        parts += ["", note]
    return "\n".join(parts) + "\n"


def mmdrex_family(table: pd.DataFrame, benchmark: str) -> pd.DataFrame:
    """The rows of MM-DREX, its ablations and the benchmark."""
    family = {STRATEGY, *ABLATIONS.values(), benchmark}
    return table[table["strategy"].isin(family)].reset_index(drop=True)


def mmdrex_report(
    metrics: pd.DataFrame,
    positions: pd.DataFrame,
    regimes: pd.DataFrame,
    instruments: pd.DataFrame,
    train_comparison: pd.DataFrame,
    selection: pd.DataFrame,
    choices: pd.DataFrame,
    policy_config: Mapping[str, Any],
    rl: RLSettings,
    backtest: BacktestSettings,
) -> tuple[pd.DataFrame, str]:
    """MM-DREX, its ablations and the benchmark from the backtest's metrics and
    positions: the comparison table (parquet) and the report (markdown)."""
    benchmark = backtest.benchmark_strategy
    metrics = mmdrex_family(metrics, benchmark)
    positions = mmdrex_family(positions, benchmark)
    table = comparison_table(metrics, positions, regimes, instruments, backtest.markets)
    costs, limits = backtest.cost_override_bps, backtest.limits
    notes = []
    if (
        "no_chart" in rl.strategy.ablations
        and not (positions["strategy"] == ABLATIONS["no_chart"]).any()
    ):
        notes.append(
            "**No-chart ablation not run**: no weights of a router trained without the "
            "chart view (`router_sft.ablations` has no `no_chart`)."
        )
    context = {
        "segment": backtest.segment,
        "cost": f"instruments' cost_bps{f', overrides {dict(costs)}' if costs else ''}",
        "limits": f"|exposure| <= {limits.max_abs_exposure}, gross leverage "
        f"{limits.gross_leverage}, turnover cap {limits.max_turnover_per_bar}, "
        f"shorts {limits.short_refusal}",
        "notes": notes,
    }
    return table, report_markdown(
        table, train_comparison, selection, choices, policy_config, context
    )
