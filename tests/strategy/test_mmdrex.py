"""The MM-DREX strategy and its ablations as exposure paths."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mm_drex.backtest.sleeves import EXPOSURE_COLUMNS
from mm_drex.strategy.mixing import (
    best_single_expert,
    learned_static_weights,
    simplex_grid,
)
from mm_drex.strategy.mmdrex import (
    ABLATIONS,
    exposure_table,
    fixed_path,
    routing_table,
)
from tests.market_panel import LIMITS, STRATEGY_PARAMS


def test_simplex_grid_covers_the_simplex():
    grid = simplex_grid(0.25)
    assert grid.shape == (35, 4)  # C(4 + 3, 3)
    np.testing.assert_allclose(grid.sum(axis=1), 1.0)
    assert len(np.unique(grid, axis=0)) == len(grid)
    with pytest.raises(ValueError, match="divide 1"):
        simplex_grid(0.3)


def test_learned_ablations_never_read_the_test_segment(rl_arrays):
    test = rl_arrays.segment == "test"
    scrambled = dataclasses.replace(
        rl_arrays,
        exposures=np.where(test[:, None], -rl_arrays.exposures, rl_arrays.exposures),
        close_price=np.where(test, rl_arrays.close_price * 1.5, rl_arrays.close_price),
    )
    for arrays_a, arrays_b in ((rl_arrays, scrambled),):
        weights_a, _ = learned_static_weights(arrays_a, LIMITS, "train", 0.25)
        weights_b, _ = learned_static_weights(arrays_b, LIMITS, "train", 0.25)
        np.testing.assert_array_equal(weights_a, weights_b)
        choice_a, scores_a = best_single_expert(arrays_a, LIMITS, "val", "market")
        choice_b, _ = best_single_expert(arrays_b, LIMITS, "val", "market")
        assert choice_a == choice_b
    best = scores_a.loc[scores_a.groupby("market")["score"].idxmax()]
    assert dict(zip(best["market"], best["expert"], strict=True)) == choice_a


def test_fixed_weights_mix_the_experts_default_exposures(rl_arrays):
    path = fixed_path(rl_arrays, np.array([0.1, 0.2, 0.3, 0.4]), ["test"], "x", 42)
    expected = rl_arrays.exposures[path.rows] @ np.array([0.1, 0.2, 0.3, 0.4])
    np.testing.assert_allclose(path.mixed_exposure, expected)
    assert (rl_arrays.segment[path.rows] == "test").all()


def test_every_strategy_has_a_decision_on_every_bar_of_its_segments(
    rl_arrays, rl_panel, paths
):
    strategy_list, choices = paths
    table = exposure_table(rl_panel, strategy_list)
    assert list(table.columns) == EXPOSURE_COLUMNS
    expected = {"mm_drex", *[ABLATIONS[a] for a in STRATEGY_PARAMS["ablations"]]}
    assert set(table["strategy"]) == expected
    n_rows = int(np.isin(rl_arrays.segment, ["val", "test"]).sum())
    sizes = table.groupby(["strategy", "seed"]).size()
    assert (sizes == n_rows).all()
    assert set(table.loc[table["strategy"] == "mm_drex", "seed"]) == {42, 43}
    assert not table.duplicated(["strategy", "seed", "instrument", "timestamp"]).any()
    assert set(choices["strategy"]) == {
        "mm_drex_static_weights",
        "mm_drex_best_single_expert",
    }
    no_positioning = routing_table(rl_panel, strategy_list)
    assert (
        no_positioning.loc[
            no_positioning["strategy"] == "mm_drex_no_positioning", "w_positioning"
        ]
        == 0
    ).all()
