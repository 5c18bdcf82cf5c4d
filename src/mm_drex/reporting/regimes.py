"""Results split by the labelled regime of the decision bar (markdown).

:func:`regime_performance` groups the return of bar ``t+1`` under the regime
label of the decision bar ``t`` (a forward label, used here only to slice
results, never as an input).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from mm_drex.backtest.metrics import annual_volatility, hit_rate, sharpe_ratio
from mm_drex.backtest.sleeves import market_of_instruments
from mm_drex.markdown import markdown_table


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
    ]
    rows = []
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
        rows.append([strategy, market, *cells])
    lines.append(markdown_table(["strategy", "market", *regimes], rows, align="llr"))
    return "\n".join(lines) + "\n"
