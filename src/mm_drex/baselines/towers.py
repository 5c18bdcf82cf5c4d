"""The router's pretrained towers as frozen encoders for the LLMoE-style baseline.

At a decision point (a bar ``t`` with a full chart window) the LLMoE-style
router reads what our router reads: the candlestick chart of bars
``t-W+1..t`` through the router's image tower
(:class:`mm_drex.router.towers.ImageTower`: EfficientNet-Lite0 with its
ImageNet weights; its LoRA adapters are zero-initialised, i.e. the pretrained
network) pooled to 1280 numbers, and the text view of the same window through
the router's frozen text tower (all-MiniLM-L6-v2, 384 numbers). Nothing of
the towers is trained here.

Two sources give the same embeddings:

- :class:`CachedTowerEmbeddings` reads the router_inputs stage's frozen caches
  (``router_decision_points``, ``router_chart_trunk``,
  ``router_text_embeddings``) and runs only the image tower's top on the cached
  trunk: the pipeline's source (the charts and texts are the stored,
  point-in-time ones, looked up by instrument and timestamp);
- :class:`RenderedTowerEmbeddings` renders the chart and the text view from
  the bars it is given (the charts and features stages' own functions) and
  runs both towers: a source that sees nothing but the bars, used by the
  truncation test and for any history without caches.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from mm_drex.baselines.base import InstrumentContext

IMAGE_DIM = 1280
TEXT_DIM = 384
BATCH = 512


def _image_tower(image_size: int, lora_from_block: int):
    from mm_drex.router.towers import ImageTower

    # LoRA rank 1: its B matrices start at zero, so the tower is the pretrained one.
    return ImageTower(image_size, lora_from_block, lora_r=1, lora_alpha=1.0).eval()


class TowerEmbeddings(ABC):
    """Frozen chart + text embeddings of one instrument's bars."""

    dim = IMAGE_DIM + TEXT_DIM

    @abstractmethod
    def embed(
        self, bars: pd.DataFrame, context: InstrumentContext
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(values (T, dim) float32, available (T,) bool)``; rows without a
        chart (the first ``W-1`` bars) are zeros and not available."""


class CachedTowerEmbeddings(TowerEmbeddings):
    """Embeddings of the router_inputs stage's cached decision points (module docstring).

    Args:
        decision_points: ``router_decision_points`` (instrument, timestamp,
            text_id, in the row order of the trunk cache).
        text_embeddings: ``router_text_embeddings`` (``embeddings``: ``(U, 384)``).
        chart_trunk: ``router_chart_trunk`` (``features``: ``(N, C, h, w)``,
            ``image_size``, ``lora_from_block``).
        num_threads: torch threads while the image tower's top runs.
    """

    def __init__(
        self,
        decision_points: pd.DataFrame,
        text_embeddings: Mapping[str, torch.Tensor],
        chart_trunk: Mapping[str, torch.Tensor],
        num_threads: int | None = None,
    ) -> None:
        from mm_drex.baselines.pooled import limited_threads

        trunk = chart_trunk["features"]
        if len(trunk) != len(decision_points):
            raise ValueError(
                f"router_chart_trunk has {len(trunk)} rows, router_decision_points "
                f"{len(decision_points)}: the router caches are out of step"
            )
        tower = _image_tower(
            int(chart_trunk["image_size"]), int(chart_trunk["lora_from_block"])
        )
        # channels-last convolutions run the top ~1.7x faster on CPU (same numbers
        # to float rounding)
        tower = tower.to(memory_format=torch.channels_last)
        image = np.zeros((len(trunk), IMAGE_DIM), dtype=np.float32)
        with limited_threads(num_threads), torch.no_grad():
            for start in range(0, len(trunk), BATCH):
                batch = trunk[start : start + BATCH].float()
                image[start : start + BATCH] = tower.top(
                    batch.to(memory_format=torch.channels_last)
                ).numpy()
        texts = text_embeddings["embeddings"].float().numpy()
        self.values = np.concatenate(
            [image, texts[decision_points["text_id"].to_numpy(dtype=np.int64)]], axis=1
        )
        self.rows = {
            str(instrument): pd.Series(
                group.index.to_numpy(), index=pd.DatetimeIndex(group["timestamp"])
            )
            for instrument, group in decision_points.reset_index(drop=True).groupby(
                "instrument", sort=False
            )
        }

    def embed(
        self, bars: pd.DataFrame, context: InstrumentContext
    ) -> tuple[np.ndarray, np.ndarray]:
        out = np.zeros((len(bars), self.dim), dtype=np.float32)
        lookup = self.rows.get(context.instrument)
        if lookup is None:
            return out, np.zeros(len(bars), dtype=bool)
        rows = lookup.reindex(pd.DatetimeIndex(bars["timestamp"])).to_numpy()
        available = np.isfinite(rows)
        out[available] = self.values[rows[available].astype(np.int64)]
        return out, available


class RenderedTowerEmbeddings(TowerEmbeddings):
    """Embeddings of charts and texts rendered from the given bars (module docstring).

    Args:
        window: bars per chart / text window (``globals.chart_window``).
        charts: ``params:charts`` (``series``, ``raster``; settings or raw).
        text: ``params:features.text``; features: ``params:features.indicators``
            (settings or raw parameters).
        lora_from_block: where the image tower splits (any value gives the
            same embedding; the router's default is used).
        text_max_tokens: the text tower's truncation.
    """

    def __init__(
        self,
        window: int = 100,
        charts: Mapping[str, Any] | None = None,
        text: Mapping[str, Any] | None = None,
        features: Mapping[str, Any] | None = None,
        lora_from_block: int = 11,
        text_max_tokens: int = 128,
    ) -> None:
        from mm_drex.charts.settings import ChartSettings
        from mm_drex.features.temporal import FeatureSpec
        from mm_drex.features.text_view import TextSpec

        charts = ChartSettings.of(charts)
        self.window = int(window)
        self.series = charts.series
        self.style = charts.raster
        self.text_spec = TextSpec.of(text)
        self.feature_spec = FeatureSpec.of(features)
        self.lora_from_block = int(lora_from_block)
        self.text_max_tokens = int(text_max_tokens)
        self._image_tower = None
        self._text_tower = None
        # embeddings are memoised by the chart's pixels and the text itself:
        # a truncated history re-renders its charts and reuses what is equal
        self._image_cache: dict[str, np.ndarray] = {}
        self._text_cache: dict[str, np.ndarray] = {}

    def _texts(self, bars: pd.DataFrame, periods_per_year: int) -> list[str]:
        from mm_drex.baselines.data import raw_features
        from mm_drex.features.temporal import KEY_COLUMNS, feature_columns
        from mm_drex.features.text_view import render_text, text_states

        # the rows of compute_raw_features: key columns, then the features
        raw = pd.DataFrame(
            raw_features(bars, periods_per_year, self.feature_spec),
            columns=feature_columns(self.feature_spec),
        )
        keys = pd.DataFrame(
            {
                "instrument": bars["instrument"].to_numpy()
                if "instrument" in bars
                else "",
                "timestamp": bars["timestamp"].to_numpy(),
                "t": np.arange(len(bars)),
                "segment": "",
            }
        )
        raw = pd.concat([keys[KEY_COLUMNS], raw], axis=1)
        states = text_states(bars, raw, self.window, self.text_spec)
        return render_text(
            states.iloc[self.window - 1 :].reset_index(drop=True), self.window
        )

    def embed(
        self, bars: pd.DataFrame, context: InstrumentContext
    ) -> tuple[np.ndarray, np.ndarray]:
        from mm_drex.charts.store import pixel_sha256, render_points
        from mm_drex.router.towers import TextTower

        out = np.zeros((len(bars), self.dim), dtype=np.float32)
        available = np.arange(len(bars)) >= self.window - 1
        if not available.any():
            return out, available
        instrument = context.instrument
        t = np.flatnonzero(available)
        series = self.series.series(bars.assign(instrument=instrument))
        charts = render_points(
            series, [instrument] * len(t), t, self.window, self.style
        )
        if self._image_tower is None:
            self._image_tower = _image_tower(self.style.height, self.lora_from_block)
            self._text_tower = TextTower(self.text_max_tokens)
        hashes = pixel_sha256(charts)
        new_rows = [i for i, key in enumerate(hashes) if key not in self._image_cache]
        with torch.no_grad():
            for start in range(0, len(new_rows), BATCH):
                rows = new_rows[start : start + BATCH]
                batch = torch.from_numpy(np.ascontiguousarray(charts[rows]))
                for row, vector in zip(
                    rows, self._image_tower(batch).numpy(), strict=True
                ):
                    self._image_cache[hashes[row]] = vector
        out[t, :IMAGE_DIM] = np.stack([self._image_cache[key] for key in hashes])
        texts = self._texts(bars, context.periods_per_year)
        new = sorted({text for text in texts if text not in self._text_cache})
        if new:
            for text, vector in zip(new, self._text_tower.encode(new), strict=True):
                self._text_cache[text] = vector
        out[t, IMAGE_DIM:] = np.stack([self._text_cache[text] for text in texts])
        return out, available
