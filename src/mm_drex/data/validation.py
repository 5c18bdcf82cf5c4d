"""Validation and declared cleaning of OHLCV bars.

Every check is a named rule. Each rule is either an error (the run stops with a
message naming the source, instrument, row, column and value) or a repair that
is carried out and logged as one row of the ``data_quality`` report. Which one
is chosen per rule in ``parameters_ingestion.yml`` (``ingestion.validation.rules``),
and an instrument may override a rule for itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mm_drex.data.calendar import UTC, localize_naive
from mm_drex.data.sources import (
    PRICE_COLUMNS,
    adjust_to_adjusted_close,
    bring_timestamp_into_columns,
    empty_volume,
    find_column_aliases,
)

# rule -> the actions it accepts; the first is the default.
RULE_ACTIONS: dict[str, tuple[str, ...]] = {
    "unsorted": ("error", "sort"),
    "duplicate_timestamp": ("error", "keep_last", "keep_first"),
    "non_finite": ("error", "drop_row"),
    "all_zero_bar": ("error", "drop_row"),
    "non_positive_price": ("error", "keep"),
    "high_low_inconsistent": ("error", "clip"),
    "negative_volume": ("error", "set_nan"),
    "gap": ("keep", "error"),
}

QUALITY_COLUMNS = [
    "instrument",
    "source",
    "rule",
    "action",
    "timestamp",
    "column",
    "value",
    "detail",
]

_MAX_EXAMPLES = 3


class DataValidationError(ValueError):
    """Bad input bars; the message names source, instrument, row, column, value."""


@dataclass
class BarCheck:
    """Validation context of one instrument: where it came from and its rules."""

    instrument: str
    source: str
    rules: Mapping[str, str]
    min_bars: int
    max_gap_factor: float = 5.0
    price_adjustment: str | None = None
    # naive timestamps are read in this time zone (mm_drex.data.calendar)
    timezone: str = "UTC"
    log: list[dict] = field(default_factory=list)

    def action(self, rule: str) -> str:
        allowed = RULE_ACTIONS[rule]
        chosen = self.rules.get(rule, allowed[0])
        if chosen not in allowed:
            raise DataValidationError(
                f"{self.source}: instrument {self.instrument}: validation rule "
                f"'{rule}' is set to '{chosen}'; allowed: {', '.join(allowed)}"
            )
        return chosen

    def fail(self, what: str, examples: str, rule: str | None = None) -> None:
        hint = ""
        if rule is not None:
            repairs = [a for a in RULE_ACTIONS[rule] if a != "error"]
            hint = (
                f" [rule '{rule}' is 'error'; fix the data or set "
                f"ingestion.validation.rules.{rule} to {' or '.join(repairs)}]"
            )
        raise DataValidationError(
            f"{self.source}: instrument {self.instrument}: {what}: {examples}{hint}"
        )

    def record(
        self,
        rule: str,
        action: str,
        rows: pd.DataFrame,
        column: str,
        detail: str,
    ) -> None:
        for _, row in rows.iterrows():
            self.log.append(
                {
                    "instrument": self.instrument,
                    "source": self.source,
                    "rule": rule,
                    "action": action,
                    "timestamp": row["timestamp"],
                    "column": column,
                    "value": str(row[column]) if column in row else "",
                    "detail": detail,
                }
            )


def _describe_rows(frame: pd.DataFrame, mask: np.ndarray, columns: list[str]) -> str:
    """'row 2016-09-06, column 'open': value 0.0; ...' for the first few hits."""
    hits = frame.loc[mask]
    parts = []
    for position, (_, row) in enumerate(hits.iterrows()):
        if position == _MAX_EXAMPLES:
            break
        shown = [c for c in columns if c in row.index]
        values = ", ".join(f"column '{c}': value {row[c]!r}" for c in shown)
        parts.append(f"row {_stamp(row['timestamp'])}, {values}")
    more = f" ({len(hits)} rows in all)" if len(hits) > _MAX_EXAMPLES else ""
    return "; ".join(parts) + more


def _stamp(value: object) -> str:
    if isinstance(value, pd.Timestamp):
        return value.isoformat(sep=" ").removesuffix(" 00:00:00")
    return repr(value)


def _standard_columns(raw: pd.DataFrame, check: BarCheck) -> pd.DataFrame:
    if raw is None or (len(raw.columns) == 0 and len(raw) == 0):
        check.fail("the file or source is empty", "no columns and no rows")
    frame = bring_timestamp_into_columns(raw)
    frame = frame.rename(columns=find_column_aliases(list(frame.columns)))
    for column in ("timestamp", *PRICE_COLUMNS):
        if column not in frame.columns:
            check.fail(
                f"missing column '{column}'",
                f"found columns {list(raw.columns) + ([raw.index.name] if raw.index.name else [])}",
            )
    if len(frame) == 0:
        check.fail("the file or source is empty", "it has a header but no rows")
    keep = ["timestamp", *PRICE_COLUMNS] + [
        c for c in ("volume", "adj_close") if c in frame.columns
    ]
    frame = frame[keep].reset_index(drop=True)
    if "volume" not in frame.columns:
        frame["volume"] = empty_volume(len(frame))
    return frame


def _all_naive(raw: pd.Series) -> bool:
    """Whether a timestamp column carries no UTC offset (read in exchange time)."""
    if pd.api.types.is_datetime64_dtype(raw):
        return True
    try:
        parsed = pd.to_datetime(raw, errors="coerce", format="mixed")
    except (TypeError, ValueError):
        return False  # mixed offsets: each value carries its own
    return pd.api.types.is_datetime64_dtype(parsed) and not isinstance(
        parsed.dtype, pd.DatetimeTZDtype
    )


def _parse_timestamps(frame: pd.DataFrame, check: BarCheck) -> pd.DataFrame:
    raw = frame["timestamp"]
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        parsed = raw.dt.tz_convert("UTC").dt.tz_localize(None)
    else:
        parsed = pd.to_datetime(raw, utc=True, errors="coerce", format="mixed")
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        if check.timezone != UTC and _all_naive(raw):
            local = pd.to_datetime(raw, errors="coerce", format="mixed")
            parsed = localize_naive(local, check.timezone)
    bad = parsed.isna().to_numpy()
    if bad.any():
        first = np.flatnonzero(bad)[:_MAX_EXAMPLES]
        check.fail(
            "unparseable timestamp",
            "; ".join(
                f"row {i} (0-based data row), column 'timestamp': value {raw.iloc[i]!r}"
                for i in first
            )
            + (f" ({bad.sum()} rows in all)" if bad.sum() > _MAX_EXAMPLES else ""),
        )
    frame = frame.copy()
    frame["timestamp"] = parsed.astype("datetime64[ns]")
    return frame


def _parse_numbers(frame: pd.DataFrame, check: BarCheck) -> pd.DataFrame:
    frame = frame.copy()
    for column in [*PRICE_COLUMNS, "volume", "adj_close"]:
        if column not in frame.columns:
            continue
        original = frame[column]
        if pd.api.types.is_bool_dtype(original):
            check.fail("boolean values in a numeric column", f"column '{column}'")
        numbers = pd.to_numeric(original, errors="coerce")
        text = numbers.isna() & original.notna()
        if pd.api.types.is_object_dtype(original) or pd.api.types.is_string_dtype(
            original
        ):
            # "nan"/"inf" spelled out are numbers; they are judged by non_finite
            text &= ~original.astype(str).str.strip().str.lower().isin(
                {"nan", "inf", "-inf", "+inf", "infinity", "-infinity"}
            )
        if text.any():
            check.fail(
                f"text in numeric column '{column}'",
                _describe_rows(frame, text.to_numpy(), [column]),
            )
        frame[column] = numbers.astype(float)
    return frame


def _check_order(frame: pd.DataFrame, check: BarCheck) -> pd.DataFrame:
    ts = frame["timestamp"]
    backwards = (ts.diff() < pd.Timedelta(0)).to_numpy()
    if backwards.any():
        action = check.action("unsorted")
        if action == "error":
            check.fail(
                "timestamps are not in increasing order (first bar earlier than the one before it)",
                _describe_rows(frame, backwards, ["timestamp"]),
                "unsorted",
            )
        check.record(
            "unsorted", "sort", frame.loc[backwards], "timestamp", "bars sorted by time"
        )
        frame = frame.sort_values("timestamp", kind="stable").reset_index(drop=True)
    duplicated = frame["timestamp"].duplicated(keep=False).to_numpy()
    if duplicated.any():
        action = check.action("duplicate_timestamp")
        if action == "error":
            check.fail(
                "duplicate timestamp",
                _describe_rows(frame, duplicated, ["close"]),
                "duplicate_timestamp",
            )
        keep = "last" if action == "keep_last" else "first"
        dropped = frame["timestamp"].duplicated(keep=keep).to_numpy()
        check.record(
            "duplicate_timestamp",
            action,
            frame.loc[dropped],
            "close",
            f"duplicate bar dropped, kept the {keep} one",
        )
        frame = frame.loc[~dropped].reset_index(drop=True)
    return frame


def _drop_or_fail(
    frame: pd.DataFrame,
    check: BarCheck,
    rule: str,
    mask: np.ndarray,
    columns: list[str],
    what: str,
) -> pd.DataFrame:
    if not mask.any():
        return frame
    action = check.action(rule)
    if action == "error":
        check.fail(what, _describe_rows(frame, mask, columns), rule)
    check.record(rule, action, frame.loc[mask], columns[0], what)
    return frame.loc[~mask].reset_index(drop=True)


def _check_values(frame: pd.DataFrame, check: BarCheck) -> pd.DataFrame:
    prices = frame[list(PRICE_COLUMNS)].to_numpy()
    volume = frame["volume"].to_numpy()
    non_finite = ~np.isfinite(prices).all(axis=1) | np.isinf(volume)
    bad_columns = [
        c for c in (*PRICE_COLUMNS, "volume") if not np.isfinite(frame[c]).all()
    ]
    frame = _drop_or_fail(
        frame,
        check,
        "non_finite",
        non_finite,
        [c for c in bad_columns if c != "volume" or np.isinf(volume).any()]
        or ["close"],
        "NaN or infinite value",
    )
    prices = frame[list(PRICE_COLUMNS)].to_numpy()
    all_zero = (prices == 0).all(axis=1)
    frame = _drop_or_fail(
        frame, check, "all_zero_bar", all_zero, ["close"], "all-zero bar"
    )

    prices = frame[list(PRICE_COLUMNS)].to_numpy()
    non_positive = (prices <= 0).any(axis=1)
    if non_positive.any():
        action = check.action("non_positive_price")
        columns = [c for c in PRICE_COLUMNS if (frame[c] <= 0).any()]
        if action == "error":
            check.fail(
                "zero or negative price",
                _describe_rows(frame, non_positive, columns),
                "non_positive_price",
            )
        for column in columns:
            check.record(
                "non_positive_price",
                "keep",
                frame.loc[(frame[column] <= 0).to_numpy()],
                column,
                "kept; returns use (p_t - p_t-1)/|p_t-1| floored at -100% "
                "(mm_drex.data.prices.simple_returns)",
            )

    high, low = frame["high"].to_numpy(), frame["low"].to_numpy()
    body_top = np.maximum(frame["open"], frame["close"]).to_numpy()
    body_bottom = np.minimum(frame["open"], frame["close"]).to_numpy()
    inconsistent = (high < body_top) | (low > body_bottom) | (high < low)
    if inconsistent.any():
        action = check.action("high_low_inconsistent")
        if action == "error":
            check.fail(
                "high below max(open, close) or low above min(open, close)",
                _describe_rows(frame, inconsistent, list(PRICE_COLUMNS)),
                "high_low_inconsistent",
            )
        check.record(
            "high_low_inconsistent",
            "clip",
            frame.loc[inconsistent],
            "high",
            "high set to max(open, high, low, close), low to the min",
        )
        frame = frame.copy()
        stacked = frame[list(PRICE_COLUMNS)].to_numpy()
        frame["high"] = stacked.max(axis=1)
        frame["low"] = stacked.min(axis=1)

    negative_volume = (frame["volume"] < 0).to_numpy()
    if negative_volume.any():
        action = check.action("negative_volume")
        if action == "error":
            check.fail(
                "negative volume",
                _describe_rows(frame, negative_volume, ["volume"]),
                "negative_volume",
            )
        check.record(
            "negative_volume", "set_nan", frame.loc[negative_volume], "volume", ""
        )
        frame = frame.copy()
        frame.loc[negative_volume, "volume"] = np.nan
    return frame


def _check_gaps(frame: pd.DataFrame, check: BarCheck) -> None:
    spacing = frame["timestamp"].diff()
    typical = spacing.median()
    if pd.isna(typical) or typical <= pd.Timedelta(0):
        return
    long_gap = (spacing > typical * check.max_gap_factor).to_numpy()
    if not long_gap.any():
        return
    action = check.action("gap")
    if action == "error":
        check.fail(
            f"gap longer than {check.max_gap_factor:g} x the typical bar spacing "
            f"({typical})",
            _describe_rows(frame, long_gap, ["timestamp"]),
            "gap",
        )
    gaps = frame.loc[long_gap].copy()
    gaps["timestamp_gap"] = spacing[long_gap].astype(str).to_numpy()
    for _, row in gaps.iterrows():
        check.log.append(
            {
                "instrument": check.instrument,
                "source": check.source,
                "rule": "gap",
                "action": "keep",
                "timestamp": row["timestamp"],
                "column": "timestamp",
                "value": row["timestamp_gap"],
                "detail": "no bars in the gap before this one; nothing filled in",
            }
        )


def validate_bars(raw: pd.DataFrame, check: BarCheck) -> pd.DataFrame:
    """Validate and clean one instrument's raw bars.

    Args:
        raw: the frame as read from a package or a user's file, with any of the
            accepted column spellings and a timestamp column or index.
        check: instrument, source and rule settings; repairs are appended to
            ``check.log``.

    Returns:
        ``timestamp open high low close volume`` sorted by time, timestamps
        tz-naive UTC, volume NaN where the source has none.

    Raises:
        DataValidationError: the first rule set to ``error`` that the data breaks.
    """
    frame = _standard_columns(raw, check)
    frame = _parse_timestamps(frame, check)
    frame = _parse_numbers(frame, check)
    if check.price_adjustment == "adj_close":
        if "adj_close" not in frame.columns:
            check.fail(
                "price_adjustment is adj_close but there is no", "'adj_close' column"
            )
        frame = adjust_to_adjusted_close(frame)
    elif check.price_adjustment not in (None, "none"):
        check.fail(
            "unknown price_adjustment",
            f"{check.price_adjustment!r} (allowed: none, adj_close)",
        )
    frame = frame.drop(columns=["adj_close"], errors="ignore")
    frame = _check_order(frame, check)
    frame = _check_values(frame, check)
    _check_gaps(frame, check)
    if len(frame) < check.min_bars:
        check.fail(
            "too short a history",
            f"{len(frame)} bars from {_stamp(frame['timestamp'].iloc[0]) if len(frame) else '-'}"
            f" to {_stamp(frame['timestamp'].iloc[-1]) if len(frame) else '-'}; at least "
            f"{check.min_bars} are needed (one chart window plus the label horizon, "
            "ingestion.validation.min_bars)",
        )
    return frame.reset_index(drop=True)
