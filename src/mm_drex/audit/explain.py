"""The audit trail (decision log + chart index + prices) and a one-page
explanation of any (instrument, date).

A decision at the close of bar ``t`` is executed at the open of bar ``t+1``;
the audit trail puts the bar-``t`` prices (what the decision saw) next to
the bar-``t+1`` open (the execution price) and close (where its PnL is
marked), and the chart the router saw (its shard position and hash).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

KEYS = ["instrument", "timestamp"]
CHART_COLUMNS = ["window_start", "window_end", "shard", "row_in_shard", "sha256"]


def audit_trail(
    decision_log: pd.DataFrame, chart_index: pd.DataFrame, ohlcv: pd.DataFrame
) -> pd.DataFrame:
    """The decision log joined with the chart index and prices.

    Args:
        decision_log: the expert_rl stage's ``mmdrex_decision_log`` (one row
            per strategy, seed, instrument, decision bar ``timestamp``).
        chart_index: the charts stage's index (``instrument, timestamp,
            window_start, window_end, shard, row_in_shard, sha256``).
        ohlcv: ingestion's bars.

    Returns:
        The decision log plus ``chart_window_start, chart_window_end,
        chart_shard, chart_row_in_shard, chart_index_sha256,
        chart_hash_matches`` (the log's ``chart_sha256`` equals the index's;
        NA where the log has no hash), ``open, high, low, close, volume`` of
        bar ``t`` and ``next_open, next_close`` of bar ``t+1``.
    """
    charts = (
        chart_index[[*KEYS, *CHART_COLUMNS]]
        .rename(columns={c: f"chart_{c}" for c in CHART_COLUMNS})
        .rename(columns={"chart_sha256": "chart_index_sha256"})
    )
    bars = ohlcv[[*KEYS, "open", "high", "low", "close", "volume"]].copy()
    following = bars.groupby("instrument", sort=False)[["open", "close"]].shift(-1)
    bars["next_open"] = following["open"]
    bars["next_close"] = following["close"]
    trail = decision_log.merge(charts, on=KEYS, how="left").merge(
        bars, on=KEYS, how="left"
    )
    if "chart_sha256" in trail:
        matches = trail["chart_sha256"] == trail["chart_index_sha256"]
        trail["chart_hash_matches"] = matches.where(
            trail["chart_sha256"].notna(), pd.NA
        ).astype("boolean")
    else:
        trail["chart_hash_matches"] = pd.array([pd.NA] * len(trail), dtype="boolean")
    return trail


def select_decision(
    trail: pd.DataFrame,
    instrument: str,
    date: str | pd.Timestamp | None,
    strategy: str = "mm_drex",
    seed: int | None = None,
) -> pd.Series:
    """The decision of ``strategy`` on ``instrument`` at the last decision bar
    on or before ``date`` (a calendar date may fall on a day without a bar;
    None: the last decision), for ``seed`` (None: the smallest seed).

    Raises:
        KeyError naming the instrument, date, strategy, seed and the range of
        dates the log covers when there is no such decision.
    """
    rows = trail[(trail["instrument"] == instrument) & (trail["strategy"] == strategy)]
    if rows.empty:
        known = sorted(trail.loc[trail["strategy"] == strategy, "instrument"].unique())
        raise KeyError(
            f"explain: no decision of strategy '{strategy}' on instrument "
            f"'{instrument}'; instruments in the log: {known}"
        )
    seed = int(rows["seed"].min()) if seed is None else int(seed)
    rows = rows[rows["seed"] == seed].sort_values("timestamp")
    when = rows["timestamp"].max() if date is None else pd.Timestamp(date)
    before = rows[rows["timestamp"] <= when]
    if rows.empty or before.empty:
        span = (
            f"{rows['timestamp'].min().date()} .. {rows['timestamp'].max().date()}"
            if not rows.empty
            else "none"
        )
        raise KeyError(
            f"explain: instrument '{instrument}', date {when.date()}, strategy "
            f"'{strategy}', seed {seed}: no decision bar on or before that date; "
            f"the log covers {span}"
        )
    return before.iloc[-1]


def chart_figure(chart: np.ndarray, title: str, dpi: int = 100) -> Figure:
    """The ``(3, H, W)`` uint8 chart the router saw, as a figure."""
    figure = Figure(figsize=(4, 4), dpi=dpi, layout="constrained")
    axes = figure.subplots()
    axes.imshow(np.transpose(chart, (1, 2, 0)), interpolation="nearest")
    axes.set_title(title, fontsize=8)
    axes.axis("off")
    return figure


def _number(value: Any, fmt: str = "{:.4f}") -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    try:
        if pd.isna(value):
            return "–"
    except (TypeError, ValueError):
        pass
    if isinstance(value, (pd.Timestamp, np.datetime64)):
        stamp = pd.Timestamp(value)
        return str(stamp.date()) if stamp == stamp.normalize() else str(stamp)
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, float, np.floating, np.integer)):
        return fmt.format(float(value))
    return str(value)


def explanation_markdown(
    decision: pd.Series,
    experts: Sequence[str],
    regimes: Sequence[str],
    chart_file: str,
    labelled_regime: str | None = None,
) -> str:
    """One page explaining one decision (a row of :func:`audit_trail`).

    Columns absent from the row are shown as ``–``.
    """
    get = decision.get
    t = pd.Timestamp(get("timestamp"))
    lines = [
        f"# Decision of {get('strategy')} (seed {get('seed')}) on "
        f"{get('instrument')} at the close of {t.date()}",
        "",
        f"Decided at the close of bar t = {get('t', '–')} ({t.date()}, segment "
        f"{get('segment', '–')}) from bars up to t only; executed at the open of "
        f"the next bar ({_number(get('execution_timestamp'))}).",
        "",
        "## The chart the router saw",
        "",
        f"![chart]({chart_file})",
        "",
        f"Window {_number(get('chart_window_start'))} .. "
        f"{_number(get('chart_window_end'))}, shard {get('chart_shard', '–')} row "
        f"{get('chart_row_in_shard', '–')}, sha256 `{get('chart_index_sha256', '–')}` "
        f"(matches the decision log: {_number(get('chart_hash_matches'))}).",
        "",
        "## Prices",
        "",
        "| bar | open | high | low | close |",
        "|---|---:|---:|---:|---:|",
        f"| t ({t.date()}) | {_number(get('open'))} | {_number(get('high'))} | "
        f"{_number(get('low'))} | {_number(get('close'))} |",
        f"| t+1 (execution) | {_number(get('next_open'))} | | | "
        f"{_number(get('next_close'))} |",
        "",
        "## Regime probabilities",
        "",
        "| "
        + " | ".join(regimes)
        + " | predicted | labelled (forward, not an input) |",
        "|" + "---:|" * len(regimes) + "---|---|",
        "| "
        + " | ".join(_number(get(f"p_{r}"), "{:.3f}") for r in regimes)
        + f" | {get('regime_pred', '–')} | {labelled_regime or '–'} |",
        "",
        "## Experts",
        "",
        "| expert | SFT weight | final weight | exposure h_k | w_k·h_k | regime pool "
        "| sub-strategy |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for expert in experts:
        weight, exposure = get(f"w_{expert}"), get(f"exposure_{expert}")
        contribution = (
            float(weight) * float(exposure)
            if weight is not None and exposure is not None
            else None
        )
        lines.append(
            f"| {expert} | {_number(get(f'w_sft_{expert}'), '{:.3f}')} | "
            f"{_number(weight, '{:.3f}')} | {_number(exposure, '{:.3f}')} | "
            f"{_number(contribution, '{:.3f}')} | {get(f'pool_{expert}', '–')} | "
            f"{get(f'member_{expert}', '–')} |"
        )
    lines += [
        "",
        "## From mixed target to order",
        "",
        "| step | value |",
        "|---|---:|",
        f"| mixed exposure h_raw = Σ w_k·h_k | {_number(get('mixed_exposure'))} |",
        f"| projection: bounds change | {_number(get('delta_bounds'))} |",
        f"| projection: leverage change | {_number(get('delta_leverage'))} |",
        f"| projection: turnover change | {_number(get('delta_turnover'))} |",
        f"| projected target | {_number(get('projected_exposure'))} |",
        f"| held before the trade (drifted) | {_number(get('pre_trade_exposure'))} |",
        f"| order (signed, fraction of NAV) | {_number(get('order'))} |",
        f"| executed exposure | {_number(get('executed_exposure'))} |",
        f"| turnover | {_number(get('turnover'))} |",
        f"| cost (fraction of NAV) | {_number(get('cost'), '{:.6f}')} |",
        f"| net return over bar t+1 (PnL) | {_number(get('net_return'), '{:.6f}')} |",
        f"| NAV after bar t+1 | {_number(get('nav'))} |",
        f"| RL reward | {_number(get('reward'))} |",
        "",
    ]
    return "\n".join(lines)
