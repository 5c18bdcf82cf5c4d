"""The audit trail: the decision log joined with the chart index and prices,
and the lookup of one decision by instrument and date.

A decision at the close of bar ``t`` is executed at the open of bar ``t+1``;
the audit trail puts the bar-``t`` prices (what the decision saw) next to
the bar-``t+1`` open (the execution price) and close (where its PnL is
marked), and the chart the router saw (its shard position and hash).
"""

from __future__ import annotations

import pandas as pd

KEYS = ["instrument", "timestamp"]
CHART_COLUMNS = ["window_start", "window_end", "shard", "row_in_shard", "sha256"]


def audit_trail(
    decision_log: pd.DataFrame, chart_index: pd.DataFrame, ohlcv: pd.DataFrame
) -> pd.DataFrame:
    """The decision log joined with the chart index and prices.

    Args:
        decision_log: the ``mmdrex_decision_log`` (one row per strategy,
            seed, instrument, decision bar ``timestamp``).
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
