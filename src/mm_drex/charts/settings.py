"""The charts stage's settings (``params:charts``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

import pandas as pd

from mm_drex.charts.raster import INDICATORS, RasterStyle
from mm_drex.charts.windows import ChartSeries, chart_series
from mm_drex.config import Settings, setting


@dataclass(frozen=True)
class ChartSeriesSettings(Settings):
    """``charts.series``: the causal lines drawn in a chart."""

    group: ClassVar[str] = "charts.series"

    ma_windows: tuple[int, int] = setting((20, 50), ge=1)
    rsi_window: int = setting(14, ge=1)
    macd: tuple[int, int, int] = setting((12, 26, 9), ge=1)

    def series(self, ohlcv: pd.DataFrame) -> ChartSeries:
        """These lines and the OHLCV of every instrument of ``ohlcv``."""
        return chart_series(ohlcv, self.ma_windows, self.rsi_window, self.macd)


@dataclass(frozen=True)
class SampleSettings(Settings):
    """``charts.samples``: the mplfinance charts drawn for people."""

    group: ClassVar[str] = "charts.samples"

    per_instrument: int = setting(3, ge=0)
    seed: int = 42
    indicator: str = setting("macd", choices=INDICATORS)
    figsize: tuple[float, float] = setting((8.0, 6.0), gt=0)


@dataclass(frozen=True)
class ChartSettings(Settings):
    """``params:charts``: window, shards, lines, raster style and samples."""

    group: ClassVar[str] = "charts"

    window: int = setting(100, ge=2)
    shard_size: int = setting(4096, ge=1)
    series: ChartSeriesSettings = field(default_factory=ChartSeriesSettings)
    raster: RasterStyle = field(default_factory=RasterStyle)
    samples: SampleSettings = field(default_factory=SampleSettings)
