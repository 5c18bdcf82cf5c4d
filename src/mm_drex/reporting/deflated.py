"""The deflated Sharpe ratio (Bailey & López de Prado, 2014) of every strategy
whose configuration was chosen among several.

A Sharpe ratio chosen as the best of ``N`` trials is inflated by the choice.
With ``SR`` the per-bar Sharpe of the evaluated returns, ``T`` their number,
``γ3`` their skewness and ``γ4`` their (Pearson) kurtosis, and ``σ_SR`` the
standard deviation of the trials' Sharpe ratios (per bar)::

    SR0 = σ_SR · ((1 − γ) Φ⁻¹(1 − 1/N) + γ Φ⁻¹(1 − 1/(N e)))   (γ: Euler–Mascheroni)
    DSR = Φ((SR − SR0) √(T − 1) / √(1 − γ3 SR + (γ4 − 1)/4 SR²))

``SR0`` is the Sharpe the best of ``N`` unskilled trials would show; DSR is the
probability that the true Sharpe exceeds it (with ``N = 1`` it is the
probabilistic Sharpe ratio against 0). The trials are what the selection
looked at, on the validation data, never on the evaluated window:

- a baseline: the candidates of its val selection (grid points x modes,
  templates' best trials, decision bands) per instrument
  (``baseline_selection.n_candidates`` and ``candidate_sharpe_sd``); a market
  takes the largest ``N`` and the mean ``σ_SR`` of its sleeves;
- MM-DREX: every checkpoint scored on val during the RL stage's penalty-grid
  search (``rl_training_log.val_score``, the equal-market average Sharpe).

Strategies chosen among fewer than two trials (buy & hold, fixed rules, the
pooled learned baselines, the ablations) are not listed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from mm_drex.markdown import markdown_table

EULER_GAMMA = 0.5772156649015329
TRIAL_COLUMNS = ["strategy", "n_trials", "trial_sharpe_sd"]
DEFLATED_COLUMNS = [
    "strategy",
    "name",
    "n_seeds",
    "n_returns",
    "sharpe",
    "n_trials",
    "trial_sharpe_sd",
    "expected_max_sharpe",
    "deflated_sharpe",
]


def expected_max_sharpe(n_trials: int, trial_sharpe_sd: float) -> float:
    """``SR0``: the expected best Sharpe of ``n_trials`` unskilled trials whose
    Sharpe ratios spread with ``trial_sharpe_sd`` (same units)."""
    if n_trials < 2 or not np.isfinite(trial_sharpe_sd):
        return 0.0
    z = stats.norm.ppf
    return float(
        trial_sharpe_sd
        * (
            (1.0 - EULER_GAMMA) * z(1.0 - 1.0 / n_trials)
            + EULER_GAMMA * z(1.0 - 1.0 / (n_trials * np.e))
        )
    )


def deflated_sharpe_from_moments(
    sharpe: float,
    n_returns: int,
    skew: float,
    kurtosis: float,
    n_trials: int,
    trial_sharpe_sd: float,
) -> float:
    """DSR from a per-bar Sharpe, the number of returns, their skewness and
    Pearson kurtosis, and the trials (``trial_sharpe_sd`` per bar)."""
    variance = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    threshold = expected_max_sharpe(n_trials, trial_sharpe_sd)
    z = (sharpe - threshold) * np.sqrt(n_returns - 1) / np.sqrt(max(variance, 1e-12))
    return float(stats.norm.cdf(z))


def deflated_sharpe_ratio(
    returns: np.ndarray, n_trials: int, trial_sharpe_sd: float
) -> float:
    """DSR of one return series (module docstring); ``trial_sharpe_sd`` is per
    bar. NaN for fewer than three returns or a flat series."""
    returns = np.asarray(returns, dtype=float)
    returns = returns[np.isfinite(returns)]
    if len(returns) < 3 or np.std(returns, ddof=1) == 0:
        return float("nan")
    return deflated_sharpe_from_moments(
        returns.mean() / returns.std(ddof=1),
        len(returns),
        float(stats.skew(returns)),
        float(stats.kurtosis(returns, fisher=False)),
        n_trials,
        trial_sharpe_sd,
    )


def selection_trials(
    baseline_selection: pd.DataFrame,
    rl_training_log: pd.DataFrame,
    lead: str,
    markets_of: pd.Series,
) -> pd.DataFrame:
    """Trials behind each chosen strategy, per market: ``strategy, market,
    n_trials, trial_sharpe_sd`` (annualised), from the val selections."""
    rows = []
    if {"n_candidates", "candidate_sharpe_sd"} <= set(baseline_selection.columns):
        chosen = baseline_selection[baseline_selection["n_candidates"] > 1]
        chosen = chosen.assign(market=chosen["instrument"].map(markets_of))
        for (strategy, market), group in chosen.groupby(
            ["strategy", "market"], sort=False
        ):
            rows.append(
                {
                    "strategy": strategy,
                    "market": market,
                    "n_trials": int(group["n_candidates"].max()),
                    "trial_sharpe_sd": float(group["candidate_sharpe_sd"].mean()),
                }
            )
    if len(rl_training_log) and "val_score" in rl_training_log.columns:
        first_seed = rl_training_log["seed"].min()
        scored = rl_training_log[rl_training_log["seed"] == first_seed]
        if "fold" in scored.columns:
            # walk-forward: each fold chose among its own checkpoints; the
            # fold with the most candidates bounds the trials behind a choice
            counts = scored.dropna(subset=["val_score"]).groupby("fold").size()
            scored = (
                scored[scored["fold"] == counts.idxmax()] if len(counts) else scored
            )
        scores = scored["val_score"].dropna().to_numpy()
        if len(scores) > 1:
            for market in markets_of.dropna().unique():
                rows.append(
                    {
                        "strategy": lead,
                        "market": market,
                        "n_trials": len(scores),
                        "trial_sharpe_sd": float(np.std(scores, ddof=1)),
                    }
                )
    return pd.DataFrame(rows, columns=["strategy", "market", *TRIAL_COLUMNS[1:]])


def deflated_sharpe_table(
    market_returns: pd.DataFrame,
    periods_per_year: dict[str, float],
    trials: pd.DataFrame,
) -> pd.DataFrame:
    """DSR per (strategy, market) of the chosen strategies, seeds averaged."""
    rows = []
    for trial in trials.itertuples(index=False):
        series = market_returns[
            (market_returns["strategy"] == trial.strategy)
            & (market_returns["market"] == trial.market)
        ]
        if series.empty:
            continue
        ppy = float(periods_per_year[trial.market])
        sd_per_bar = trial.trial_sharpe_sd / np.sqrt(ppy)
        per_seed = [
            (
                deflated_sharpe_ratio(group["net_return"], trial.n_trials, sd_per_bar),
                group["net_return"].mean() / group["net_return"].std(ddof=1),
                len(group),
            )
            for _, group in series.groupby("seed", sort=True)
        ]
        dsr, sharpe, n_returns = (
            np.array(v, dtype=float) for v in zip(*per_seed, strict=True)
        )
        rows.append(
            {
                "strategy": trial.strategy,
                "name": trial.market,
                "n_seeds": len(per_seed),
                "n_returns": int(n_returns.mean()),
                "sharpe": float(np.nanmean(sharpe) * np.sqrt(ppy)),
                "n_trials": int(trial.n_trials),
                "trial_sharpe_sd": float(trial.trial_sharpe_sd),
                "expected_max_sharpe": expected_max_sharpe(
                    trial.n_trials, trial.trial_sharpe_sd
                ),
                "deflated_sharpe": float(np.nanmean(dsr)),
            }
        )
    return pd.DataFrame(rows, columns=DEFLATED_COLUMNS)


def deflated_sharpe_markdown(table: pd.DataFrame, order: Sequence[str] = ()) -> str:
    """The DSR table under a heading, with how to read it."""
    lines = [
        "### Deflated Sharpe ratio",
        "",
        "For each strategy chosen among several configurations on val: the "
        "annualised Sharpe of the evaluated returns, the number of trials the "
        "selection compared, the spread of their val Sharpes, the Sharpe the "
        "best of that many unskilled trials would show (`SR0`), and the "
        "probability that the true Sharpe exceeds it (Bailey & López de Prado; "
        "seeds averaged). Below 0.95, the Sharpe is not distinguishable from "
        "the luck of the selection.",
        "",
    ]
    if table.empty:
        return "\n".join([*lines, "No strategy was chosen among several trials.", ""])
    rank = {name: i for i, name in enumerate(order)}
    table = table.sort_values(
        ["name", "strategy"],
        key=lambda c: (
            c.map(lambda v: rank.get(v, len(rank))) if c.name == "strategy" else c
        ),
        kind="stable",
    )
    lines.append(
        markdown_table(
            [
                "market",
                "strategy",
                "Sharpe",
                "trials",
                "sd of trial Sharpes",
                "SR0",
                "DSR",
            ],
            [
                [
                    r.name,
                    r.strategy,
                    f"{r.sharpe:.2f}",
                    f"{r.n_trials}",
                    f"{r.trial_sharpe_sd:.2f}",
                    f"{r.expected_max_sharpe:.2f}",
                    f"{r.deflated_sharpe:.2f}",
                ]
                for r in table.itertuples(index=False)
            ],
            align="llrrrrr",
        )
    )
    return "\n".join(lines) + "\n"


def deflated_sharpe_report(
    market_returns: pd.DataFrame,
    metrics: pd.DataFrame,
    baseline_selection: pd.DataFrame,
    rl_training_log: pd.DataFrame,
    markets_of: pd.Series,
    lead: str,
    order: Sequence[str] = (),
) -> tuple[pd.DataFrame, str]:
    """:func:`deflated_sharpe_table` of the market portfolios (annualised as
    in the metrics) and its markdown."""
    periods = (
        metrics[metrics["level"] == "market"]
        .groupby("name")["periods_per_year"]
        .first()
        .to_dict()
    )
    trials = selection_trials(baseline_selection, rl_training_log, lead, markets_of)
    trials = trials[trials["market"].isin(periods)]
    table = deflated_sharpe_table(market_returns, periods, trials)
    return table, deflated_sharpe_markdown(table, [lead, *order])
