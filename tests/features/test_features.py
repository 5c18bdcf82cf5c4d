"""Features table, train-only normaliser, text view and sequence gathering."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mm_drex.data.split import assign_segments
from mm_drex.features.normalise import IQR_TO_STD, apply_normaliser, fit_normaliser
from mm_drex.features.sequence import FeatureSequences
from mm_drex.features.temporal import (
    FEATURE_COLUMNS,
    KEY_COLUMNS,
    FeatureSpec,
    compute_raw_features,
    feature_columns,
)
from mm_drex.features.text_view import TextSpec, build_text_view, support_resistance


@pytest.fixture(scope="module")
def market(ingested_root):
    folder = ingested_root / "02_intermediate"
    return tuple(
        pd.read_parquet(folder / f"{name}.parquet")
        for name in ("ohlcv", "instruments", "split")
    )


@pytest.fixture(scope="module")
def raw(market):
    return compute_raw_features(*market)


def test_raw_features_cover_every_bar_with_its_segment(market, raw):
    ohlcv, _, split = market
    assert list(raw.columns) == KEY_COLUMNS + FEATURE_COLUMNS
    assert len(raw) == len(ohlcv)
    assert (raw["segment"].to_numpy() == assign_segments(ohlcv, split).to_numpy()).all()
    assert (raw.groupby("instrument", sort=False)["t"].diff().dropna() == 1).all()
    late = raw[raw["t"] >= 400]  # past every warm-up (365 bars for crypto's 52 weeks)
    wti = late["instrument"] == "WTI"
    assert late.loc[~wti, FEATURE_COLUMNS].notna().all().all()
    assert late.loc[wti, "volume_zscore"].isna().all()


def test_feature_columns_follow_the_windows_in_parameters():
    spec = FeatureSpec.from_params({"ma_windows": [10, 30, 100], "horizons": [5, 10]})
    columns = feature_columns(spec)
    assert "close_vs_sma_30" in columns and "sma_30_vs_sma_100" in columns
    assert "return_10" in columns and "return_250" not in columns
    with pytest.raises(ValueError, match="unknown keys"):
        FeatureSpec.from_params({"ma_window": [5]})


def test_normaliser_reads_only_the_train_segment(raw):
    normaliser = fit_normaliser(raw, FEATURE_COLUMNS)
    scrambled = raw.copy()
    not_train = scrambled["segment"] != "train"
    scrambled.loc[not_train, FEATURE_COLUMNS] = (
        scrambled.loc[not_train, FEATURE_COLUMNS] * 10 + 3
    )
    pd.testing.assert_frame_equal(
        fit_normaliser(scrambled, FEATURE_COLUMNS), normaliser
    )

    rows = raw[(raw["instrument"] == "BTC") & (raw["segment"] == "train")][
        "return_20"
    ].dropna()
    stats = normaliser.set_index(["instrument", "feature"]).loc[("BTC", "return_20")]
    q25, median, q75 = np.quantile(rows, [0.25, 0.5, 0.75])
    assert stats["center"] == pytest.approx(median)
    assert stats["scale"] == pytest.approx((q75 - q25) / IQR_TO_STD)
    assert stats["n_train"] == len(rows)


def test_normalised_features_are_clipped_float32(raw):
    normaliser = fit_normaliser(raw, FEATURE_COLUMNS)
    features = apply_normaliser(raw, normaliser, FEATURE_COLUMNS, clip=3.0)
    assert all(features[c].dtype == np.float32 for c in FEATURE_COLUMNS)
    values = features[FEATURE_COLUMNS].to_numpy()
    assert np.nanmax(np.abs(values)) <= 3.0
    train = features[
        (features["segment"] == "train") & (features["instrument"] == "SP500")
    ]
    assert abs(np.nanmedian(train["rsi"])) < 1e-6
    with pytest.raises(ValueError, match="instrument 'SP500', feature 'rsi'"):
        apply_normaliser(
            raw, normaliser[normaliser["feature"] != "rsi"], FEATURE_COLUMNS
        )


def test_text_view_is_one_deterministic_paragraph_per_decision_point(market, raw):
    ohlcv = market[0]
    text = build_text_view(ohlcv, raw, 100)
    again = build_text_view(ohlcv, raw, 100)
    pd.testing.assert_frame_equal(text, again)
    assert list(text.columns) == [*KEY_COLUMNS, "text"]
    assert len(text) == (ohlcv.groupby("instrument").size() - 99).sum()
    assert text["t"].min() == 99
    assert text["text"].nunique() < len(text) / 2
    wti = text[text["instrument"] == "WTI"]["text"]
    assert wti.str.endswith("No volume is reported.").all()
    assert text["text"].str.contains("RSI is (?:oversold|neutral|overbought)").all()
    sample = text["text"].iloc[0]
    assert sample.startswith("Over the last 100 bars the price ")


def test_text_thresholds_change_the_wording(market, raw):
    ohlcv = market[0]
    strict = build_text_view(
        ohlcv, raw, 100, TextSpec(rsi_overbought=99.0, rsi_oversold=1.0)
    )
    assert strict["text"].str.contains("RSI is neutral").all()


def test_support_and_resistance_use_only_confirmed_pivots():
    low = np.array([5, 4, 3, 4, 5, 6, 7, 8, 9, 10.0])
    high = low + 1
    close = low + 0.5
    support, resistance = support_resistance(high, low, close, window=10, pivot_bars=2)
    assert support[-1] == 3.0  # pivot low at bar 2, confirmed at bar 4
    assert np.isnan(resistance[-1])  # a rising series has no pivot high
    short_support, _ = support_resistance(
        high[:4], low[:4], close[:4], window=4, pivot_bars=2
    )
    assert np.isnan(short_support[-1])  # bar 2's pivot is not yet confirmed at bar 3


def test_sequence_gathers_the_last_rows_up_to_t(raw):
    features = apply_normaliser(
        raw, fit_normaliser(raw, FEATURE_COLUMNS), FEATURE_COLUMNS
    )
    sequences = FeatureSequences(features)
    values, mask = sequences.gather(["IBM", "ETH"], [500, 3], length=8)
    assert values.shape == (2, 8, len(FEATURE_COLUMNS)) and values.dtype == np.float32
    ibm = (
        features[features["instrument"] == "IBM"]
        .iloc[493:501][FEATURE_COLUMNS]
        .to_numpy()
    )
    np.testing.assert_array_equal(values[0], np.nan_to_num(ibm, nan=0.0))
    assert mask[0].all() and mask[1].tolist() == [False] * 4 + [True] * 4
    assert (values[1, :4] == 0).all()
    with pytest.raises(IndexError, match="'ETH' has no bar"):
        sequences.gather(["ETH"], [10_000], length=4)
