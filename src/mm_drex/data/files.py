"""A user's market files: one CSV or Parquet file per instrument."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

MARKET_FILE_SUFFIXES = (".csv", ".parquet", ".pq")


@dataclass(frozen=True)
class MarketFile:
    """One instrument's bars on disk, read only when :meth:`read` is called."""

    path: Path

    def read(self) -> pd.DataFrame:
        suffix = self.path.suffix.lower()
        if suffix == ".csv":
            try:
                return pd.read_csv(self.path)
            except pd.errors.EmptyDataError:
                return pd.DataFrame()
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(self.path)
        raise ValueError(
            f"{self.path}: unsupported file type '{suffix}' "
            f"(use one of {', '.join(MARKET_FILE_SUFFIXES)})"
        )


def list_market_files(folder: Path) -> dict[str, MarketFile]:
    """Every market file directly in ``folder``, keyed by file name."""
    if not folder.is_dir():
        return {}
    return {
        path.name: MarketFile(path)
        for path in sorted(folder.iterdir())
        if path.is_file() and path.suffix.lower() in MARKET_FILE_SUFFIXES
    }
