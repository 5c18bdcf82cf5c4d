"""Baselines: the interface, causality, and selection on the validation segment."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mm_drex.backtest import ExposureLimits
from mm_drex.baselines import BASELINES, Baseline, InstrumentContext, run_baselines
from mm_drex.baselines.sma_crossover import (
    SmaCrossover,
    crossover_exposures,
    parameter_grid,
    rolling_mean,
)
from mm_drex.data.sources import BUNDLED_SOURCES
from mm_drex.data.split import assign_segments, chronological_split
from mm_drex.data.validation import BarCheck, validate_bars


@pytest.fixture(scope="module")
def nasdaq() -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame, pd.DataFrame]:
    bars = validate_bars(
        BUNDLED_SOURCES["arch/nasdaq"](),
        BarCheck(instrument="NASDAQ", source="arch/nasdaq", rules={}, min_bars=1),
    )
    bars.insert(0, "instrument", "NASDAQ")
    split = chronological_split(bars, {"train": 0.6, "val": 0.2, "test": 0.2}, 90)
    instruments = pd.DataFrame(
        {
            "instrument": ["NASDAQ"],
            "asset_class": ["index"],
            "periods_per_year": [252],
            "cost_bps": [10.0],
            "allow_short": [False],
        }
    )
    return bars, assign_segments(bars, split).to_numpy(), split, instruments


CONTEXT = InstrumentContext("NASDAQ", "index", 252, 10.0, allow_short=True)


def test_every_registered_baseline_implements_the_interface():
    assert {"buy_hold", "sma_crossover"} <= set(BASELINES)
    for name, baseline_class in BASELINES.items():
        assert issubclass(baseline_class, Baseline)
        assert baseline_class.name == name


def test_rolling_mean_at_t_uses_the_last_window_bars_only():
    values = np.arange(1.0, 11.0)
    means = rolling_mean(values, [1, 3, 10, 11])
    np.testing.assert_array_equal(means[:, 0], values)
    np.testing.assert_allclose(
        means[2:, 1], (values[2:] + values[1:-1] + values[:-2]) / 3
    )
    assert np.isnan(means[:2, 1]).all() and means[9, 2] == 5.5
    assert np.isnan(means[:, 3]).all()


def test_crossover_exposure_at_t_ignores_bars_after_t(nasdaq):
    bars = nasdaq[0]
    close = bars["close"].to_numpy()
    full = crossover_exposures(close, [10, 20], [50, 200], mode="long_short")
    for cut in (250, 1000, 3000):
        truncated = crossover_exposures(close[:cut], [10, 20], [50, 200], "long_short")
        np.testing.assert_array_equal(truncated, full[:cut])
    assert set(np.unique(full)) == {-1.0, 0.0, 1.0}
    assert (full[:199, 1] == 0).all()  # flat until the slow average exists


def test_sma_crossover_picks_the_pair_with_the_best_validation_sharpe(nasdaq):
    bars, segment, _, _ = nasdaq
    params = {"fast": [5, 20], "slow": [50, 200], "mode": "long_flat"}
    fitted = SmaCrossover(params).fit(bars, segment, CONTEXT)
    grid = parameter_grid(params["fast"], params["slow"])
    scores = []
    for fast, slow in grid:
        one = SmaCrossover({**params, "fast": [fast], "slow": [slow]}).fit(
            bars, segment, CONTEXT
        )
        scores.append(one.selection_score())
    best = grid[int(np.argmax(scores))]
    assert (fitted.fast_, fitted.slow_) == tuple(best)
    assert fitted.selection_score() == pytest.approx(max(scores))
    assert len(set(np.round(scores, 6))) == len(scores)  # the grid discriminates


def test_selection_does_not_look_at_the_test_segment(nasdaq):
    bars, segment, _, _ = nasdaq
    params = {"fast": [5, 10, 20], "slow": [50, 100, 200]}
    fitted = SmaCrossover(params).fit(bars, segment, CONTEXT)
    scrambled = bars.copy()
    test_rows = segment == "test"
    rng = np.random.default_rng(0)
    scrambled.loc[test_rows, ["open", "close"]] *= rng.uniform(
        0.5, 1.5, test_rows.sum()
    )[:, None]
    refitted = SmaCrossover(params).fit(scrambled, segment, CONTEXT)
    assert (refitted.fast_, refitted.slow_) == (fitted.fast_, fitted.slow_)


def test_long_short_crossover_stays_long_flat_where_shorts_are_not_allowed(nasdaq):
    bars, segment, _, _ = nasdaq
    no_shorts = InstrumentContext("NASDAQ", "index", 252, 10.0, allow_short=False)
    params = {"fast": [10], "slow": [50], "mode": "long_short"}
    fitted = SmaCrossover(params).fit(bars, segment, no_shorts)
    assert fitted.target_exposure(bars).min() == 0.0
    assert fitted.selected_params()["mode"] == "long_flat"


def test_run_baselines_emits_full_history_exposures_and_the_choices(nasdaq):
    bars, _, split, instruments = nasdaq
    exposures, selection, fit_log = run_baselines(
        bars,
        instruments,
        split,
        {"buy_hold": {}, "sma_crossover": {"fast": [10], "slow": [50, 100]}},
        seeds=[42, 43],
        limits=ExposureLimits(),
    )
    # Both are deterministic: one seed each, every bar of the history.
    assert len(exposures) == 2 * len(bars)
    assert set(exposures["seed"]) == {42}
    assert (
        exposures[exposures["strategy"] == "buy_hold"]["target_exposure"] == 1
    ).all()
    chosen = json.loads(
        selection.set_index("strategy").loc["sma_crossover", "parameters"]
    )
    assert chosen["fast"] == 10 and chosen["slow"] in (50, 100)
    assert list(fit_log["strategy"]) == ["buy_hold", "sma_crossover"]
    assert (fit_log["n_instruments"] == 1).all()
    with pytest.raises(ValueError, match="unknown baseline.*momentum"):
        run_baselines(bars, instruments, split, {"momentum": {}}, seeds=[42])


def test_val_selection_skips_a_candidate_below_the_activity_floor(nasdaq):
    from dataclasses import replace

    from mm_drex.baselines.rules import best_on_segment

    bars, segment, _, _ = nasdaq
    val = np.flatnonzero(segment == "val")
    # candidate 0: long only before the 12 best val days (a val-fitted, nearly
    # flat rule: a very high val Sharpe); candidate 1: always long
    nearly_flat = np.zeros(len(bars))
    next_open_return = bars["open"].shift(-2).to_numpy() / bars["open"].shift(-1)
    best_days = val[np.argsort(-np.nan_to_num(next_open_return.to_numpy()[val]))[:12]]
    nearly_flat[best_days] = 1.0
    candidates = np.column_stack([nearly_flat, np.ones(len(bars))])

    chosen, scores = best_on_segment(candidates, bars, segment, CONTEXT)
    assert chosen == 0 and scores[0] > scores[1]  # no floor: the flat one wins

    floored = replace(CONTEXT, min_activity=0.05)
    chosen, scores_again = best_on_segment(candidates, bars, segment, floored)
    assert chosen == 1
    np.testing.assert_array_equal(scores, scores_again)

    # when no candidate is active enough, the best one is still chosen
    chosen, _ = best_on_segment(candidates[:, :1], bars, segment, floored)
    assert chosen == 0


def test_the_selection_table_records_each_baselines_val_activity(nasdaq):
    bars, segment, split, instruments = nasdaq
    strategies = {
        "rsi_reversal": {
            "window": [2, 7, 21],
            "lower": [20.0, 30.0],
            "upper": [70.0, 80.0],
            "exit_level": [50.0],
            "modes": ["long_flat"],
        }
    }
    _, free, _ = run_baselines(bars, instruments, split, strategies, [42])
    free_activity = free["selection_activity"].iloc[0]
    val = np.flatnonzero(segment == "val")
    assert 0 < free_activity < 0.2 and len(val) > 900
    # a floor above the unconstrained winner's activity moves the choice to a
    # more active grid point
    floor = free_activity + 0.01
    _, floored, _ = run_baselines(
        bars, instruments, split, strategies, [42], min_activity=floor
    )
    assert floored["selection_activity"].iloc[0] >= floor
    assert floored["parameters"].iloc[0] != free["parameters"].iloc[0]
    assert floored["selection_score"].iloc[0] <= free["selection_score"].iloc[0]
