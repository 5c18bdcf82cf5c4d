"""Chart shards: render them lazily, hash them, and look charts up again.

Shards are uint8 arrays ``(N, 3, H, W)``; the ``chart_index`` table maps every
decision point to ``(shard, row_in_shard)`` and records the sha256 of its
pixels, so that the decision log can name the exact picture a decision saw.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from mm_drex.charts.raster import RasterStyle, render_windows
from mm_drex.charts.windows import ChartSeries

INDEX_COLUMNS = [
    "instrument",
    "timestamp",
    "t",
    "window_start",
    "window_end",
    "segment",
    "shard",
    "row_in_shard",
    "sha256",
]


def render_points(
    series: ChartSeries,
    instruments: Sequence[str],
    t: Sequence[int],
    bars: int,
    style: RasterStyle,
    chunk: int = 256,
) -> np.ndarray:
    """Charts of the given decision points, ``(N, 3, H, W)`` uint8, rendered
    ``chunk`` windows at a time (small chunks stay in the CPU cache)."""
    t = np.asarray(t, dtype=np.int64)
    instruments = list(instruments)
    out = np.empty((len(t), 3, style.height, style.width), dtype=np.uint8)
    for start in range(0, len(t), chunk):
        stop = min(start + chunk, len(t))
        windows = series.windows(instruments[start:stop], t[start:stop], bars)
        out[start:stop] = render_windows(windows, style)
    return out


def shard_renderers(
    plan: pd.DataFrame, series: ChartSeries, bars: int, style: RasterStyle
) -> dict[str, Callable[[], np.ndarray]]:
    """``{shard name: callable}`` rendering each shard of ``plan`` on demand
    (lazy saving: one shard in memory at a time)."""

    def renderer(rows: pd.DataFrame) -> Callable[[], np.ndarray]:
        instruments = rows["instrument"].tolist()
        t = rows["t"].to_numpy()
        return lambda: render_points(series, instruments, t, bars, style)

    return {shard: renderer(rows) for shard, rows in plan.groupby("shard", sort=True)}


def pixel_sha256(charts: np.ndarray) -> list[str]:
    """sha256 (hex) of each chart's bytes (C-order uint8)."""
    charts = np.ascontiguousarray(charts)
    return [hashlib.sha256(chart.tobytes()).hexdigest() for chart in charts]


def index_with_hashes(
    plan: pd.DataFrame, shards: Mapping[str, Callable[[], np.ndarray] | np.ndarray]
) -> pd.DataFrame:
    """The chart index: ``plan`` plus the sha256 of every stored chart.

    Reads one shard at a time and checks it holds exactly the planned rows.
    """
    plan = plan.reset_index(drop=True)
    hashes = np.empty(len(plan), dtype=object)
    for shard, rows in plan.groupby("shard", sort=True):
        if shard not in shards:
            raise KeyError(f"chart shard '{shard}' is missing from the stored shards")
        loaded = shards[shard]
        array = loaded() if callable(loaded) else loaded
        if len(array) != len(rows):
            raise ValueError(
                f"chart shard '{shard}' holds {len(array)} charts, planned {len(rows)}"
            )
        hashes[rows.index.to_numpy()] = pixel_sha256(
            array[rows["row_in_shard"].to_numpy()]
        )
    index = plan.copy()
    index["sha256"] = hashes.astype(str)
    return index[INDEX_COLUMNS]


class ChartStore:
    """Look up charts by (instrument, timestamp) in the stored shards.

    Args:
        chart_index: the ``chart_index`` table.
        shards: ``{shard: array or loader}`` (what the ``chart_shards``
            PartitionedDataset loads), or use :meth:`from_folder`.
        cache_shards: number of loaded shards kept in memory.
    """

    def __init__(
        self,
        chart_index: pd.DataFrame,
        shards: Mapping[str, Callable[[], np.ndarray] | np.ndarray],
        cache_shards: int = 2,
    ) -> None:
        self.index = chart_index.reset_index(drop=True)
        self._shards = dict(shards)
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()
        self._cache_shards = cache_shards
        keys = pd.MultiIndex.from_arrays(
            [self.index["instrument"], self.index["timestamp"]]
        )
        self._row_of = pd.Series(np.arange(len(self.index)), index=keys)

    @classmethod
    def from_folder(
        cls, chart_index: pd.DataFrame, folder: str | Path, cache_shards: int = 8
    ) -> ChartStore:
        """Memory-map ``<folder>/<shard>.npy`` files (notebooks, live jobs)."""
        folder = Path(folder)
        shards = {
            path.stem: (lambda p=path: np.load(p, mmap_mode="r"))
            for path in sorted(folder.glob("*.npy"))
        }
        return cls(chart_index, shards, cache_shards)

    def _shard(self, name: str) -> np.ndarray:
        if name in self._cache:
            self._cache.move_to_end(name)
            return self._cache[name]
        loaded = self._shards[name]
        array = loaded() if callable(loaded) else loaded
        self._cache[name] = array
        while len(self._cache) > self._cache_shards:
            self._cache.popitem(last=False)
        return array

    def rows(
        self, instruments: Iterable[str], timestamps: Iterable[pd.Timestamp]
    ) -> np.ndarray:
        """Positions in ``index`` of the given keys (KeyError names a missing one)."""
        keys = pd.MultiIndex.from_arrays(
            [list(instruments), pd.to_datetime(list(timestamps))]
        )
        positions = self._row_of.reindex(keys)
        if positions.isna().any():
            missing = keys[positions.isna().to_numpy()][0]
            raise KeyError(f"no chart for instrument '{missing[0]}' at {missing[1]}")
        return positions.to_numpy(dtype=np.int64)

    def get(self, instrument: str, timestamp: pd.Timestamp) -> np.ndarray:
        """The ``(3, H, W)`` chart of one decision point."""
        return self.batch([instrument], [timestamp])[0]

    def batch(
        self, instruments: Sequence[str], timestamps: Sequence[pd.Timestamp]
    ) -> np.ndarray:
        """``(N, 3, H, W)`` charts of the given decision points, in order."""
        positions = self.rows(instruments, timestamps)
        entries = self.index.iloc[positions]
        shard_names = entries["shard"].to_numpy()
        rows_in_shard = entries["row_in_shard"].to_numpy()
        out = None
        for name in pd.unique(shard_names):
            shard = self._shard(name)
            selected = shard_names == name
            if out is None:
                out = np.empty((len(positions), *shard.shape[1:]), dtype=np.uint8)
            out[selected] = shard[rows_in_shard[selected]]
        if out is None:
            raise ValueError("ChartStore.batch needs at least one decision point")
        return out


def store_summary(chart_index: pd.DataFrame, style: RasterStyle) -> dict:
    """Counts and storage of the chart shards described by ``chart_index``."""
    bytes_per_chart = 3 * style.height * style.width
    return {
        "charts": len(chart_index),
        "shards": int(chart_index["shard"].nunique()),
        "image_shape": [3, style.height, style.width],
        "indicator": style.indicator,
        "bytes": int(len(chart_index) * bytes_per_chart),
        "distinct_charts": int(chart_index["sha256"].nunique()),
        "charts_per_segment": {
            str(k): int(v)
            for k, v in chart_index["segment"].value_counts().sort_index().items()
        },
    }
