"""The instrument universe declared in parameters, and its ingestion."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mm_drex.data.calendar import (
    CalendarError,
    check_timezone,
    observed_periods_per_year,
    resolve_periods_per_year,
)
from mm_drex.data.files import MarketFile
from mm_drex.data.settings import AssetClassPreset, IngestionSettings
from mm_drex.data.validation import (
    QUALITY_COLUMNS,
    RULE_ACTIONS,
    BarCheck,
    DataValidationError,
    validate_bars,
)

ASSET_CLASSES = ("equity", "index", "future", "crypto", "fx", "etf")
USER_SOURCE_PREFIX = "user/"

INSTRUMENT_COLUMNS = [
    "instrument",
    "asset_class",
    "periods_per_year",
    "observed_periods_per_year",
    "timezone",
    "cost_bps",
    "allow_short",
    "source",
    "first_timestamp",
    "last_timestamp",
    "n_bars",
    "has_volume",
]


@dataclass(frozen=True)
class InstrumentSpec:
    """One instrument of the universe with its asset-class presets applied."""

    instrument: str
    asset_class: str
    source: str
    periods_per_year: int | None
    cost_bps: float
    allow_short: bool
    timezone: str = "UTC"
    # the parameter that set periods_per_year (named in errors)
    periods_setting: str = "ingestion.asset_classes.<class>.periods_per_year"
    price_adjustment: str | None = None
    validation: Mapping[str, str] = field(default_factory=dict)


def resolve_universe(
    params: IngestionSettings | Mapping[str, Any],
) -> list[InstrumentSpec]:
    """Instrument specs from ``ingestion.universe`` and the asset-class presets.

    ``ingestion.instruments`` optionally selects a subset by name.
    """
    settings = IngestionSettings.of(params)
    universe = settings.universe
    if not universe:
        raise DataValidationError(
            "parameters ingestion.universe declares no instrument"
        )
    selected = list(settings.instruments or universe)
    unknown = [name for name in selected if name not in universe]
    if unknown:
        raise DataValidationError(
            f"parameters ingestion.instruments: unknown instrument(s) {unknown}; "
            f"the universe declares {sorted(universe)}"
        )
    specs = []
    for name in selected:
        entry = universe[name]
        asset_class = entry.asset_class
        if asset_class not in ASSET_CLASSES:
            raise DataValidationError(
                f"parameters ingestion.universe.{name}: asset_class {asset_class!r} "
                f"is not one of {list(ASSET_CLASSES)}"
            )
        preset = settings.asset_classes.get(asset_class, AssetClassPreset())
        merged = {
            key: value
            for source in (preset, entry)
            for key, value in vars(source).items()
            if value is not None
        }
        for key in ("source", "cost_bps", "allow_short"):
            if key not in merged:
                raise DataValidationError(
                    f"parameters ingestion.universe.{name}: '{key}' is missing and "
                    f"ingestion.asset_classes.{asset_class} has no default for it"
                )
        rules = dict(merged.get("validation") or {})
        unknown_rules = set(rules) - set(RULE_ACTIONS)
        if unknown_rules:
            raise DataValidationError(
                f"parameters ingestion.universe.{name}.validation: unknown rule(s) "
                f"{sorted(unknown_rules)}; rules are {sorted(RULE_ACTIONS)}"
            )
        specs.append(
            InstrumentSpec(
                instrument=name,
                asset_class=asset_class,
                source=merged["source"],
                periods_per_year=merged.get("periods_per_year"),
                cost_bps=merged["cost_bps"],
                allow_short=merged["allow_short"],
                timezone=check_timezone(
                    merged.get("timezone"), f"parameters ingestion.universe.{name}"
                ),
                periods_setting=(
                    f"ingestion.universe.{name}.periods_per_year"
                    if entry.periods_per_year is not None
                    else f"ingestion.asset_classes.{asset_class}.periods_per_year"
                ),
                price_adjustment=merged.get("price_adjustment"),
                validation=rules,
            )
        )
    return specs


def _loader_for(
    spec: InstrumentSpec,
    bundled: Mapping[str, Callable[[], pd.DataFrame]],
    user_files: Mapping[str, MarketFile],
    user_folder: str,
) -> tuple[str, Callable[[], pd.DataFrame]]:
    if spec.source.startswith(USER_SOURCE_PREFIX):
        name = spec.source.removeprefix(USER_SOURCE_PREFIX)
        if name not in user_files:
            raise DataValidationError(
                f"parameters ingestion.universe.{spec.instrument}: source "
                f"'{spec.source}' names file '{name}', which is not in {user_folder} "
                f"(files there: {sorted(user_files) or 'none'})"
            )
        market_file = user_files[name]
        return str(market_file.path), market_file.read
    if spec.source not in bundled:
        raise DataValidationError(
            f"parameters ingestion.universe.{spec.instrument}: unknown source "
            f"'{spec.source}'; bundled sources are {sorted(bundled)}, and a user file "
            f"is given as '{USER_SOURCE_PREFIX}<file name>' in {user_folder}"
        )
    return f"package source {spec.source}", bundled[spec.source]


def ingest_universe(
    params: IngestionSettings | Mapping[str, Any],
    bundled: Mapping[str, Callable[[], pd.DataFrame]],
    user_files: Mapping[str, MarketFile],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Load, validate and clean every instrument of the universe.

    Everything is validated before anything is returned, so a bad instrument
    stops the run with nothing written.

    Returns:
        ``(ohlcv, instruments, data_quality)`` as described in DESIGN.md.
    """
    settings = IngestionSettings.of(params)
    validation = settings.validation
    rules = dict(validation.rules)
    unknown_rules = set(rules) - set(RULE_ACTIONS)
    if unknown_rules:
        raise DataValidationError(
            f"parameters ingestion.validation.rules: unknown rule(s) "
            f"{sorted(unknown_rules)}; rules are {sorted(RULE_ACTIONS)}"
        )
    user_folder = settings.user_data_folder
    tail_bars = settings.tail_bars
    bars_by_instrument, rows, quality = [], [], []
    for spec in resolve_universe(settings):
        source_name, load = _loader_for(spec, bundled, user_files, user_folder)
        check = BarCheck(
            instrument=spec.instrument,
            source=source_name,
            rules={**rules, **spec.validation},
            min_bars=validation.min_bars,
            max_gap_factor=validation.max_gap_factor,
            price_adjustment=spec.price_adjustment,
            timezone=spec.timezone,
        )
        try:
            raw = load()
        except (OSError, ValueError) as error:
            raise DataValidationError(
                f"{source_name}: instrument {spec.instrument}: cannot be read: {error}"
            ) from error
        bars = validate_bars(raw, check)
        observed = observed_periods_per_year(bars["timestamp"])
        try:
            periods_per_year = resolve_periods_per_year(
                spec.periods_per_year,
                observed,
                spec.instrument,
                f"parameters {spec.periods_setting}",
            )
        except CalendarError as error:
            raise DataValidationError(f"{source_name}: {error}") from None
        if tail_bars:
            bars = bars.iloc[-tail_bars:].reset_index(drop=True)
        bars.insert(0, "instrument", spec.instrument)
        bars_by_instrument.append(bars)
        quality.extend(check.log)
        rows.append(
            {
                "instrument": spec.instrument,
                "asset_class": spec.asset_class,
                "periods_per_year": periods_per_year,
                "observed_periods_per_year": observed,
                "timezone": spec.timezone,
                "cost_bps": spec.cost_bps,
                "allow_short": spec.allow_short,
                "source": source_name,
                "first_timestamp": bars["timestamp"].iloc[0],
                "last_timestamp": bars["timestamp"].iloc[-1],
                "n_bars": len(bars),
                "has_volume": bool(bars["volume"].notna().any()),
            }
        )
    ohlcv = pd.concat(bars_by_instrument, ignore_index=True)
    ohlcv["instrument"] = ohlcv["instrument"].astype(str)
    instruments = pd.DataFrame(rows, columns=INSTRUMENT_COLUMNS)
    data_quality = pd.DataFrame(quality, columns=QUALITY_COLUMNS)
    data_quality["timestamp"] = pd.to_datetime(data_quality["timestamp"])
    data_quality = data_quality.astype(
        {c: str for c in QUALITY_COLUMNS if c != "timestamp"}
    )
    return ohlcv, instruments, data_quality
