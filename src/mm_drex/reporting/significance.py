"""Significance of MM-DREX against the baselines: block-bootstrap Sharpe
differences and Hansen's Superior Predictive Ability (SPA) test.

Input is a long table of per-bar returns ``strategy, seed, name, timestamp,
net_return`` (``name`` = a market, or an instrument). Several seeds of one
strategy are combined into their **seed-average** return series (the equal
mix of the seeds' sleeves), so that a test compares one series per strategy;
the main table still reports mean ± sd over seeds.

Two questions, two tests, both on the bars where the lead strategy and the
baseline both have a return:

- **Sharpe difference** ``Sharpe(MM-DREX) − Sharpe(baseline)``: percentile
  interval of the moving-block bootstrap
  (:func:`mm_drex.backtest.metrics.sharpe_difference_interval`, both series
  resampled with the same blocks). ``significant`` = the interval excludes 0.
- **SPA, "does MM-DREX beat the baselines?"** Loss = ``−net_return`` per bar
  (so the test is about the mean after-cost return). For each baseline ``b``
  we run ``arch.bootstrap.SPA(benchmark=b, models=[MM-DREX])``, whose null is
  "MM-DREX's mean loss is not below ``b``'s" (MM-DREX does not beat ``b``);
  its consistent p-value ``p_b`` is small when MM-DREX beats ``b``. The joint
  null "some baseline is at least as good as MM-DREX" is the union of those
  nulls; the intersection-union test rejects it at level α when every
  ``p_b`` ≤ α, so the **joint p-value is max_b p_b** (valid without a
  multiplicity correction). A small joint p-value means MM-DREX beats every
  baseline.
- For reference, Hansen's original direction ``SPA(benchmark=MM-DREX,
  models=baselines)`` is also reported (``p_any_baseline_beats_lead``): its
  null is "no baseline beats MM-DREX"; a small value says some baseline is
  significantly better than MM-DREX; a large one does NOT prove MM-DREX best.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from arch.bootstrap import SPA

from mm_drex.backtest.metrics import (
    BootstrapSettings,
    sharpe_difference_interval,
    sharpe_ratio,
)
from mm_drex.markdown import markdown_table
from mm_drex.reporting.tables import difference_cells

RETURN_KEYS = ["strategy", "name", "timestamp"]
SHARPE_DIFFERENCE_COLUMNS = [
    "name",
    "strategy",
    "baseline",
    "n_bars",
    "n_seeds",
    "sharpe",
    "baseline_sharpe",
    "sharpe_difference",
    "ci_low",
    "ci_high",
    "confidence",
    "significant",
]
SPA_COLUMNS = [
    "name",
    "strategy",
    "baseline",
    "n_bars",
    "mean_return_difference",
    "p_lead_beats",
    "p_lower",
    "p_upper",
]


def seed_average_returns(returns: pd.DataFrame) -> pd.DataFrame:
    """``strategy, seed, name, timestamp, net_return`` -> wide returns.

    Returns:
        A table indexed by ``(name, timestamp)`` with one column per strategy:
        the mean return over the strategy's seeds on that bar (NaN where the
        strategy has no return on the bar).
    """
    missing = sorted(
        {"strategy", "seed", "name", "timestamp", "net_return"} - set(returns.columns)
    )
    if missing:
        raise ValueError(f"returns table lacks the column(s) {missing}")
    mean = returns.groupby(RETURN_KEYS, sort=True)["net_return"].mean()
    return mean.unstack("strategy")


def _aligned(wide: pd.DataFrame, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    both = wide[[a, b]].dropna()
    return both[a].to_numpy(float), both[b].to_numpy(float)


def spa_pvalues(
    benchmark_returns: np.ndarray,
    model_returns: np.ndarray,
    block_size: int = 20,
    reps: int = 1000,
    seed: int = 42,
) -> tuple[float, float, float]:
    """Hansen's SPA p-values (consistent, lower, upper) with loss = −return.

    Args:
        benchmark_returns: ``(T,)`` per-bar returns of the benchmark.
        model_returns: ``(T,)`` or ``(T, K)`` per-bar returns of the models.
        block_size: mean block length of the stationary bootstrap.

    Returns:
        The p-values of H0 "no model has a lower mean loss (higher mean
        return) than the benchmark". When every model's returns equal the
        benchmark's on every bar the test is degenerate and all p-values are 1.
        A model that beats the benchmark by the same amount on every bar
        gives 0.
    """
    benchmark = np.asarray(benchmark_returns, dtype=float)
    models = np.asarray(model_returns, dtype=float)
    if models.ndim == 1:
        models = models[:, None]
    if models.shape[0] != benchmark.shape[0]:
        raise ValueError(
            f"benchmark has {benchmark.shape[0]} bars, models {models.shape[0]}"
        )
    # A model whose return differs from the benchmark's by a constant has a
    # zero-variance loss differential, where the studentised statistic is
    # undefined: a constant gain is certain (p = 0), a constant loss or no
    # difference can never reject (the model is dropped).
    gain = models - benchmark[:, None]
    constant = np.ptp(gain, axis=0) <= 1e-15
    if (constant & (gain[0] > 1e-15)).any():
        return 0.0, 0.0, 0.0
    models = models[:, ~constant]
    if models.shape[1] == 0:
        return 1.0, 1.0, 1.0
    spa = SPA(-benchmark, -models, block_size=block_size, reps=reps, seed=seed)
    spa.compute()
    p = spa.pvalues
    return float(p["consistent"]), float(p["lower"]), float(p["upper"])


def significance_tables(
    returns: pd.DataFrame,
    lead: str,
    baselines: Sequence[str],
    periods_per_year: Mapping[str, float],
    bootstrap: BootstrapSettings | Mapping[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sharpe-difference intervals and SPA tests of ``lead`` against baselines.

    Args:
        returns: ``strategy, seed, name, timestamp, net_return``.
        lead: the strategy under test (``mm_drex``).
        baselines: the baselines to compare against (those absent are skipped).
        periods_per_year: per ``name``, the annualisation of its Sharpe.
        bootstrap: ``n_boot``, ``block_length``, ``confidence``, ``seed``
            (the backtest's, with ``reporting.significance`` overrides).

    Returns:
        ``(sharpe_differences, spa)``: one row per (name, baseline) with
        :data:`SHARPE_DIFFERENCE_COLUMNS`, and per name one row per baseline
        plus a row ``baseline == "ALL"`` (columns :data:`SPA_COLUMNS`
        and ``p_any_baseline_beats_lead``, filled on the ALL row). Both are
        empty when ``lead`` has no returns.
    """
    bootstrap = BootstrapSettings.of(bootstrap)
    n_boot, block = bootstrap.n_boot, bootstrap.block_length
    confidence, seed = bootstrap.confidence, bootstrap.seed
    sharpe_rows, spa_rows = [], []
    if returns.empty or lead not in set(returns["strategy"]):
        return (
            pd.DataFrame(columns=SHARPE_DIFFERENCE_COLUMNS),
            pd.DataFrame(columns=[*SPA_COLUMNS, "p_any_baseline_beats_lead"]),
        )
    seeds = returns.groupby("strategy")["seed"].nunique()
    wide_all = seed_average_returns(returns)
    for name, wide in wide_all.groupby(level="name", sort=False):
        if lead not in wide or wide[lead].isna().all():
            continue
        present = [b for b in baselines if b in wide and wide[b].notna().any()]
        ppy = float(periods_per_year[name])
        for baseline in present:
            a, b = _aligned(wide, lead, baseline)
            if len(a) < max(block, 2):
                continue
            interval = sharpe_difference_interval(
                a,
                b,
                ppy,
                block_length=block,
                n_boot=n_boot,
                confidence=confidence,
                seed=seed,
            )
            sharpe_rows.append(
                {
                    "name": name,
                    "strategy": lead,
                    "baseline": baseline,
                    "n_bars": len(a),
                    "n_seeds": int(seeds[lead]),
                    "sharpe": float(sharpe_ratio(a, ppy)),
                    "baseline_sharpe": float(sharpe_ratio(b, ppy)),
                    "sharpe_difference": interval.estimate,
                    "ci_low": interval.low,
                    "ci_high": interval.high,
                    "confidence": confidence,
                    "significant": bool(interval.low > 0 or interval.high < 0),
                }
            )
            p, p_low, p_up = spa_pvalues(b, a, block, n_boot, seed)
            spa_rows.append(
                {
                    "name": name,
                    "strategy": lead,
                    "baseline": baseline,
                    "n_bars": len(a),
                    "mean_return_difference": float(np.mean(a - b)),
                    "p_lead_beats": p,
                    "p_lower": p_low,
                    "p_upper": p_up,
                    "p_any_baseline_beats_lead": np.nan,
                }
            )
        if not present:
            continue
        both = wide[[lead, *present]].dropna()
        name_rows = [r for r in spa_rows if r["name"] == name]
        reverse = spa_pvalues(
            both[lead].to_numpy(float),
            both[present].to_numpy(float),
            block,
            n_boot,
            seed,
        )[0]
        spa_rows.append(
            {
                "name": name,
                "strategy": lead,
                "baseline": "ALL",
                "n_bars": len(both),
                "mean_return_difference": float(
                    min(r["mean_return_difference"] for r in name_rows)
                )
                if name_rows
                else np.nan,
                # Intersection-union test: MM-DREX beats all <=> every p small.
                "p_lead_beats": max(
                    (r["p_lead_beats"] for r in name_rows), default=1.0
                ),
                "p_lower": max((r["p_lower"] for r in name_rows), default=1.0),
                "p_upper": max((r["p_upper"] for r in name_rows), default=1.0),
                "p_any_baseline_beats_lead": reverse,
            }
        )
    return (
        pd.DataFrame(sharpe_rows, columns=SHARPE_DIFFERENCE_COLUMNS),
        pd.DataFrame(spa_rows, columns=[*SPA_COLUMNS, "p_any_baseline_beats_lead"]),
    )


def _spa_row(r: dict) -> list:
    reverse = r["p_any_baseline_beats_lead"]
    return [
        r["name"],
        r["baseline"],
        r["n_bars"],
        f"{r['mean_return_difference'] * 1e4:.2f}",
        f"{r['p_lead_beats']:.3f}",
        "" if pd.isna(reverse) else f"{reverse:.3f}",
    ]


def significance_markdown(
    sharpe_differences: pd.DataFrame, spa: pd.DataFrame, lead: str
) -> str:
    """Both tables in markdown, with what each p-value means."""
    if sharpe_differences.empty and spa.empty:
        return (
            f"## Significance\n\nNo returns of `{lead}` in this run: nothing to test.\n"
        )
    lines = [
        "## Significance",
        "",
        f"Sharpe difference `{lead}` − baseline on the common bars (seed-average "
        "return series), percentile moving-block bootstrap interval.",
        "",
        markdown_table(
            ["name", "baseline", "bars", "Sharpe", "baseline Sharpe", "difference"]
            + ["CI", "significant"],
            [
                [
                    r["name"],
                    r["baseline"],
                    r["n_bars"],
                    *difference_cells(r, "baseline_sharpe"),
                ]
                for r in sharpe_differences.to_dict("records")
            ],
            align="llrrrrll",
        ),
        "",
        "Hansen's SPA with loss = −return. `p(lead beats)`: null \"the lead does "
        'not beat this baseline" (SPA with the baseline as benchmark and the '
        "lead as the model); small = the lead's mean return is significantly "
        'higher. Row `ALL`: intersection-union test of "the lead beats every '
        'baseline" (max of the per-baseline p-values). `p(any baseline beats '
        'lead)`: Hansen\'s direction, null "no baseline beats the lead"; small '
        "= some baseline is significantly better.",
        "",
        markdown_table(
            ["name", "baseline", "bars", "mean return diff (bp/bar)"]
            + ["p(lead beats)", "p(any baseline beats lead)"],
            [_spa_row(r) for r in spa.to_dict("records")],
            align="llr",
        ),
    ]
    return "\n".join(lines) + "\n"


def significance_report(
    market_returns: pd.DataFrame,
    metrics: pd.DataFrame,
    lead: str,
    baselines: Sequence[str],
    bootstrap: BootstrapSettings,
) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """:func:`significance_tables` on the market portfolios (annualised with
    each market's ``periods_per_year`` from the metrics) and their markdown."""
    returns = market_returns.rename(columns={"market": "name"})
    periods = (
        metrics[metrics["level"] == "market"]
        .groupby("name")["periods_per_year"]
        .first()
        .to_dict()
    )
    sharpe, spa = significance_tables(returns, lead, baselines, periods, bootstrap)
    return sharpe, spa, significance_markdown(sharpe, spa, lead)
