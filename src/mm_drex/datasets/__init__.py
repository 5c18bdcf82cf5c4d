"""Kedro datasets for inputs that are not plain files: market data bundled in
installed packages and a folder of user market files."""

from mm_drex.datasets.arrays import NpyDataset
from mm_drex.datasets.market import BundledMarketDataset, MarketFilesDataset
from mm_drex.datasets.tensors import TensorDictDataset as TensorDictDataset

__all__ = ["BundledMarketDataset", "MarketFilesDataset", "NpyDataset"]
