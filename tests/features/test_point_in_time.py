"""Acceptance: features, text view and chart at bar t ignore every bar after t.

For 60 seeded random decision points spread over all ten instruments, every
view computed from the data truncated after bar t equals, bit for bit, the
view computed from the full history. The normaliser is fitted once on the full
data's train segment (that is what "train-only statistics" means) and applied
unchanged to the truncated data.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from mm_drex.charts.raster import RasterStyle
from mm_drex.charts.store import render_points
from mm_drex.charts.windows import chart_series
from mm_drex.data.sources import BUNDLED_SOURCES
from mm_drex.data.split import chronological_split
from mm_drex.data.universe import ingest_universe
from mm_drex.features.normalise import apply_normaliser, fit_normaliser
from mm_drex.features.temporal import FEATURE_COLUMNS, compute_raw_features
from mm_drex.features.text_view import build_text_view

WINDOW = 100
POINTS_PER_INSTRUMENT = 6
PROJECT_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def market(ingested_root):
    folder = ingested_root / "02_intermediate"
    return tuple(
        pd.read_parquet(folder / f"{name}.parquet")
        for name in ("ohlcv", "instruments", "split")
    )


def views_at(ohlcv, instruments, split, normaliser, points, style):
    """Normalised feature row, text and chart bytes at each (instrument, t) from ``ohlcv``."""
    raw = compute_raw_features(ohlcv, instruments, split)
    features = apply_normaliser(raw, normaliser, FEATURE_COLUMNS)
    text = build_text_view(ohlcv, raw, WINDOW)
    charts = render_points(
        chart_series(ohlcv),
        [i for i, _ in points],
        [t for _, t in points],
        WINDOW,
        style,
    )
    out = []
    for (instrument, t), chart in zip(points, charts, strict=True):
        row = (features["instrument"] == instrument) & (features["t"] == t)
        text_row = (text["instrument"] == instrument) & (text["t"] == t)
        out.append(
            (
                features.loc[row, ["timestamp", "segment"]].to_numpy().tolist(),
                features.loc[row, FEATURE_COLUMNS].to_numpy(),
                raw.loc[row, FEATURE_COLUMNS].to_numpy(),
                text.loc[text_row, "text"].tolist(),
                chart.tobytes(),
            )
        )
    return out


def truncated_after(ohlcv: pd.DataFrame, instrument: str, t: int) -> pd.DataFrame:
    """Only ``instrument``'s bars 0..t (everything after bar t deleted)."""
    bars = ohlcv[ohlcv["instrument"] == instrument]
    return bars.iloc[: t + 1].reset_index(drop=True)


def assert_same_views(full, truncated, label):
    keys, normalised, raw, text, chart = full
    t_keys, t_normalised, t_raw, t_text, t_chart = truncated
    assert keys == t_keys and len(keys) == 1, label
    np.testing.assert_array_equal(t_raw, raw, err_msg=f"raw features differ at {label}")
    np.testing.assert_array_equal(
        t_normalised, normalised, err_msg=f"features differ at {label}"
    )
    assert t_text == text and len(text) == 1, f"text differs at {label}"
    assert t_chart == chart, f"chart differs at {label}"


def test_features_text_and_chart_at_t_ignore_bars_after_t(market):
    ohlcv, instruments, split = market
    rng = np.random.default_rng(2026)
    points = []
    for instrument, bars in ohlcv.groupby("instrument", sort=False):
        # t < n - 1, so that truncation really deletes bars
        for t in sorted(
            rng.choice(
                np.arange(WINDOW - 1, len(bars) - 1),
                POINTS_PER_INSTRUMENT,
                replace=False,
            )
        ):
            points.append((instrument, int(t)))
    assert len(points) >= 50 and len({i for i, _ in points}) == 10

    style = RasterStyle()
    normaliser = fit_normaliser(
        compute_raw_features(ohlcv, instruments, split), FEATURE_COLUMNS
    )
    full = views_at(ohlcv, instruments, split, normaliser, points, style)
    for (instrument, t), full_views in zip(points, full, strict=True):
        truncated = views_at(
            truncated_after(ohlcv, instrument, t),
            instruments,
            split,
            normaliser,
            [(instrument, t)],
            style,
        )
        assert_same_views(full_views, truncated[0], f"{instrument} t={t}")


def test_views_around_the_negative_wti_price_ignore_bars_after_t():
    """WTI settled at -37.63 on 2020-04-20: the views before, at and after it are causal too."""
    params = yaml.safe_load(
        (PROJECT_ROOT / "conf/base/parameters_ingestion.yml").read_text()
    )["ingestion"]
    params["universe"] = {"WTI": params["universe"]["WTI"]}
    params["validation"]["min_bars"] = 190  # the interpolations, resolved
    params["split"]["purge_bars"] = 90
    ohlcv, instruments, _ = ingest_universe(params, BUNDLED_SOURCES, {})
    split = chronological_split(ohlcv, {"train": 0.6, "val": 0.2, "test": 0.2}, 90)
    negative = int(np.flatnonzero(ohlcv["close"].to_numpy() < 0)[0])
    points = [
        ("WTI", t)
        for t in (negative - 1, negative, negative + 1, negative + 3, negative + 30)
    ]
    style = RasterStyle()
    normaliser = fit_normaliser(
        compute_raw_features(ohlcv, instruments, split), FEATURE_COLUMNS
    )
    full = views_at(ohlcv, instruments, split, normaliser, points, style)
    for (instrument, t), full_views in zip(points, full, strict=True):
        truncated = views_at(
            truncated_after(ohlcv, instrument, t),
            instruments,
            split,
            normaliser,
            [(instrument, t)],
            style,
        )
        assert_same_views(full_views, truncated[0], f"{instrument} t={t}")
    assert np.isfinite(full[2][1]).any()
