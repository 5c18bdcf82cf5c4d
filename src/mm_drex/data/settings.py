"""The ingestion stage's settings (``params:ingestion``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from mm_drex.config import Settings, setting


@dataclass(frozen=True)
class AssetClassPreset(Settings):
    """``ingestion.asset_classes.<class>``: defaults of its instruments (any
    key of an instrument but its asset class)."""

    group: ClassVar[str] = "ingestion.asset_classes"

    source: str | None = None
    # null: the observed bars per year; a value is checked against them
    periods_per_year: int | None = setting(None, ge=1)
    # the exchange's IANA time zone (trading dates; naive timestamps are read in it)
    timezone: str | None = None
    cost_bps: float | None = setting(None, ge=0)
    allow_short: bool | None = None
    price_adjustment: str | None = None
    validation: dict[str, str] | None = None


@dataclass(frozen=True)
class InstrumentEntry(AssetClassPreset):
    """``ingestion.universe.<name>``: an instrument, its asset class and any
    key of the preset it overrides (unset keys come from the preset)."""

    group: ClassVar[str] = "ingestion.universe"

    asset_class: str | None = None


@dataclass(frozen=True)
class BarValidationSettings(Settings):
    """``ingestion.validation``: the minimum history, the gap flag and the
    action of each rule (``mm_drex.data.validation.RULE_ACTIONS``)."""

    group: ClassVar[str] = "ingestion.validation"

    min_bars: int = setting(1, ge=1)
    max_gap_factor: float = setting(5.0, gt=0)
    rules: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SplitSettings(Settings):
    """``ingestion.split``: chronological fractions and the purge at each boundary."""

    group: ClassVar[str] = "ingestion.split"

    train: float = setting(0.6, gt=0, lt=1)
    val: float = setting(0.2, ge=0, lt=1)
    test: float = setting(0.2, gt=0, lt=1)
    # bars, or a duration converted per instrument by its bar spacing ('90D')
    purge_bars: int | str = 0

    @property
    def fractions(self) -> dict[str, float]:
        return {"train": self.train, "val": self.val, "test": self.test}


@dataclass(frozen=True)
class WalkForwardSettings(Settings):
    """``ingestion.walk_forward``: the fold plan (:mod:`mm_drex.data.folds`):
    calendar test years, the val years before each, the train years before
    that (null: expanding), and what an instrument needs to join a fold."""

    group: ClassVar[str] = "ingestion.walk_forward"

    test_years: tuple[int, ...] = ()
    val_years: int = setting(1, ge=1)
    train_years: int | None = setting(None, ge=1)
    min_train_bars: int = setting(500, ge=1)
    min_val_bars: int = setting(20, ge=1)
    # per-fold settings of the refitted stages (experts, baselines, router_sft,
    # expert_rl), merged key by key over the stage's own parameters; null: none
    stage_overrides: dict[str, Any] | None = None


@dataclass(frozen=True)
class IngestionSettings(Settings):
    """``params:ingestion``: the universe, its presets, validation and split."""

    group: ClassVar[str] = "ingestion"

    asset_classes: dict[str, AssetClassPreset] = field(default_factory=dict)
    universe: dict[str, InstrumentEntry] = field(default_factory=dict)
    instruments: tuple[str, ...] | None = None
    user_data_folder: str = "data/01_raw/user"
    tail_bars: int | None = setting(None, ge=1)
    validation: BarValidationSettings = field(default_factory=BarValidationSettings)
    split: SplitSettings = field(default_factory=SplitSettings)
    walk_forward: WalkForwardSettings = field(default_factory=WalkForwardSettings)
