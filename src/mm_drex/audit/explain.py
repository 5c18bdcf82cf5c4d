"""A one-page explanation of one decision (a row of the audit trail): the
chart the router saw, the regime probabilities, the four weights, each
expert's sub-strategy and exposure, the projection's changes, the order, its
cost and the PnL."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from mm_drex.audit.settings import ExplainSettings
from mm_drex.audit.trail import select_decision
from mm_drex.charts.store import ChartStore
from mm_drex.experts.templates import EXPERTS
from mm_drex.markdown import markdown_table
from mm_drex.regimes.labels import REGIMES


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

    def num3(key: str) -> str:
        return _number(get(key), "{:.3f}")

    prices = [
        [
            f"t ({t.date()})",
            *(_number(get(k)) for k in ("open", "high", "low", "close")),
        ],
        [
            "t+1 (execution)",
            _number(get("next_open")),
            "",
            "",
            _number(get("next_close")),
        ],
    ]
    probabilities = [
        [
            *(num3(f"p_{r}") for r in regimes),
            get("regime_pred", "–"),
            labelled_regime or "–",
        ]
    ]
    expert_rows = []
    for expert in experts:
        weight, exposure = get(f"w_{expert}"), get(f"exposure_{expert}")
        contribution = (
            float(weight) * float(exposure)
            if weight is not None and exposure is not None
            else None
        )
        expert_rows.append(
            [
                expert,
                num3(f"w_sft_{expert}"),
                _number(weight, "{:.3f}"),
                _number(exposure, "{:.3f}"),
                _number(contribution, "{:.3f}"),
                get(f"pool_{expert}", "–"),
                get(f"member_{expert}", "–"),
            ]
        )
    steps = [
        ("exposure scale κ", _number(get("exposure_scale"))),
        ("mixed exposure κ·Σ w_k·h_k", _number(get("mixed_exposure"))),
        ("projection: bounds change", _number(get("delta_bounds"))),
        ("projection: leverage change", _number(get("delta_leverage"))),
        ("projection: turnover change", _number(get("delta_turnover"))),
        ("projected target", _number(get("projected_exposure"))),
        ("held before the trade (drifted)", _number(get("pre_trade_exposure"))),
        ("order (signed, fraction of NAV)", _number(get("order"))),
        ("executed exposure", _number(get("executed_exposure"))),
        ("turnover", _number(get("turnover"))),
        ("cost (fraction of NAV)", _number(get("cost"), "{:.6f}")),
        ("net return over bar t+1 (PnL)", _number(get("net_return"), "{:.6f}")),
        ("NAV after bar t+1", _number(get("nav"))),
        ("RL reward", _number(get("reward"))),
    ]
    expert_header = ["expert", "SFT weight", "final weight", "exposure h_k"]
    expert_header += ["w_k·h_k", "regime pool", "sub-strategy"]
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
        markdown_table(["bar", "open", "high", "low", "close"], prices, align="lr"),
        "",
        "## Regime probabilities",
        "",
        markdown_table(
            [*regimes, "predicted", "labelled (forward, not an input)"],
            probabilities,
            align="r" * len(regimes) + "ll",
        ),
        "",
        "## Experts",
        "",
        markdown_table(expert_header, expert_rows, align="lrrrrll"),
        "",
        "## From mixed target to order",
        "",
        markdown_table(["step", "value"], steps, align="lr"),
        "",
    ]
    return "\n".join(lines)


def explain_decision(
    audit_trail: pd.DataFrame,
    chart_index: pd.DataFrame,
    chart_shards: Mapping[str, Callable[[], np.ndarray]],
    regimes: pd.DataFrame,
    settings: ExplainSettings,
) -> tuple[str, Figure]:
    """The explanation page (markdown) of the decision ``settings`` name, and
    the chart the router saw then (a figure)."""
    decision = select_decision(
        audit_trail,
        settings.instrument,
        settings.date,
        settings.strategy,
        settings.seed,
    )
    instrument, timestamp = decision["instrument"], pd.Timestamp(decision["timestamp"])
    chart = ChartStore(chart_index, chart_shards, cache_shards=1).get(
        instrument, timestamp
    )
    label = regimes.loc[
        (regimes["instrument"] == instrument) & (regimes["timestamp"] == timestamp),
        "regime",
    ]
    page = explanation_markdown(
        decision,
        EXPERTS,
        REGIMES,
        settings.chart_file,
        None if label.empty or pd.isna(label.iloc[0]) else str(label.iloc[0]),
    )
    figure = chart_figure(chart, f"{instrument} at the close of {timestamp.date()}")
    return page, figure
