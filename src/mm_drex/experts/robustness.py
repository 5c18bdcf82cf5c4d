"""The robustness score that admits sub-strategies to a pool (paper-notes, v3).

    score = .30 * beats-benchmark + .30 * val 5%-quantile + .15 * median
            + .15 * stability - .10 * turnover

Each metric enters as its *rank within the update* (the candidates audited
together for one expert, regime and market), scaled to ``[0, 1]``: 1 for the
largest value. A negative weight (turnover) therefore penalises the candidate
with the most turnover the most. The metrics, all on the validation segment
and the bars whose decision-time regime label is the pool's regime:

- ``beats_benchmark``: share of 20-bar windows in which the candidate's
  after-cost return beats buy & hold of the same instrument;
- ``q05_return``: 5% quantile of its 20-bar after-cost returns;
- ``median_return``: median of those 20-bar returns;
- ``stability``: minus the mean absolute change of its validation objective
  (the search's objective, on the validation decision bars) when each
  parameter is nudged by +/-5% of its range (one at a time); 0 = insensitive;
- ``turnover``: mean ``|Δexposure|`` per decision bar.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

AUDIT_METRICS = (
    "beats_benchmark",
    "q05_return",
    "median_return",
    "stability",
    "turnover",
)

AUDIT_WEIGHTS: dict[str, float] = {
    "beats_benchmark": 0.30,
    "q05_return": 0.30,
    "median_return": 0.15,
    "stability": 0.15,
    "turnover": -0.10,
}


def percentile_rank(values: np.ndarray) -> np.ndarray:
    """Rank of each value among ``values`` scaled to ``[0, 1]`` (ties share
    their average rank; a single value gets 1; NaN ranks lowest)."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return values
    if len(values) == 1:
        return np.ones(1)
    filled = np.where(np.isnan(values), -np.inf, values)
    ranks = pd.Series(filled).rank(method="average").to_numpy()
    return (ranks - 1.0) / (len(values) - 1.0)


def robustness_scores(
    metrics: pd.DataFrame, weights: Mapping[str, float] = AUDIT_WEIGHTS
) -> pd.DataFrame:
    """``metrics`` (one row per candidate, a column per metric) with a
    ``rank_<metric>`` column for each weighted metric and the ``score``."""
    unknown = sorted(set(weights) - set(metrics.columns))
    if unknown:
        raise ValueError(
            f"audit weights name metrics that were not measured: {unknown}"
        )
    out = metrics.copy()
    score = np.zeros(len(out))
    for metric, weight in weights.items():
        rank = percentile_rank(out[metric].to_numpy())
        out[f"rank_{metric}"] = rank
        score += float(weight) * rank
    out["score"] = score
    return out
