"""The LLMoE router's two sources of tower embeddings agree."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from mm_drex.baselines.towers import (
    IMAGE_DIM,
    CachedTowerEmbeddings,
    RenderedTowerEmbeddings,
)
from mm_drex.charts.raster import RasterStyle
from mm_drex.charts.store import render_points
from mm_drex.charts.windows import chart_series
from mm_drex.data.split import chronological_split
from mm_drex.features.temporal import compute_raw_features
from mm_drex.features.text_view import build_text_view
from mm_drex.router.towers import ImageTower, TextTower

WINDOW = 100


def test_the_router_caches_give_the_embeddings_of_the_charts_and_texts_of_the_bars(
    small_universe,
):
    history = small_universe[0]
    bars = history.bars.iloc[-160:].reset_index(drop=True)
    instruments = pd.DataFrame({"instrument": ["SP500"], "periods_per_year": [252]})
    split = chronological_split(bars, {"train": 0.6, "val": 0.2, "test": 0.2}, 5)
    rendered = RenderedTowerEmbeddings(window=WINDOW)
    values, available = rendered.embed(bars, history.context)
    t = np.flatnonzero(available)
    assert t[0] == WINDOW - 1 and len(t) == len(bars) - WINDOW + 1
    assert not values[~available].any()

    # The router stage's caches of the same decision points, built with the
    # router's own towers: the image trunk of each chart, MiniLM per text.
    charts = render_points(
        chart_series(bars), ["SP500"] * len(t), t, WINDOW, RasterStyle()
    )
    tower = ImageTower(64, 11, lora_r=4, lora_alpha=8.0)
    trunk = tower.trunk(torch.from_numpy(charts))
    texts = rendered._texts(bars, 252)
    # the text views are the features stage's, word for word
    stage_view = build_text_view(
        bars, compute_raw_features(bars, instruments, split), WINDOW
    )
    assert texts == stage_view["text"].tolist()
    codes, distinct = pd.factorize(pd.Series(texts))
    points = pd.DataFrame(
        {
            "instrument": "SP500",
            "timestamp": bars["timestamp"].to_numpy()[t],
            "text_id": codes,
        }
    )
    cached = CachedTowerEmbeddings(
        points,
        {"embeddings": torch.from_numpy(TextTower().encode(list(distinct)))},
        {
            "features": trunk,
            "image_size": torch.tensor(64),
            "lora_from_block": torch.tensor(11),
        },
    )
    from_cache, cache_available = cached.embed(bars, history.context)
    np.testing.assert_array_equal(cache_available, available)
    np.testing.assert_allclose(
        from_cache[available, :IMAGE_DIM], values[available, :IMAGE_DIM], atol=1e-4
    )
    np.testing.assert_allclose(
        from_cache[available, IMAGE_DIM:], values[available, IMAGE_DIM:], atol=1e-5
    )
    # charts differ from day to day, so do their embeddings
    assert np.abs(np.diff(values[available, :IMAGE_DIM], axis=0)).max() > 1e-3

    # an instrument the caches do not hold has no embedding
    _, none = cached.embed(bars.assign(instrument="BTC"), small_universe[1].context)
    assert not none.any()
