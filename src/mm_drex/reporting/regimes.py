"""Results split by the labelled regime of the decision bar (markdown).

The table comes from :func:`mm_drex.experts.report.regime_performance`: the
return of bar ``t+1`` is grouped under the regime label of the decision bar
``t`` (a forward label, used here only to slice results, never as an input).
"""

from __future__ import annotations

import pandas as pd


def regime_markdown(table: pd.DataFrame) -> str:
    """Annualised Sharpe and mean return per (strategy, market) and regime."""
    if table.empty:
        return "## Results by regime\n\nNo labelled bars in the evaluated segment.\n"
    regimes = list(dict.fromkeys(table["regime"]))
    lines = [
        "## Results by regime",
        "",
        "Per strategy and market, the after-cost returns of the bars whose "
        "decision bar carries each regime label (seeds pooled): Sharpe "
        "(annualised mean %, bars).",
        "",
        "| strategy | market | " + " | ".join(regimes) + " |",
        "|---|---|" + "---:|" * len(regimes),
    ]
    for (strategy, market), group in table.groupby(["strategy", "market"], sort=False):
        by_regime = group.set_index("regime")
        cells = []
        for regime in regimes:
            if regime not in by_regime.index or pd.isna(by_regime.at[regime, "sharpe"]):
                cells.append("–")
                continue
            r = by_regime.loc[regime]
            cells.append(
                f"{r['sharpe']:.2f} ({r['annual_mean_return'] * 100:.1f}%, "
                f"{int(r['n_returns'])})"
            )
        lines.append(f"| {strategy} | {market} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
