"""Ingestion nodes: thin wrappers over :mod:`mm_drex.data`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from mm_drex.data.files import MarketFile
from mm_drex.data.folds import fold_plan, yearly_windows
from mm_drex.data.settings import IngestionSettings, SplitSettings, WalkForwardSettings
from mm_drex.data.split import chronological_split, instrument_purges
from mm_drex.data.universe import ingest_universe


def ingest(
    bundled_market_data: Mapping[str, Callable[[], pd.DataFrame]],
    user_market_files: Mapping[str, MarketFile],
    params: Mapping[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Validate and clean every instrument of ``ingestion.universe``.

    Args:
        bundled_market_data: loaders of the data bundled in installed packages.
        user_market_files: the user's CSV/Parquet files, by file name.
        params: ``params:ingestion`` (universe, presets, validation rules).

    Returns:
        ``ohlcv`` (long bars), ``instruments`` (one row each), ``data_quality``
        (one row per logged repair or observation).
    """
    settings = IngestionSettings.from_params(params)
    return ingest_universe(settings, bundled_market_data, user_market_files)


def split(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    params: Mapping[str, Any],
    label_horizon: int | str,
    baselines: Mapping[str, Any],
) -> pd.DataFrame:
    """Chronological train/val/test bounds per instrument with purge gaps (at
    least the longest horizon of the labels and the baselines' targets)."""
    settings = SplitSettings.from_params(params)
    purge = instrument_purges(
        instruments, settings.purge_bars, label_horizon, baselines
    )
    return chronological_split(ohlcv, settings.fractions, purge)


def walk_forward(
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    params: Mapping[str, Any],
    split: Mapping[str, Any],
    label_horizon: int | str,
    baselines: Mapping[str, Any],
) -> pd.DataFrame:
    """The walk-forward fold plan: per fold, instrument and segment, the bar
    bounds on the common calendar and whether the instrument joins."""
    settings = WalkForwardSettings.from_params(params)
    windows = yearly_windows(
        settings.test_years, settings.val_years, settings.train_years
    )
    return fold_plan(
        ohlcv,
        instruments,
        windows,
        instrument_purges(
            instruments,
            SplitSettings.from_params(split).purge_bars,
            label_horizon,
            baselines,
        ),
        settings.min_train_bars,
        settings.min_val_bars,
    )
