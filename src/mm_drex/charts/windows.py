"""Decision points, the causal series a chart shows, and window gathering.

A decision point is a bar ``t`` of an instrument with at least ``W`` bars of
history (``t >= W - 1``), in any segment. Its chart shows bars ``t-W+1..t``.
Moving averages and indicators are computed once per instrument on the full
history with the causal functions of :mod:`mm_drex.features.indicators`, so
their value at a bar never depends on later bars.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mm_drex.data.split import assign_segments
from mm_drex.features import indicators as ind

PLAN_COLUMNS = [
    "instrument",
    "timestamp",
    "t",
    "window_start",
    "window_end",
    "segment",
    "shard",
    "row_in_shard",
]
SERIES = (
    "open",
    "high",
    "low",
    "close",
    "volume",
    "ma_fast",
    "ma_slow",
    "rsi",
    "macd",
    "macd_signal",
    "macd_hist",
)


@dataclass(frozen=True)
class ChartSeries:
    """Every series a chart reads, concatenated over instruments (global rows)."""

    values: dict[str, np.ndarray]  # name -> (total_bars,) float64
    first_row: dict[str, int]  # instrument -> global row of its bar 0

    def windows(
        self, instruments: Sequence[str], t: Sequence[int], bars: int
    ) -> dict[str, np.ndarray]:
        """``{series: (N, bars)}`` of bars ``t-bars+1..t`` of each decision point."""
        t = np.asarray(t, dtype=np.int64)
        if np.any(t < bars - 1):
            raise ValueError(
                f"a window of {bars} bars needs t >= {bars - 1}, got t={t.min()}"
            )
        first = np.fromiter(
            (self.first_row[i] for i in instruments), dtype=np.int64, count=len(t)
        )
        rows = (first + t - (bars - 1))[:, None] + np.arange(bars, dtype=np.int64)[
            None, :
        ]
        return {name: values[rows] for name, values in self.values.items()}


def chart_series(
    ohlcv: pd.DataFrame,
    ma_windows: tuple[int, int] = (20, 50),
    rsi_window: int = 14,
    macd: tuple[int, int, int] = (12, 26, 9),
) -> ChartSeries:
    """Causal series of every instrument: OHLCV, two SMAs, RSI and MACD."""
    parts: dict[str, list[np.ndarray]] = {name: [] for name in SERIES}
    first_row: dict[str, int] = {}
    row = 0
    for instrument, bars in ohlcv.groupby("instrument", sort=False):
        first_row[str(instrument)] = row
        row += len(bars)
        ohlc = {
            k: bars[k].to_numpy(dtype=np.float64)
            for k in ("open", "high", "low", "close", "volume")
        }
        for name, values in ohlc.items():
            parts[name].append(values)
        parts["ma_fast"].append(ind.sma(ohlc["close"], ma_windows[0]))
        parts["ma_slow"].append(ind.sma(ohlc["close"], ma_windows[1]))
        parts["rsi"].append(ind.rsi(ohlc["close"], rsi_window))
        line, signal, histogram = ind.macd(ohlc["close"], *macd)
        parts["macd"].append(line)
        parts["macd_signal"].append(signal)
        parts["macd_hist"].append(histogram)
    values = {
        name: np.concatenate(chunks) if chunks else np.empty(0)
        for name, chunks in parts.items()
    }
    return ChartSeries(values=values, first_row=first_row)


def plan_charts(
    ohlcv: pd.DataFrame, split: pd.DataFrame, window: int, shard_size: int
) -> pd.DataFrame:
    """One row per decision point, in (instrument, t) order, with its shard.

    Columns: ``PLAN_COLUMNS``; ``window_start`` / ``window_end`` are the
    timestamps of bars ``t-window+1`` and ``t``; shards are named
    ``shard_00000``, ``shard_00001``, ... and hold ``shard_size`` charts.
    """
    if shard_size < 1:
        raise ValueError(f"charts.shard_size must be >= 1, got {shard_size}")
    segments = assign_segments(ohlcv, split).to_numpy()
    position = ohlcv.groupby("instrument", sort=False).cumcount().to_numpy()
    timestamps = ohlcv["timestamp"].to_numpy()
    keep = position >= window - 1
    rows = np.flatnonzero(keep)
    plan = pd.DataFrame(
        {
            "instrument": ohlcv["instrument"].to_numpy()[rows],
            "timestamp": timestamps[rows],
            "t": position[rows].astype(np.int64),
            "window_start": timestamps[rows - (window - 1)],
            "window_end": timestamps[rows],
            "segment": segments[rows],
        }
    )
    order = np.arange(len(plan))
    plan["shard"] = [f"shard_{i:05d}" for i in order // shard_size]
    plan["row_in_shard"] = (order % shard_size).astype(np.int64)
    return plan[PLAN_COLUMNS]


def sample_points(
    chart_index: pd.DataFrame, per_instrument: int, seed: int
) -> pd.DataFrame:
    """``per_instrument`` decision points of each instrument drawn with ``seed``
    (same seed, same points), in index order."""
    rng = np.random.default_rng(seed)
    picked = []
    for _, rows in chart_index.groupby("instrument", sort=False):
        count = min(per_instrument, len(rows))
        picked.append(
            np.sort(rng.choice(rows.index.to_numpy(), size=count, replace=False))
        )
    if not picked:
        return chart_index.iloc[:0]
    return chart_index.loc[np.concatenate(picked)]
