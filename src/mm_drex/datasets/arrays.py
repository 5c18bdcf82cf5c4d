"""A numpy ``.npy`` file as a Kedro dataset (one array per file).

Used as the element dataset of a ``partitions.PartitionedDataset`` for the
chart shards: each shard is one ``(N, 3, H, W)`` uint8 array, written as soon
as its lazy callable is called, so that only one shard is in memory.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import fsspec
import numpy as np
from kedro.io import AbstractDataset, DatasetError
from kedro.io.core import get_filepath_str, get_protocol_and_path


class NpyDataset(AbstractDataset[np.ndarray, np.ndarray]):
    """Load and save one numpy array in ``.npy`` format.

    Args:
        filepath: path of the ``.npy`` file (any fsspec protocol).
        mmap_mode: ``None`` (read into memory) or a ``numpy.load`` memory-map
            mode such as ``"r"``; memory mapping works on local files only.
        credentials, fs_args: passed to ``fsspec.filesystem``.
    """

    def __init__(
        self,
        filepath: str,
        mmap_mode: str | None = None,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
    ) -> None:
        protocol, path = get_protocol_and_path(filepath)
        self._protocol = protocol
        self._filepath = PurePosixPath(path)
        self._mmap_mode = mmap_mode
        self._fs = fsspec.filesystem(protocol, **(credentials or {}), **(fs_args or {}))

    def load(self) -> np.ndarray:
        path = get_filepath_str(self._filepath, self._protocol)
        if self._mmap_mode is not None:
            if self._protocol != "file":
                raise DatasetError(f"mmap_mode needs a local file, got {path}")
            return np.load(path, mmap_mode=self._mmap_mode, allow_pickle=False)
        with self._fs.open(path, "rb") as stream:
            return np.load(stream, allow_pickle=False)

    def save(self, data: np.ndarray) -> None:
        if not isinstance(data, np.ndarray):
            raise DatasetError(
                f"NpyDataset saves numpy arrays, got {type(data).__name__}"
            )
        path = get_filepath_str(self._filepath, self._protocol)
        self._fs.mkdirs(str(PurePosixPath(path).parent), exist_ok=True)
        with self._fs.open(path, "wb") as stream:
            np.save(stream, data, allow_pickle=False)

    def _exists(self) -> bool:
        return self._fs.exists(get_filepath_str(self._filepath, self._protocol))

    def _describe(self) -> dict[str, Any]:
        return {
            "filepath": str(self._filepath),
            "protocol": self._protocol,
            "mmap_mode": self._mmap_mode,
        }
