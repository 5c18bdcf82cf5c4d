"""Bad inputs stop ingestion with a message naming file, instrument, row, column, value;
repairs, where configured, are carried out and logged."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mm_drex.data.files import list_market_files
from mm_drex.data.sources import BUNDLED_SOURCES
from mm_drex.data.universe import ingest_universe
from mm_drex.data.validation import DataValidationError

N_BARS = 250


@pytest.fixture(scope="module")
def good_bars() -> pd.DataFrame:
    """250 real S&P 500 bars with a Date column, as a user CSV would have them."""
    frame = BUNDLED_SOURCES["arch/sp500"]().iloc[:N_BARS].reset_index()
    frame["Date"] = frame["Date"].dt.strftime("%Y-%m-%d")
    return frame.drop(columns=["Adj Close"])


def ingest_csv(
    folder: Path,
    frame: pd.DataFrame | None,
    rules: dict | None = None,
    text: str | None = None,
    universe: dict | None = None,
    instruments: list | None = None,
):
    path = folder / "spx.csv"
    if text is not None:
        path.write_text(text)
    elif frame is not None:
        frame.to_csv(path, index=False)
    params = {
        "asset_classes": {
            "index": {"periods_per_year": 252, "cost_bps": 10, "allow_short": True}
        },
        "universe": universe
        or {"SPX": {"asset_class": "index", "source": "user/spx.csv"}},
        "instruments": instruments,
        "user_data_folder": str(folder),
        "validation": {"min_bars": 190, "max_gap_factor": 5, "rules": rules or {}},
    }
    return ingest_universe(params, BUNDLED_SOURCES, list_market_files(folder))


def with_change(
    frame: pd.DataFrame, change: Callable[[pd.DataFrame], None]
) -> pd.DataFrame:
    frame = frame.copy()
    change(frame)
    return frame


def error_of(tmp_path: Path, frame: pd.DataFrame | None, **kwargs) -> str:
    with pytest.raises(DataValidationError) as caught:
        ingest_csv(tmp_path, frame, **kwargs)
    return str(caught.value)


def set_cell(row: int, column: str, value: object) -> Callable[[pd.DataFrame], None]:
    def change(frame: pd.DataFrame) -> None:
        if isinstance(value, str):
            frame[column] = frame[column].astype(object)
        frame.loc[row, column] = value

    return change


def test_missing_column_is_named(tmp_path, good_bars):
    message = error_of(tmp_path, good_bars.drop(columns=["Low"]))
    assert "spx.csv" in message and "instrument SPX" in message
    assert "missing column 'low'" in message and "'High'" in message


def test_text_in_a_price_names_row_column_and_value(tmp_path, good_bars):
    message = error_of(
        tmp_path, with_change(good_bars, set_cell(10, "Close", "12O4.5"))
    )
    assert "spx.csv" in message and "instrument SPX" in message
    assert "text in numeric column 'close'" in message
    assert "row 1999-01-19" in message and "'12O4.5'" in message


def test_nan_price_is_an_error_by_default(tmp_path, good_bars):
    message = error_of(tmp_path, with_change(good_bars, set_cell(5, "Open", np.nan)))
    assert "NaN or infinite value" in message
    assert "row 1999-01-11" in message and "column 'open': value nan" in message
    assert "non_finite" in message and "drop_row" in message


def test_infinite_price_is_an_error(tmp_path, good_bars):
    message = error_of(tmp_path, with_change(good_bars, set_cell(7, "High", np.inf)))
    assert "row 1999-01-13" in message and "column 'high': value inf" in message


def test_high_below_low_is_an_error(tmp_path, good_bars):
    def swap(frame: pd.DataFrame) -> None:
        frame.loc[20, ["High", "Low"]] = frame.loc[20, ["Low", "High"]].to_numpy()

    message = error_of(tmp_path, with_change(good_bars, swap))
    assert "high below max(open, close)" in message
    assert "row 1999-02-02" in message and "column 'high'" in message


def test_duplicate_timestamp_is_an_error(tmp_path, good_bars):
    message = error_of(
        tmp_path, with_change(good_bars, set_cell(31, "Date", "1999-02-17"))
    )
    assert "duplicate timestamp" in message and "row 1999-02-17" in message


def test_unsorted_timestamps_are_an_error(tmp_path, good_bars):
    frame = pd.concat([good_bars.iloc[:50], good_bars.iloc[60:], good_bars.iloc[50:60]])
    message = error_of(tmp_path, frame)
    assert "not in increasing order" in message and "row 1999-03-17" in message


def test_all_zero_bar_is_an_error_when_so_configured(tmp_path, good_bars):
    def zero(frame: pd.DataFrame) -> None:
        frame.loc[40, ["Open", "High", "Low", "Close"]] = 0.0

    message = error_of(
        tmp_path, with_change(good_bars, zero), rules={"all_zero_bar": "error"}
    )
    assert "all-zero bar" in message and "row 1999-03-03" in message


def test_negative_volume_is_an_error(tmp_path, good_bars):
    message = error_of(tmp_path, with_change(good_bars, set_cell(3, "Volume", -5)))
    assert "negative volume" in message
    assert "row 1999-01-07" in message and "column 'volume': value -5.0" in message


def test_empty_file_is_an_error(tmp_path):
    message = error_of(tmp_path, None, text="")
    assert "spx.csv" in message and "is empty" in message


def test_header_only_file_is_an_error(tmp_path):
    message = error_of(tmp_path, None, text="Date,Open,High,Low,Close,Volume\n")
    assert "header but no rows" in message


def test_too_short_history_is_an_error(tmp_path, good_bars):
    message = error_of(tmp_path, good_bars.iloc[:120])
    assert "too short a history" in message
    assert "120 bars from 1999-01-04" in message and "at least 190" in message


def test_unknown_instrument_in_parameters_is_an_error(tmp_path, good_bars):
    message = error_of(tmp_path, good_bars, instruments=["SPX", "TSLA"])
    assert "unknown instrument(s) ['TSLA']" in message and "SPX" in message


def test_unknown_bundled_source_is_an_error(tmp_path, good_bars):
    message = error_of(
        tmp_path,
        good_bars,
        universe={"GOLD": {"asset_class": "index", "source": "arch/gold"}},
    )
    assert "GOLD" in message and "unknown source 'arch/gold'" in message


def test_missing_user_file_is_an_error(tmp_path, good_bars):
    message = error_of(
        tmp_path,
        good_bars,
        universe={"NDX": {"asset_class": "index", "source": "user/ndx.csv"}},
    )
    assert "'ndx.csv'" in message and str(tmp_path) in message and "spx.csv" in message


def test_unparseable_timestamp_is_an_error(tmp_path, good_bars):
    message = error_of(
        tmp_path, with_change(good_bars, set_cell(12, "Date", "13/45/1999"))
    )
    assert "unparseable timestamp" in message and "'13/45/1999'" in message


def test_zero_price_is_an_error_unless_kept(tmp_path, good_bars):
    frame = with_change(good_bars, set_cell(15, "Low", 0.0))
    message = error_of(tmp_path, frame)
    assert "zero or negative price" in message and "column 'low': value 0.0" in message
    _, _, quality = ingest_csv(tmp_path, frame, rules={"non_positive_price": "keep"})
    assert quality["rule"].tolist() == ["non_positive_price"]


def test_unknown_rule_action_is_an_error(tmp_path, good_bars):
    message = error_of(
        tmp_path,
        with_change(good_bars, set_cell(3, "Volume", -5)),
        rules={"negative_volume": "ignore"},
    )
    assert "'negative_volume' is set to 'ignore'" in message and "set_nan" in message


@pytest.mark.parametrize(
    ("rule", "action", "change", "expected_rows"),
    [
        ("non_finite", "drop_row", set_cell(5, "Open", np.nan), N_BARS - 1),
        ("negative_volume", "set_nan", set_cell(3, "Volume", -5), N_BARS),
        (
            "duplicate_timestamp",
            "keep_last",
            set_cell(31, "Date", "1999-02-17"),
            N_BARS - 1,
        ),
        ("high_low_inconsistent", "clip", set_cell(9, "High", 1.0), N_BARS),
    ],
)
def test_configured_repair_is_applied_and_logged(
    tmp_path, good_bars, rule, action, change, expected_rows
):
    ohlcv, _, quality = ingest_csv(
        tmp_path, with_change(good_bars, change), rules={rule: action}
    )
    assert len(ohlcv) == expected_rows
    assert quality[["rule", "action"]].drop_duplicates().values.tolist() == [
        [rule, action]
    ]
    assert (ohlcv["high"] >= ohlcv[["open", "close"]].max(axis=1)).all()


def test_unsorted_bars_are_sorted_when_so_configured(tmp_path, good_bars):
    frame = pd.concat([good_bars.iloc[:50], good_bars.iloc[60:], good_bars.iloc[50:60]])
    ohlcv, _, quality = ingest_csv(tmp_path, frame, rules={"unsorted": "sort"})
    assert ohlcv["timestamp"].is_monotonic_increasing and len(ohlcv) == N_BARS
    assert set(quality["rule"]) == {"unsorted"}
