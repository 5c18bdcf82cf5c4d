"""The common calendar: trading dates, bar spacing and durations.

Every bar belongs to a **trading date** in its exchange's time zone. Stored
timestamps are UTC instants (tz-naive): a source whose timestamps carry an
offset is converted to UTC; a naive source is read in the instrument's
``timezone`` (UTC unless set), so a naive daily date stays the same date. The
trading date of a bar is the date of its timestamp in the exchange's time zone:
a Korean daily bar stamped ``2020-01-02 00:00+09:00`` is stored as
``2020-01-01 15:00`` UTC and trades on ``2020-01-02``, like a US bar of that day.

Annualisation comes from the observed bar spacing: the bars per year of an
instrument are its intervals per year of the time they span (years of 365.25
days; gaps of more than a week and ten typical spacings left out). A configured
``periods_per_year`` is checked against it and refused when they differ by more
than :data:`PERIODS_TOLERANCE`.

Windows and horizons may be given as bar counts (``90``) or as durations
(``"90D"``, ``"6h"``, ``"2W"``, ``"1Y"``); a duration is converted per instrument
by its bars per year: ``round(duration / 1 year * periods_per_year)`` bars, so
``90D`` is 62 bars of a 252-day stock, 90 bars of a 365-day crypto and about
90 x 96 bars of 15-minute crypto.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

UTC = "UTC"
YEAR = pd.Timedelta(days=365.25)
# An interval longer than this many median spacings is a gap, not the calendar.
GAP_FACTOR = 10.0
# ... and longer than a week (a weekend of hourly bars is part of the calendar).
MIN_GAP = pd.Timedelta(days=7)
# A configured periods_per_year may differ from the observed one by this much.
PERIODS_TOLERANCE = 0.25

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*$")
_UNITS = {
    "min": pd.Timedelta(minutes=1),
    "t": pd.Timedelta(minutes=1),
    "h": pd.Timedelta(hours=1),
    "d": pd.Timedelta(days=1),
    "w": pd.Timedelta(weeks=1),
    "m": YEAR / 12,
    "y": YEAR,
}


class CalendarError(ValueError):
    """A bad time zone, duration or annualisation; the message names it."""


def check_timezone(timezone: str | None, where: str) -> str:
    """The IANA name of a time zone (``UTC`` when unset); refuses unknown names."""
    if timezone in (None, "", UTC):
        return UTC
    try:
        ZoneInfo(str(timezone))
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise CalendarError(
            f"{where}: timezone {timezone!r} is not an IANA time zone name "
            "(e.g. 'America/New_York', 'Asia/Seoul', 'UTC')"
        ) from error
    return str(timezone)


def localize_naive(timestamps: pd.Series, timezone: str) -> pd.Series:
    """Naive exchange-local times -> naive UTC instants (identity for UTC)."""
    if timezone == UTC:
        return timestamps
    ambiguous = np.ones(len(timestamps), dtype=bool)  # the earlier (DST) instant
    local = timestamps.dt.tz_localize(
        timezone, ambiguous=ambiguous, nonexistent="shift_forward"
    )
    return local.dt.tz_convert(UTC).dt.tz_localize(None)


def trading_dates(timestamps: pd.Series | np.ndarray, timezone: str) -> pd.Series:
    """The trading date (naive midnight) of each naive-UTC timestamp."""
    stamps = pd.Series(pd.to_datetime(np.asarray(timestamps)))
    if timezone == UTC:
        return stamps.dt.normalize()
    local = stamps.dt.tz_localize(UTC).dt.tz_convert(timezone)
    return local.dt.tz_localize(None).dt.normalize()


def observed_periods_per_year(timestamps: pd.Series | np.ndarray) -> float:
    """Bars per year of a series: intervals per year of the time they span,
    leaving out gaps longer than :data:`GAP_FACTOR` typical spacings and
    :data:`MIN_GAP` (a missing month of data, or the years between two chained
    segments; weekends and holidays stay in), so that a gap does not read as a
    slower calendar. NaN under two bars."""
    stamps = np.sort(pd.to_datetime(np.asarray(timestamps)).to_numpy())
    if len(stamps) < 2:
        return float("nan")
    spacing = np.diff(stamps).astype("timedelta64[ns]").astype(np.float64)
    longest = max(GAP_FACTOR * np.median(spacing), float(MIN_GAP.value))
    kept = spacing[spacing <= longest]
    span = kept.sum() / YEAR.value
    return float(len(kept) / span) if span > 0 else float("nan")


def resolve_periods_per_year(
    configured: int | None, observed: float, instrument: str, setting: str
) -> int:
    """The periods per year to annualise with: the configured value when it is
    within :data:`PERIODS_TOLERANCE` of the observed one, the observed one
    (rounded) when none is configured; a larger mismatch is an error."""
    if configured is None:
        if not np.isfinite(observed):
            raise CalendarError(
                f"instrument {instrument}: periods_per_year cannot be observed from "
                f"fewer than two bars; set {setting}"
            )
        return max(1, round(observed))
    if np.isfinite(observed) and abs(configured / observed - 1.0) > PERIODS_TOLERANCE:
        raise CalendarError(
            f"instrument {instrument}: {setting} = {configured}, but its bars "
            f"come {observed:,.1f} per year (a ratio of {configured / observed:.3g}, "
            f"beyond {PERIODS_TOLERANCE:.0%}): every Sharpe ratio would be scaled by "
            f"{np.sqrt(configured / observed):.3g}; set {setting} to about "
            f"{round(observed)} (or set it neither there nor in the instrument's "
            "asset-class preset, to annualise with the observed spacing)"
        )
    return int(configured)


def parse_duration(value: str) -> pd.Timedelta:
    """``'90D'``, ``'6h'``, ``'30min'``, ``'2W'``, ``'3M'``, ``'1Y'`` -> a Timedelta
    (``M`` is a month of 1/12 year, ``min`` a minute)."""
    match = _DURATION.match(str(value))
    unit = match.group(2).lower() if match else ""
    if not match or unit not in _UNITS:
        raise CalendarError(
            f"{value!r} is neither a bar count nor a duration; durations are a "
            "number and a unit: min, h, D, W, M (month), Y (e.g. '90D', '6h')"
        )
    return float(match.group(1)) * _UNITS[unit]


def to_bars(value: int | str, periods_per_year: float, where: str) -> int:
    """A window or horizon in bars: an int is a bar count; a duration is
    converted by the instrument's bars per year (at least one bar)."""
    if isinstance(value, bool):
        raise CalendarError(f"{where} = {value!r}: give a bar count or a duration")
    if isinstance(value, int | np.integer):
        if value < 0:
            raise CalendarError(f"{where} = {value}: must be >= 0")
        return int(value)
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    try:
        duration = parse_duration(text)
    except CalendarError as error:
        raise CalendarError(f"{where}: {error}") from None
    return max(1, round(duration / YEAR * float(periods_per_year)))


def instrument_bars(
    value: int | str, instruments: pd.DataFrame, where: str
) -> dict[str, int]:
    """``value`` (a bar count or a duration such as ``'90D'``) in bars for every
    instrument of ``instruments`` (by its ``periods_per_year``)."""
    return {
        str(row.instrument): to_bars(
            value, float(row.periods_per_year), f"{where} (instrument {row.instrument})"
        )
        for row in instruments[["instrument", "periods_per_year"]].itertuples(
            index=False
        )
    }


def per_instrument(value: int | Mapping[str, int], instrument: str, where: str) -> int:
    """One instrument's bars of a setting given as one count or per instrument."""
    if isinstance(value, Mapping):
        if instrument not in value:
            raise CalendarError(f"{where}: no value for instrument '{instrument}'")
        return int(value[instrument])
    return int(value)
