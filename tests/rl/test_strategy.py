"""The MM-DREX ablations, the exposure table and the decision log."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from mm_drex.backtest import run_backtest
from mm_drex.backtest.sleeves import EXPOSURE_COLUMNS
from mm_drex.experts.pools import member_weights
from mm_drex.experts.templates import EXPERTS
from mm_drex.rl.panel import PanelInputError, build_panel, pool_priors
from mm_drex.strategy.decision_log import DECISION_LOG_COLUMNS, decision_log
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
    strategy_paths,
)
from tests.rl.conftest import LIMITS, MARKETS, make_panel
from tests.rl.test_ppo import _train

STRATEGY_PARAMS = {
    "segments": ["val", "test"],
    "ablations": [
        "uniform_weights",
        "static_weights",
        "best_single_expert",
        "sft_only",
        "no_positioning",
    ],
    "static_weights": {"segment": "train", "grid_step": 0.25},
    "best_single_expert": {"segment": "val", "scope": "market"},
}


@pytest.fixture(scope="module")
def policies(rl_arrays):
    return _train(rl_arrays)[1]


@pytest.fixture(scope="module")
def paths(rl_arrays, policies):
    return strategy_paths(rl_arrays, policies, LIMITS, STRATEGY_PARAMS)


def test_panel_expert_exposure_is_its_pools_mixed_by_the_prior(rl_panel):
    for expert in EXPERTS:
        rebuilt = sum(
            rl_panel[f"prior_{expert}_{r}"] * rl_panel[f"h_{expert}_{r}"]
            for r in ("downtrend", "sideways", "uptrend")
        )
        np.testing.assert_allclose(rebuilt, rl_panel[f"h_{expert}"], atol=1e-15)
    assert (
        rl_panel.groupby("instrument")["t"].min().eq(99).all()
    )  # the first charted bar


def test_panel_names_the_missing_router_row(rl_inputs):
    broken = dataclasses.replace(
        rl_inputs, router_states=rl_inputs.router_states.iloc[5:]
    )
    with pytest.raises(
        PanelInputError,
        match="router_states: no row for decision point instrument SP500",
    ):
        make_panel(broken)


def test_pool_priors_are_the_regime_shares_of_the_audit_score_mix():
    members = [
        {"member_id": f"m{i}", "template": "x", "params": {}, "score": s}
        for i, s in enumerate((0.9, 0.4, 0.7))
    ]
    catalog = {
        "regimes": ["downtrend", "sideways", "uptrend"],
        "scopes": {
            r: {"stocks": "stocks"} for r in ("downtrend", "sideways", "uptrend")
        },
        "pools": [
            {"expert": e, "regime": r, "scope": "stocks", "members": [members[i]]}
            for e in EXPERTS
            for i, r in enumerate(("downtrend", "sideways", "uptrend"))
        ],
    }
    instruments = pd.DataFrame({"instrument": ["SP500"], "asset_class": ["index"]})
    priors = pool_priors(catalog, instruments, {"stocks": ["index"]}, "market", 0.2)
    expected = member_weights(np.array([0.9, 0.4, 0.7]), 0.2)
    got = priors[
        ["prior_trend_downtrend", "prior_trend_sideways", "prior_trend_uptrend"]
    ].to_numpy()[0]
    np.testing.assert_allclose(got, expected)


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


def test_decision_log_has_one_row_per_test_decision_with_the_execution(
    rl_inputs, rl_panel, paths
):
    strategy_list, _ = paths
    exposures = exposure_table(rl_panel, strategy_list)
    routing = routing_table(rl_panel, strategy_list)
    positions = run_backtest(
        exposures,
        rl_inputs.ohlcv,
        rl_inputs.instruments,
        rl_inputs.split,
        "test",
        LIMITS,
    )
    log = decision_log(rl_panel, routing, positions, "mm_drex", 42)
    test_rows = rl_panel[rl_panel["segment"] == "test"]
    assert list(log.columns) == DECISION_LOG_COLUMNS
    assert len(log) == len(test_rows)
    assert not log.duplicated(["instrument", "t"]).any()
    assert set(zip(log["instrument"], log["timestamp"], strict=True)) == set(
        zip(test_rows["instrument"], test_rows["timestamp"], strict=True)
    )
    executed = log["execution_timestamp"].notna()
    assert (~executed).sum() == 2  # the last test bar of each instrument
    known = log[executed]
    np.testing.assert_allclose(known["executed_exposure"], known["projected_exposure"])
    np.testing.assert_allclose(known["order"].abs(), known["turnover"], atol=1e-12)
    np.testing.assert_allclose(
        known["projected_exposure"],
        known["mixed_exposure"]
        + known["delta_bounds"]
        + known["delta_leverage"]
        + known["delta_turnover"],
        atol=1e-12,
    )
    np.testing.assert_allclose(log[[f"w_{e}" for e in EXPERTS]].sum(axis=1), 1.0)
    assert log["chart_sha256"].str.len().eq(64).all()
    # the net return of the decision at t is the engine's return of bar t+1
    sleeve = positions[(positions["strategy"] == "mm_drex") & (positions["seed"] == 42)]
    by_bar = sleeve.set_index(["instrument", "timestamp"])["net_return"]
    looked_up = by_bar.reindex(
        list(zip(known["instrument"], known["execution_timestamp"], strict=True))
    ).to_numpy()
    np.testing.assert_array_equal(known["net_return"].to_numpy(), looked_up)


def test_build_panel_keeps_other_routers_weights_where_they_exist(rl_inputs):
    other = rl_inputs.router_weights.iloc[200:].copy()
    panel = build_panel(
        rl_inputs.router_weights,
        rl_inputs.router_states,
        rl_inputs.expert_exposures,
        rl_inputs.ohlcv,
        rl_inputs.instruments,
        rl_inputs.split,
        rl_inputs.chart_index,
        rl_inputs.regimes,
        rl_inputs.priors,
        MARKETS,
        extra_weights={"no_chart": other},
    )
    assert panel["w_no_chart_trend"].notna().sum() == len(other)


def test_the_router_stages_exported_no_chart_weights_are_used_as_they_are(rl_inputs):
    from mm_drex.rl.no_chart import exported_weights

    weights = rl_inputs.router_weights.assign(segment="test")
    assert (
        exported_weights(
            weights.assign(model="no_chart", regime_pred=0).drop(columns="w_trend")
        )
        is None
    )
    table = pd.concat(
        [weights.assign(model="no_text"), weights.assign(model="no_chart")]
    )
    exported = exported_weights(table.assign(regime_pred=0))
    assert len(exported) == len(weights)
    np.testing.assert_array_equal(exported["w_trend"], weights["w_trend"])
