"""Kedro datasets for inputs that are not plain files: market data bundled in
installed packages and a folder of user market files."""

from mm_drex.datasets.market import BundledMarketDataset, MarketFilesDataset

__all__ = ["BundledMarketDataset", "MarketFilesDataset"]
