"""Does routing add value? The oracle bounds, the captured share, the
router's weights by predicted regime and the routing comparisons with
bootstrap intervals (docs/router.md, "How much routing could be worth").

The oracle rows read the true regime or the future: they bound what routing
could earn, they are never strategies. Out of sample, each fold's test window
is scored as it is, and all folds together by chaining each instrument's test
windows (every window starts flat, as in the walk-forward record).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mm_drex.backtest.settings import BootstrapSettings
from mm_drex.markdown import markdown_table
from mm_drex.reporting.significance import significance_tables
from mm_drex.strategy.oracle import CANDIDATES, ORACLES, ROUTER, UNIFORM, summary

ALL_FOLDS = "all_folds"
MARKET_ORDER = ("stocks", "futures", "crypto")
# (strategy, compared with): the claims a routing framework makes
ROUTING_CLAIMS = (
    ("mm_drex", "mm_drex_uniform_weights", "routing beats uniform weights"),
    ("mm_drex", "mm_drex_static_weights", "routing beats static weights"),
    ("mm_drex", "mm_drex_best_single_expert", "routing beats the val-best expert"),
    ("mm_drex", "mm_drex_sft_only", "RL beats SFT-only"),
    ("mm_drex_sft_only", "mm_drex_no_chart", "the chart view helps the router"),
)
_LABELS = {
    UNIFORM: "uniform weights",
    "sft_only": "SFT router",
    ROUTER: "MM-DREX (mean over seeds)",
    "oracle_router_mapping": "oracle: SFT router fed the true regime",
    "oracle_fixed_weights": "oracle: best fixed weights per true regime",
    "oracle_regime_pools": "oracle: every expert on its true regime's pool",
    "oracle_hindsight_expert": "oracle: hindsight-best expert",
}


def fold_diagnostics(
    returns: Mapping[str, pd.DataFrame], periods_per_year: Mapping[str, float]
) -> pd.DataFrame:
    """The summary (:func:`mm_drex.strategy.oracle.summary`) of every fold's
    test window and of all folds chained (``fold = all_folds``)."""
    parts = [
        summary(table[table["segment"] == "test"], periods_per_year).assign(fold=fold)
        for fold, table in returns.items()
    ]
    chained = pd.concat(
        [t[t["segment"] == "test"] for t in returns.values()], ignore_index=True
    )
    parts.append(summary(chained, periods_per_year).assign(fold=ALL_FOLDS))
    table = pd.concat(parts, ignore_index=True)
    return table[["fold", *[c for c in table.columns if c != "fold"]]]


def _number(value: float, digits: int = 2) -> str:
    return f"{value:.{digits}f}" if np.isfinite(value) else "–"


def diagnostics_markdown(
    table: pd.DataFrame, by_regime: pd.DataFrame, oracle_weights: pd.DataFrame
) -> str:
    """The oracle section: per fold and over all folds, equal-market Sharpe
    and mean |exposure| of every candidate, the captured shares, and the
    router's weights by predicted regime with the permutation test."""
    test = table[table["segment"] == "test"]
    folds = list(dict.fromkeys(test["fold"]))
    lines = [
        "## How much routing could be worth (oracle bounds)",
        "",
        "Equal-market Sharpe ratio on the test windows (10 bps unless "
        "configured otherwise), every path executed by the backtest engine "
        "from flat at the start of each window. The oracle rows read the true "
        "regime or the next bars: they bound what routing could earn and are "
        "not strategies. Captured share = (router − uniform) / (oracle − "
        "uniform); – where the oracle does not beat uniform weights. The share is only as stable as the headroom (oracle − uniform) printed beside it: a headroom near 0 makes it meaningless.",
        "",
    ]
    rows = []
    for candidate in CANDIDATES:
        cells = [_LABELS[candidate]]
        for fold in folds:
            row = test[(test["fold"] == fold) & (test["candidate"] == candidate)]
            cells.append(
                f"{_number(row['sharpe'].iat[0])} ({_number(row['abs_exposure'].iat[0])})"
                if len(row)
                else "–"
            )
        rows.append(cells)
    lines += [
        "Sharpe (mean |target exposure|):",
        "",
        markdown_table(["candidate", *folds], rows, "l" + "r" * len(folds)),
        "",
    ]
    sharpe = test.pivot(index="candidate", columns="fold", values="sharpe")
    share_rows = [
        [
            "headroom (oracle − uniform)",
            _LABELS[oracle],
            *[_number(sharpe.at[oracle, f] - sharpe.at[UNIFORM, f]) for f in folds],
        ]
        for oracle in ORACLES
    ]
    for learner in ("sft_only", ROUTER):
        for oracle in ORACLES:
            cells = [_LABELS[learner], _LABELS[oracle]]
            for fold in folds:
                row = test[(test["fold"] == fold) & (test["candidate"] == learner)]
                value = (
                    row[f"captured_{learner}_{oracle}"].iat[0] if len(row) else np.nan
                )
                cells.append(_number(value))
            share_rows.append(cells)
    lines += [
        "Captured share of each oracle's headroom over uniform weights:",
        "",
        markdown_table(
            ["learner", "oracle", *folds], share_rows, "ll" + "r" * len(folds)
        ),
        "",
    ]
    if not by_regime.empty:
        lines += _by_regime_markdown(by_regime)
    if not oracle_weights.empty:
        weight_columns = [c for c in oracle_weights.columns if c.startswith("w_")]
        group = ["fold"] if "fold" in oracle_weights else []
        lines += [
            "Per-regime fixed weights of the oracle (chosen on "
            f"{oracle_weights['chosen_on'].iat[0]} with the true regime):",
            "",
            markdown_table(
                [*group, "regime", *[c[2:] for c in weight_columns], "score"],
                [
                    [
                        *[r[g] for g in group],
                        r["regime"],
                        *[_number(r[c]) for c in weight_columns],
                        _number(r["score"]),
                    ]
                    for _, r in oracle_weights.iterrows()
                ],
                "l" * (len(group) + 1) + "r",
            ),
            "",
        ]
    return "\n".join(lines)


def _by_regime_markdown(by_regime: pd.DataFrame) -> list[str]:
    test = by_regime[by_regime["segment"] == "test"]
    weight_columns = [c for c in test.columns if c.startswith("w_")]
    group = ["fold"] if "fold" in test else []
    rows = [
        [
            *[r[g] for g in group],
            r["predicted_regime"],
            r["n_decisions"],
            *[_number(r[c]) for c in weight_columns],
            _number(r["mean_abs_exposure"]),
            _number(r["r2"], 3),
            _number(r["p_value"], 3),
        ]
        for _, r in test.iterrows()
    ]
    return [
        "MM-DREX's weights by the router's predicted regime on the test "
        "windows (seeds pooled). R² = share of the weights' variance explained "
        "by the predicted regime; p = block permutation test (each "
        "instrument's predicted-regime sequence shifted circularly at random, "
        "which keeps both series' persistence and breaks their alignment): "
        "the weights differ across predicted regimes by more than noise where "
        "p < 0.05.",
        "",
        markdown_table(
            [
                *group,
                "predicted regime",
                "decisions",
                *[c[2:] for c in weight_columns],
                "mean |exposure|",
                "R²",
                "p",
            ],
            rows,
            "l" * (len(group) + 1) + "r",
        ),
        "",
    ]


def routing_comparisons(
    market_returns: pd.DataFrame,
    metrics: pd.DataFrame,
    bootstrap: BootstrapSettings,
) -> pd.DataFrame:
    """Sharpe differences with block-bootstrap intervals of the routing
    claims (:data:`ROUTING_CLAIMS`) on every market and the equal-market
    portfolio; ``holds`` when the interval lies above 0, ``shortfall`` the
    Sharpe the strategy lacks where its estimate is below the other's."""
    returns = market_returns.rename(columns={"market": "name"})
    periods = (
        metrics[metrics["level"].isin(["market", "average"])]
        .groupby("name")["periods_per_year"]
        .first()
        .to_dict()
    )
    parts = []
    for strategy, other, claim in ROUTING_CLAIMS:
        present = set(returns["strategy"])
        if strategy not in present or other not in present:
            continue
        sharpe, _ = significance_tables(returns, strategy, [other], periods, bootstrap)
        parts.append(sharpe.assign(claim=claim))
    if not parts:
        return pd.DataFrame(columns=["claim", "name", "strategy", "baseline"])
    table = pd.concat(parts, ignore_index=True)
    table["holds"] = table["ci_low"] > 0
    table["shortfall"] = np.maximum(-table["sharpe_difference"], 0.0)
    first = ["claim", "name", "strategy", "baseline"]
    return table[first + [c for c in table.columns if c not in first]]


def comparisons_markdown(
    table: pd.DataFrame, names: Sequence[str] | None = None
) -> str:
    """The routing claims, each with its interval and, where it does not
    hold, by how much it falls short."""
    lines = [
        "## Does the routing add value? (claims with bootstrap intervals)",
        "",
        "Sharpe difference of the out-of-sample record, block-bootstrap "
        "interval; a claim holds where the whole interval lies above 0.",
        "",
    ]
    if table.empty:
        return "\n".join([*lines, "No claim could be tested (strategies absent).", ""])
    order = list(names or MARKET_ORDER)
    order += [n for n in dict.fromkeys(table["name"]) if n not in order]
    claims = [claim for _, _, claim in ROUTING_CLAIMS]
    ranked = table.assign(
        name_rank=table["name"].map({n: i for i, n in enumerate(order)}),
        claim_rank=table["claim"].map({c: i for i, c in enumerate(claims)}),
    ).sort_values(["name_rank", "claim_rank"], kind="stable")
    rows = []
    for _, r in ranked.iterrows():
        verdict = (
            "holds"
            if r["holds"]
            else (
                f"falls short by {r['shortfall']:.2f}"
                if r["shortfall"] > 0
                else "not significant"
            )
        )
        rows.append(
            [
                r["claim"],
                r["name"],
                _number(r["sharpe"]),
                _number(r["baseline_sharpe"]),
                f"{r['sharpe_difference']:+.2f} [{r['ci_low']:+.2f}, {r['ci_high']:+.2f}]",
                verdict,
            ]
        )
    lines.append(
        markdown_table(
            [
                "claim",
                "market",
                "strategy",
                "compared with",
                "difference [CI]",
                "verdict",
            ],
            rows,
            "llrrrl",
        )
    )
    return "\n".join([*lines, ""])


PERCEPTION_MODELS = ("router", "persistence_rule", "no_chart", "majority_class")


def perception_markdown(evaluation: pd.DataFrame) -> str:
    """Is the state perceivable? Per fold and segment, the macro-F1 of the
    router's regime against the persistence rule (the label rule on the past
    horizon), the no-chart router and the majority class."""
    lines = [
        "## Is the state perceivable? (regime macro-F1 per fold)",
        "",
        "The router's predicted regime against the fold's labels, beside the "
        "persistence rule (the label rule applied to the past horizon: what "
        "a router must beat to perceive more than 'the last H bars go on'), "
        "the router trained without the chart view and the majority class. "
        "Val scores chose the router's epoch; test scores chose nothing.",
        "",
    ]
    present = [m for m in PERCEPTION_MODELS if m in set(evaluation["model"])]
    rows = []
    for (fold, segment), group in evaluation.groupby(["fold", "segment"], sort=False):
        score = group.set_index("model")["macro_f1"]
        cells = [fold, segment, *[_number(score.get(m, np.nan)) for m in present]]
        for other in ("persistence_rule", "no_chart"):
            if other in present:
                cells.append(f"{score['router'] - score[other]:+.2f}")
        rows.append(cells)
    header = ["fold", "segment", *present]
    header += [
        f"router − {o}" for o in ("persistence_rule", "no_chart") if o in present
    ]
    lines.append(markdown_table(header, rows, "ll" + "r" * (len(header) - 2)))
    return "\n".join([*lines, ""])
