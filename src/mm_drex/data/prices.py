"""The one definition of a bar-to-bar return used by every stage.

Prices can be negative: the NYMEX WTI front month settled at -37.63 on
2020-04-20. A return relative to a negative price flips sign, so the change is
measured against the absolute previous price, ``(p_t - p_{t-1}) / |p_{t-1}|``,
and floored at -100%: a fully invested long sleeve can lose its whole NAV but
not more (the margin account is wiped out, it does not go negative). Across
the 2020-04-20 settlement this gives -306% -> floored at -100% for 17 April to
20 April, then +126.6% for 20 April to 21 April. The bar is kept and flagged in
the `data_quality` report; it is never dropped silently.
"""

from __future__ import annotations

import numpy as np

RETURN_FLOOR = -1.0


def simple_returns(previous_price: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Return ``(price - previous_price) / |previous_price|``, floored at -1.

    Works element-wise on arrays of any shape; a zero or non-finite previous
    price gives NaN.
    """
    previous_price = np.asarray(previous_price, dtype=float)
    price = np.asarray(price, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = (price - previous_price) / np.abs(previous_price)
    change = np.where(np.isfinite(change), change, np.nan)
    return np.maximum(change, RETURN_FLOOR, where=~np.isnan(change), out=change)
