"""The routing diagnostics: oracle paths, captured share and the test of the
weights by predicted regime, on the panel of real SP500 and BTC bars."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from mm_drex.experts.templates import EXPERTS
from mm_drex.regimes.labels import REGIMES
from mm_drex.rl.settings import DiagnosticsSettings
from mm_drex.strategy.mixing import equal_market_score, segment_sharpes
from mm_drex.strategy.mmdrex import routing_table
from mm_drex.strategy.oracle import (
    CANDIDATES,
    close_to_close,
    explained_share,
    fixed_weights_per_regime,
    hindsight_expert,
    regime_codes,
    router_mapping_weights,
    routing_returns,
    summary,
    true_pool_exposures,
    weights_by_predicted_regime,
)
from tests.market_panel import LIMITS

SETTINGS = DiagnosticsSettings(grid_step=0.25, permutations=50)


@pytest.fixture(scope="module")
def routing(rl_panel, paths) -> pd.DataFrame:
    return routing_table(rl_panel, paths[0])


def test_router_mapping_is_the_router_when_it_already_saw_the_truth(rl_arrays):
    predicted = rl_arrays.regime_probs.argmax(axis=1)
    matrix = np.random.default_rng(0).normal(size=(len(EXPERTS), len(REGIMES)))
    confident = dataclasses.replace(
        rl_arrays, regime_probs=np.eye(len(REGIMES))[predicted]
    )
    mapped = router_mapping_weights(confident, predicted, matrix)
    np.testing.assert_allclose(mapped, confident.sft_weights, atol=1e-12)
    # another regime moves the logits by B (onehot - p)
    other = (predicted + 1) % len(REGIMES)
    moved = router_mapping_weights(confident, other, matrix)
    logits = np.log(moved) - np.log(confident.sft_weights)
    expected = (np.eye(3)[other] - np.eye(3)[predicted]) @ matrix.T
    np.testing.assert_allclose(
        logits - logits.mean(1, keepdims=True),
        expected - expected.mean(1, keepdims=True),
        atol=1e-9,
    )


def test_true_pools_and_hindsight_expert_read_what_they_say(rl_arrays, rl_panel):
    truth = regime_codes(rl_panel["regime"])
    pooled = true_pool_exposures(rl_arrays, truth)
    row = int(np.flatnonzero(truth == 2)[0])
    np.testing.assert_array_equal(pooled[row], rl_arrays.pool_exposures[row, :, 2])
    # an expert that knows the next bar's sign is the hindsight-best at horizon 1
    asset = close_to_close(rl_arrays)
    seer = np.zeros(len(rl_arrays))
    seer[:-1] = np.sign(asset[1:])
    exposures = rl_arrays.exposures.copy()
    exposures[:, 1] = seer
    panel = dataclasses.replace(rl_arrays, exposures=exposures)
    best = hindsight_expert(panel, horizon=1)
    moving = rl_arrays.has_next & (
        np.abs(asset[np.minimum(np.arange(len(asset)) + 1, len(asset) - 1)]) > 0
    )
    assert (best[moving] == 1).mean() > 0.99


def test_every_oracle_beats_uniform_weights_on_the_fit_segment(
    rl_arrays, rl_panel, routing
):
    returns, choices = routing_returns(
        rl_panel, rl_arrays, routing, np.zeros((4, 3)), LIMITS, SETTINGS
    )
    assert set(returns["candidate"]) == set(CANDIDATES)
    assert set(returns["segment"]) == {"val", "test"}
    assert returns["net_return"].notna().all()
    periods = dict.fromkeys(rl_panel["instrument"].unique(), 252.0)
    table = summary(returns, periods)
    val = table[table["segment"] == "val"].set_index("candidate")["sharpe"]
    # chosen on val with the truth: at least as good as uniform weights there
    assert val["oracle_fixed_weights"] >= val["uniform"] - 1e-9
    assert val["oracle_hindsight_expert"] > val["uniform"]
    assert list(choices["regime"]) == list(REGIMES)
    # captured share: (learner - uniform) / (oracle - uniform)
    row = table[(table["segment"] == "val") & (table["candidate"] == "mm_drex")]
    headroom = val["oracle_hindsight_expert"] - val["uniform"]
    assert row["captured_mm_drex_oracle_hindsight_expert"].iat[0] == pytest.approx(
        (val["mm_drex"] - val["uniform"]) / headroom
    )


def test_fixed_weights_per_regime_never_read_the_test_segment(rl_arrays, rl_panel):
    truth = regime_codes(rl_panel["regime"])
    test = rl_arrays.segment == "test"
    scrambled = dataclasses.replace(
        rl_arrays,
        exposures=np.where(test[:, None], -rl_arrays.exposures, rl_arrays.exposures),
    )
    first, choices = fixed_weights_per_regime(rl_arrays, truth, "val", LIMITS, 0.25)
    again, _ = fixed_weights_per_regime(scrambled, truth, "val", LIMITS, 0.25)
    np.testing.assert_array_equal(first, again)
    # and the score is the engine's: re-executing the chosen mix gives it
    weights = np.where((truth >= 0)[:, None], first[np.maximum(truth, 0)], 0.25)
    targets = (weights * rl_arrays.exposures).sum(1)[:, None]
    score = equal_market_score(segment_sharpes(rl_arrays, targets, "val", LIMITS))
    assert score.iat[0] == pytest.approx(choices["score"].iat[-1], abs=1e-12)


def test_weights_that_follow_the_predicted_regime_are_detected(rl_panel, routing):
    mine = routing[routing["strategy"] == "mm_drex"].copy()
    probs = mine.merge(rl_panel, on=["instrument", "timestamp"], how="left")
    predicted = probs[[f"p_{r}" for r in REGIMES]].to_numpy().argmax(1)
    rng = np.random.default_rng(1)
    noise = rng.dirichlet(np.ones(4), size=len(mine))
    follow = 0.5 * noise + 0.5 * np.eye(4)[predicted]
    mine[[f"w_{e}" for e in EXPERTS]] = follow
    table = weights_by_predicted_regime(rl_panel, mine, "test", 100, 0)
    assert table["p_value"].iat[0] < 0.05
    assert table["r2"].iat[0] > 0.1
    mine[[f"w_{e}" for e in EXPERTS]] = noise
    table = weights_by_predicted_regime(rl_panel, mine, "test", 100, 0)
    assert table["p_value"].iat[0] > 0.05
    shares = table.set_index("predicted_regime")["n_decisions"]
    assert shares.sum() == ((mine["segment"] == "test").sum())


def test_explained_share_is_zero_for_equal_group_means_and_one_for_pure_groups():
    groups = np.array([0, 0, 1, 1])
    assert explained_share(np.array([[1.0], [0.0], [1.0], [0.0]]), groups) == 0.0
    assert explained_share(np.array([[1.0], [1.0], [0.0], [0.0]]), groups) == 1.0
