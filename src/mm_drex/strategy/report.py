"""MM-DREX against its ablations and buy & hold: tables and an honest summary.

The comparison table stacks, per strategy (mean ± sd over seeds):

- levels ``instrument`` / ``market`` / ``average`` — the backtest engine's
  metrics (:func:`mm_drex.backtest.sleeves.compute_metrics` aggregated by
  :func:`mm_drex.reporting.tables.results_table`);
- level ``market_regime`` — the sleeve returns grouped by the decision-time
  regime label (:func:`mm_drex.experts.report.regime_performance`, seeds
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

from mm_drex.backtest.sleeves import AVERAGE_NAME
from mm_drex.experts.report import regime_performance
from mm_drex.regimes.labels import REGIMES
from mm_drex.reporting.tables import METRIC_FORMATS, format_metric, results_table
from mm_drex.strategy.mmdrex import STRATEGY

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


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


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


def report_markdown(
    comparison: pd.DataFrame,
    train_comparison: pd.DataFrame,
    selection: pd.DataFrame,
    choices: pd.DataFrame,
    policy_config: Mapping[str, Any],
    context: Mapping[str, Any],
) -> str:
    """The stage's report (markdown)."""
    strategies = list(dict.fromkeys(comparison["strategy"]))
    strategies = [STRATEGY, *[s for s in strategies if s != STRATEGY]]
    header = [
        "name",
        "strategy",
        "seeds",
        *[METRIC_FORMATS[m][0] for m in SUMMARY_METRICS],
    ]
    parts = [
        "# MM-DREX: RL-tuned routing, ablations and buy & hold",
        "",
        f"Segment **{context.get('segment', 'test')}** (never used to choose anything). "
        f"Costs: {context.get('cost', '')}. Limits: {context.get('limits', '')}. "
        "Decisions at the close of t execute at the open of t+1 through the backtest "
        "engine. Cells: mean ± sd over seeds "
        f"({', '.join(str(s) for s in policy_config.get('seeds', []))} for the "
        "policy-based strategies; the others are deterministic, one run).",
    ]
    verdict = verdicts(comparison)
    if not verdict.empty:
        lost = verdict[~verdict["beats"]]
        average = verdict[verdict["name"] == AVERAGE_NAME]
        parts += ["", "## Verdict", ""]
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
        else:
            parts += [
                "",
                "Where MM-DREX does **not** have the higher mean Sharpe:",
                "",
                *_table(
                    [
                        "market",
                        "other strategy",
                        "MM-DREX Sharpe",
                        "other Sharpe",
                        "difference",
                    ],
                    [
                        [
                            r["name"],
                            r["other"],
                            f"{r['sharpe']:.2f}",
                            f"{r['other_sharpe']:.2f}",
                            f"{r['difference']:.2f}",
                        ]
                        for r in lost.to_dict("records")
                    ],
                ),
            ]
    for level, title in (
        ("average", "Equal-market average"),
        ("market", "Per market (equal weight of its instruments' sleeves)"),
        ("instrument", "Per instrument"),
    ):
        subset = comparison[comparison["level"] == level]
        if not subset.empty:
            parts += [
                "",
                f"## {title}",
                "",
                *_table(header, _level_rows(subset, strategies)),
            ]
    by_regime = comparison[comparison["level"] == "market_regime"]
    if not by_regime.empty:
        wide = by_regime.pivot_table(
            index=["market", "regime"],
            columns="strategy",
            values="sharpe_mean",
            sort=False,
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
        parts += [
            "",
            "## Sharpe by market and decision-time regime (seeds pooled)",
            "",
            "Returns of bar t+1 grouped by the forward regime label of the decision bar t "
            "(hindsight labels, used here only to break the result down).",
            "",
            *_table(["market", "regime", "returns (MM-DREX)", *wide.columns], rows),
        ]
    if not train_comparison.empty:
        average = train_comparison[
            train_comparison["instrument"] == "equal_market_average"
        ]
        wide = average.pivot_table(
            index="seed", columns="policy", values=["mean_reward", "sharpe"]
        )
        rows = []
        for seed, record in wide.iterrows():
            rows.append(
                [
                    str(seed),
                    *[
                        f"{record[('mean_reward', p)]:.4f}"
                        for p in ("trained", "sft_only", "random")
                    ],
                    *[
                        f"{record[('sharpe', p)]:.2f}"
                        for p in ("trained", "sft_only", "random")
                    ],
                ]
            )
        segment = average["segment"].iloc[0] if len(average) else "train"
        parts += [
            "",
            f"## Reward on {segment}: trained policy vs SFT-only router vs random policy",
            "",
            "Whole segment per instrument from flat, equal-market average of the mean "
            "reward per decision (reward units: the training reward) and of the Sharpe.",
            "",
            *_table(
                [
                    "seed",
                    "reward trained",
                    "reward SFT-only",
                    "reward random",
                    "Sharpe trained",
                    "Sharpe SFT-only",
                    "Sharpe random",
                ],
                rows,
            ),
        ]
    if not selection.empty:
        parts += [
            "",
            f"## Selection on {policy_config.get('selection_segment', 'val')} "
            f"({policy_config.get('selection_metric', 'sharpe')})",
            "",
            *_table(
                [
                    "grid entry",
                    "overrides",
                    "seed",
                    "best iteration",
                    "val score",
                    "SFT-only val score",
                    "chosen",
                ],
                [
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
                ],
            ),
        ]
        checkpoints = policy_config.get("checkpoints", {})
        if checkpoints:
            parts += [
                "",
                "Checkpoint kept per seed (best val score): "
                + ", ".join(
                    f"seed {s}: iteration {c['iteration']} (val {c['val_score']:.3f})"
                    for s, c in checkpoints.items()
                )
                + ".",
            ]
    if not choices.empty:
        parts += [
            "",
            "## What the learned ablations chose",
            "",
            *_table(
                ["strategy", "chosen on", "market", "choice"],
                choices[["strategy", "chosen_on", "market", "choice"]]
                .to_numpy()
                .tolist(),
            ),
        ]
    for note in context.get("notes", []):
        parts += ["", note]
    return "\n".join(parts) + "\n"
