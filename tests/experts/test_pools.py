"""Pools -> expert exposures (no label at t), and the router's soft targets."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from mm_drex.experts.evaluation import net_returns
from mm_drex.experts.history import InstrumentHistory
from mm_drex.experts.pools import combine_members, expert_exposure_table, member_weights
from mm_drex.experts.soft_targets import expert_soft_targets, forward_utility
from tests.experts.conftest import histories_of

TEMPERATURE = 0.2


def test_mix_is_score_weighted_and_the_driver_pushes_the_mix():
    exposures = np.array(
        [
            [1.0, -1.0, 0.0],
            [0.2, 1.0, 0.0],
            [0.0, 0.0, 0.0],
            [-1.0, 1.0, 0.5],
        ]
    )
    weights = np.array([0.5, 0.3, 0.2])
    combined, driver = combine_members(exposures, weights)
    np.testing.assert_allclose(combined, [0.2, 0.4, 0.0, -0.1])
    np.testing.assert_array_equal(driver, [0, 1, 0, 0])


def test_member_weights_are_a_softmax_of_audit_scores():
    weights = member_weights(np.array([0.8, 0.6, 0.6]), temperature=0.2)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[0] / weights[1] == pytest.approx(np.exp(1.0))
    with pytest.raises(ValueError, match="temperature"):
        member_weights(np.array([1.0]), temperature=0.0)


@pytest.fixture(scope="module")
def histories(market_data) -> list[InstrumentHistory]:
    return histories_of(market_data)


@pytest.fixture(scope="module")
def exposures(histories, small_pools) -> pd.DataFrame:
    return expert_exposure_table(histories, small_pools, TEMPERATURE)


def test_one_exposure_per_instrument_bar_and_expert_within_bounds(histories, exposures):
    n_bars = sum(len(h.bars) for h in histories)
    assert len(exposures) == 4 * n_bars
    assert not exposures.duplicated(["instrument", "timestamp", "expert"]).any()
    assert exposures["exposure"].between(-1, 1).all()
    assert exposures["driving_member"].str.match(r"^\w+/\w+/\w+/\d+$").all()
    # the driver belongs to the expert
    assert (
        exposures["driving_member"].str.split("/").str[0] == exposures["expert"]
    ).all()
    for regime in ("downtrend", "sideways", "uptrend"):
        assert exposures[f"exposure_{regime}"].between(-1, 1).all()
    positioning = exposures[exposures["expert"] == "positioning"]
    assert (positioning["exposure"] >= 0).all()


def test_expert_exposures_do_not_read_the_regime_label(
    histories, small_pools, exposures
):
    rng = np.random.default_rng(1)
    relabelled = [
        replace(h, regime_code=rng.integers(-1, 3, size=len(h.regime_code)), _views={})
        for h in histories
    ]
    again = expert_exposure_table(relabelled, small_pools, TEMPERATURE)
    pd.testing.assert_frame_equal(again, exposures)


def test_expert_exposure_at_t_ignores_bars_after_t(histories, small_pools, exposures):
    cut = 500
    truncated = [
        replace(
            h,
            bars=h.bars.head(cut + 1),
            timestamps=h.timestamps[: cut + 1],
            segment=h.segment[: cut + 1],
            regime_code=h.regime_code[: cut + 1],
            _views={},
        )
        for h in histories
    ]
    again = expert_exposure_table(truncated, small_pools, TEMPERATURE)
    expected = exposures[exposures["t"] <= cut].reset_index(drop=True)
    pd.testing.assert_frame_equal(again, expected)


def test_forward_utility_is_the_mean_variance_utility_of_the_next_h_bars():
    returns = np.random.default_rng(3).normal(0.001, 0.01, size=40)
    horizon, aversion = 10, 2.0
    utility = forward_utility(returns, horizon, aversion)
    for t in (0, 7, 29):
        window = returns[t + 1 : t + 1 + horizon]
        expected = horizon * (window.mean() - aversion / 2 * window.var(ddof=1))
        assert utility[t] == pytest.approx(expected)
    assert np.isnan(utility[30:]).all()


def test_soft_targets_are_distributions_on_labelled_train_and_val_bars(
    histories, exposures
):
    targets = expert_soft_targets(
        histories, exposures, horizon=20, risk_aversion=2.0, temperature=0.05
    )
    p = targets[[f"p_{e}" for e in ("trend", "reversal", "breakout", "positioning")]]
    defined = p.notna().all(axis=1)
    assert (p.isna().all(axis=1) | defined).all()
    np.testing.assert_allclose(p[defined].sum(axis=1), 1.0)
    assert set(targets.loc[defined, "segment"]) == {"train", "val"}
    labelled = np.concatenate([h.labelled() for h in histories])
    assert not (defined.to_numpy() & ~labelled).any()
    in_scope = labelled & targets["segment"].isin(["train", "val"]).to_numpy()
    assert defined[in_scope].all()


def test_soft_target_prefers_the_expert_with_the_better_forward_utility(
    histories, exposures
):
    history = histories[0]
    targets = expert_soft_targets(
        [history], exposures, horizon=20, risk_aversion=2.0, temperature=0.05
    )
    row = targets.dropna(subset=["p_trend"]).iloc[50]
    t = int(row["t"])
    utilities = {}
    for expert in ("trend", "reversal", "breakout", "positioning"):
        path = exposures.query(
            "instrument == @history.instrument and expert == @expert"
        )
        returns = net_returns(history.bars, path["exposure"].to_numpy())
        window = returns[t + 1 : t + 21]
        utilities[expert] = 20 * (window.mean() - window.var(ddof=1))
        assert row[f"utility_{expert}"] == pytest.approx(utilities[expert])
    best = max(utilities, key=utilities.get)
    assert row[f"p_{best}"] == max(row[f"p_{e}"] for e in utilities)
