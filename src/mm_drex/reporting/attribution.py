"""Per-expert attribution of MM-DREX's return and drawdown.

Input is the decision log (:mod:`mm_drex.audit.decision_log`): per
(strategy, seed, instrument, decision bar t) the final weights ``w_<k>``, each
expert's target exposure ``exposure_<k>`` (``h_k``), the executed exposure
and the net return earned over bar ``t+1`` by that execution.

**Sign-specific credit assignment.** The mixed target is
``h_raw = Σ_k w_k·h_k``; expert ``k`` contributes ``c_k = w_k·h_k``. The
executed exposure ``x`` (after projection) is credited only to the experts
that pushed in its direction:

    share_k = max(sign(x)·c_k, 0) / Σ_j max(sign(x)·c_j, 0)

so when experts disagree, an expert that argued for the opposite side gets
no credit (nor blame) for the position held, and the ones on the held side
share it in proportion to their pull. ``x = 0``, or no expert on the held
side (the projection alone made the position), go to ``unattributed``.
The bar's net return (after cost) is split with the same shares:
``return_k = share_k·net_return``; the shares of one bar sum to 1, so the
experts' returns plus ``unattributed`` add up to the sleeve's net return.

**Drawdown attribution**: the sum of each expert's attributed returns over
the bars of the sleeve's maximum drawdown (peak to trough of its NAV).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mm_drex.experts.templates import EXPERTS
from mm_drex.markdown import markdown_table
from mm_drex.reporting.plots import attribution_figure

UNATTRIBUTED = "unattributed"
ATTRIBUTION_COLUMNS = [
    "strategy",
    "seed",
    "instrument",
    "expert",
    "mean_share",
    "total_return",
    "drawdown_return",
    "max_drawdown",
]


def credit_shares(
    weights: np.ndarray, expert_exposures: np.ndarray, executed: np.ndarray
) -> np.ndarray:
    """Sign-specific shares of the executed exposure, ``(T, K + 1)``.

    Args:
        weights: ``(T, K)`` routing weights ``w_k``.
        expert_exposures: ``(T, K)`` experts' target exposures ``h_k``.
        executed: ``(T,)`` executed exposure ``x``.

    Returns:
        Shares per expert and a last column for ``unattributed``; each row
        sums to 1.
    """
    pull = np.sign(executed)[:, None] * weights * expert_exposures
    pull = np.where(pull > 0, pull, 0.0)
    total = pull.sum(axis=1, keepdims=True)
    shares = np.divide(pull, total, out=np.zeros_like(pull), where=total > 0)
    unattributed = (total[:, 0] <= 0).astype(float)
    return np.column_stack([shares, unattributed])


def _max_drawdown_window(net_return: np.ndarray) -> tuple[int, int, float]:
    nav = np.cumprod(1.0 + net_return)
    peak = np.maximum.accumulate(np.concatenate([[1.0], nav]))[1:]
    depth = nav / peak - 1.0
    trough = int(np.argmin(depth))
    if depth[trough] >= 0:
        return 0, -1, 0.0
    before = np.concatenate([[1.0], nav[:trough]])
    start = int(np.argmax(before))  # bars start..trough are the drawdown
    return start, trough, float(depth[trough])


def expert_attribution(
    decision_log: pd.DataFrame, experts: Sequence[str]
) -> pd.DataFrame:
    """Attributed return and drawdown per (strategy, seed, instrument, expert).

    Only executed decisions (finite ``net_return``) count.

    Returns:
        :data:`ATTRIBUTION_COLUMNS`: ``mean_share`` (mean credit share over
        bars), ``total_return`` (sum of attributed bar returns),
        ``drawdown_return`` (sum over the maximum-drawdown window) and the
        sleeve's ``max_drawdown``; one row per expert plus ``unattributed``.
    """
    needed = ["executed_exposure", "net_return", *[f"w_{e}" for e in experts]]
    needed += [f"exposure_{e}" for e in experts]
    missing = sorted(set(needed) - set(decision_log.columns))
    if missing:
        raise ValueError(f"decision log lacks the column(s) {missing}")
    rows = []
    names = [*experts, UNATTRIBUTED]
    executed_rows = decision_log[np.isfinite(decision_log["net_return"])]
    for (strategy, seed, instrument), sleeve in executed_rows.groupby(
        ["strategy", "seed", "instrument"], sort=False
    ):
        sleeve = sleeve.sort_values("timestamp")
        shares = credit_shares(
            sleeve[[f"w_{e}" for e in experts]].to_numpy(float),
            sleeve[[f"exposure_{e}" for e in experts]].to_numpy(float),
            sleeve["executed_exposure"].to_numpy(float),
        )
        net = sleeve["net_return"].to_numpy(float)
        attributed = shares * net[:, None]
        start, trough, depth = _max_drawdown_window(net)
        in_drawdown = attributed[start : trough + 1].sum(axis=0)
        for k, expert in enumerate(names):
            rows.append(
                {
                    "strategy": strategy,
                    "seed": seed,
                    "instrument": instrument,
                    "expert": expert,
                    "mean_share": float(shares[:, k].mean()),
                    "total_return": float(attributed[:, k].sum()),
                    "drawdown_return": float(in_drawdown[k]),
                    "max_drawdown": depth,
                }
            )
    return pd.DataFrame(rows, columns=ATTRIBUTION_COLUMNS)


def attribution_markdown(attribution: pd.DataFrame, strategy: str) -> str:
    """Seed-mean attribution of ``strategy`` per instrument and expert."""
    table = attribution[attribution["strategy"] == strategy]
    if table.empty:
        return (
            "## Per-expert attribution\n\n"
            f"No decision log of `{strategy}` in this run.\n"
        )
    mean = table.groupby(["instrument", "expert"], sort=False)[
        ["mean_share", "total_return", "drawdown_return"]
    ].mean()
    lines = [
        "## Per-expert attribution",
        "",
        "Sign-specific credit of the executed exposure (shares of w_k·h_k on the "
        "held side; see docs/reporting.md), seed mean. Returns are sums of "
        "attributed bar returns (%), drawdown = within the maximum drawdown.",
        "",
        markdown_table(
            ["instrument", "expert", "mean share %", "return %", "drawdown return %"],
            [
                [
                    instrument,
                    expert,
                    f"{r['mean_share'] * 100:.1f}",
                    f"{r['total_return'] * 100:.2f}",
                    f"{r['drawdown_return'] * 100:.2f}",
                ]
                for (instrument, expert), r in mean.iterrows()
            ],
            align="llr",
        ),
    ]
    return "\n".join(lines) + "\n"


def attribution_report(
    decision_log: pd.DataFrame, strategy: str, dpi: int = 110
) -> tuple[pd.DataFrame, str, Figure]:
    """Per-expert attribution of ``strategy``'s return and drawdown: the
    table, its markdown and a figure."""
    table = expert_attribution(decision_log, EXPERTS)
    return (
        table,
        attribution_markdown(table, strategy),
        attribution_figure(table, strategy, dpi=dpi),
    )
