"""The features stage's settings (``params:features``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from mm_drex.config import Settings, setting
from mm_drex.features.temporal import FeatureSpec, feature_columns
from mm_drex.features.text_view import TextSpec


@dataclass(frozen=True)
class NormaliserSettings(Settings):
    """``features.normaliser``: the segment the statistics come from, and the clip."""

    group: ClassVar[str] = "features.normaliser"

    fit_segment: str = setting("train", choices=("train",))
    clip: float = setting(5.0, gt=0)


@dataclass(frozen=True)
class FeatureSettings(Settings):
    """``params:features``: the text window, the indicators, the normaliser
    and the text view's buckets."""

    group: ClassVar[str] = "features"

    window: int = setting(100, ge=2)
    indicators: FeatureSpec = field(default_factory=FeatureSpec)
    normaliser: NormaliserSettings = field(default_factory=NormaliserSettings)
    text: TextSpec = field(default_factory=TextSpec)

    @property
    def columns(self) -> list[str]:
        """The normalised feature columns, in table order."""
        return feature_columns(self.indicators)
