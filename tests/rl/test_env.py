"""The routing environment: next-open execution, the engine's accounting,
the mixing equation and the gymnasium interface."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from mm_drex.backtest import simulate
from mm_drex.backtest.engine import BPS
from mm_drex.experts.templates import EXPERTS
from mm_drex.rl.env import (
    ActionConfig,
    BatchRoutingEnv,
    EpisodeSampler,
    RoutingEnv,
    mix_exposure,
    observation_names,
    rollout,
    routing,
)
from mm_drex.rl.panel import PanelArrays
from mm_drex.rl.reward import RewardConfig
from tests.market_panel import LIMITS, STATE_DIM, make_inputs, make_panel

ACTION = ActionConfig(max_logit_shift=2.0, pool_choice=True, episode_bars=32)
NO_PENALTY = RewardConfig(
    kind="penalised",
    lambda_drawdown=0.0,
    lambda_volatility=0.0,
    lambda_turnover=0.0,
    lambda_weight_change=0.0,
)


def _env(arrays: PanelArrays, **kwargs) -> BatchRoutingEnv:
    return BatchRoutingEnv(arrays, NO_PENALTY, LIMITS, ACTION, **kwargs)


def _first_decision(arrays: PanelArrays, row: int, action: np.ndarray | None = None):
    env = _env(arrays)
    env.reset(np.array([row]), np.array([5]), np.array([row + 10]))
    _, reward, _, record = env.step(action)
    return reward[0], record


def _with(arrays: PanelArrays, name: str, row: int, bump: float) -> PanelArrays:
    values = getattr(arrays, name).copy()
    values[row] += bump
    return dataclasses.replace(arrays, **{name: values})


def test_decision_at_t_is_executed_at_the_next_open(rl_arrays):
    row = rl_arrays.segment_runs("train")[0][0] + 50
    action = np.full((1, ACTION.action_dim), 0.0)
    reward, record = _first_decision(rl_arrays, row, action)
    target = record.mixed_exposure[0]
    assert target != 0.0
    # from flat, the decision at t is bought at the open of t+1 and earns only
    # bar t+1's session: y (1 + x r_oc[t+1]) - 1
    cost = rl_arrays.cost_rate[row]
    y = (
        (1.0 + cost * 0.0) / (1.0 + cost * target)
        if target > 0
        else (1.0 - 0.0) / (1.0 - cost * target)
    )
    expected = y * (1 + target * rl_arrays.intraday[row + 1]) - 1
    assert record.execution.net_return[0] == pytest.approx(expected, abs=1e-14)
    assert reward == pytest.approx(100 * expected, abs=1e-12)
    # the night before t+1 and bar t's own session do not reach a flat sleeve
    for name, at in (("overnight", row + 1), ("intraday", row)):
        same, _ = _first_decision(_with(rl_arrays, name, at, 0.05), row, action)
        assert same == pytest.approx(reward, abs=1e-12)
    moved, _ = _first_decision(_with(rl_arrays, "intraday", row + 1, 0.05), row, action)
    assert moved != pytest.approx(reward, abs=1e-6)


def test_observation_at_t_ignores_rows_after_t(rl_arrays):
    row = rl_arrays.segment_runs("train")[0][0] + 50
    env = _env(rl_arrays)
    first = env.reset(np.array([row]), np.array([3]), np.array([row + 10]))
    later = dataclasses.replace(
        rl_arrays, z=rl_arrays.z.copy(), exposures=rl_arrays.exposures.copy()
    )
    later.z[row + 1 :] += 1.0
    later.exposures[row + 1 :] *= -1
    again = _env(later).reset(np.array([row]), np.array([3]), np.array([row + 10]))
    np.testing.assert_array_equal(first, again)
    assert first.shape == (1, len(observation_names(STATE_DIM)))


def test_rollout_equals_the_backtest_engine_on_every_test_bar(rl_arrays):
    env = _env(rl_arrays)
    runs = rl_arrays.segment_runs("test")
    rng = np.random.default_rng(3)
    result = rollout(
        env, lambda obs: rng.normal(size=(len(obs), ACTION.action_dim)), runs
    )
    assert len(result.rows) == sum(b - a for a, b in runs)
    for first, stop in runs:
        mask = (result.rows >= first) & (result.rows < stop)
        engine = simulate(
            result.mixed_exposure[mask][:, None],
            rl_arrays.open_price[first:stop],
            rl_arrays.close_price[first:stop],
            cost_bps=rl_arrays.cost_rate[first] / BPS,
            allow_short=bool(rl_arrays.allow_short[first]),
            limits=LIMITS,
        )
        # the decision at row i is executed at the open of row i+1; the last is never executed
        np.testing.assert_array_equal(
            result.executed_exposure[mask][:-1], engine.exposure[1:, 0]
        )
        np.testing.assert_allclose(
            result.net_return[mask][:-1], engine.net_return[1:, 0], rtol=0, atol=1e-15
        )
        np.testing.assert_allclose(
            result.turnover[mask][:-1], engine.turnover[1:, 0], rtol=0, atol=1e-15
        )
        assert (
            np.isnan(result.net_return[mask][-1]) and not result.executed_mask[mask][-1]
        )


def test_mixed_exposure_is_the_weighted_sum_of_expert_exposures_then_projected(
    rl_inputs,
):
    panel = make_panel(make_inputs(allow_short={"BTC": False}))
    arrays = PanelArrays.from_panel(
        panel, make_inputs(allow_short={"BTC": False}).instruments, LIMITS
    )
    rows = np.arange(len(arrays))
    action = np.random.default_rng(0).uniform(
        -3, 3, size=(len(rows), ACTION.action_dim)
    )
    weights, pool_mix = routing(arrays.sft_weights, arrays.pool_prior, action, ACTION)
    experts, mixed = mix_exposure(
        weights, arrays.exposures, arrays.pool_exposures, pool_mix
    )
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    np.testing.assert_allclose(
        experts, np.einsum("nkr,nkr->nk", pool_mix, arrays.pool_exposures)
    )
    manual = sum(weights[:, k] * experts[:, k] for k in range(len(EXPERTS)))
    np.testing.assert_allclose(mixed, manual, atol=1e-15)
    # zero action: the SFT weights and each expert's own exposure
    sft, prior = routing(arrays.sft_weights, arrays.pool_prior, None, ACTION)
    np.testing.assert_allclose(sft, arrays.sft_weights, atol=1e-12)
    own, _ = mix_exposure(sft, arrays.exposures, arrays.pool_exposures, prior)
    np.testing.assert_allclose(own, arrays.exposures, atol=1e-12)
    # projection: a short on BTC (no shorts) is executed flat
    env = BatchRoutingEnv(arrays, RewardConfig(), LIMITS, ACTION)
    btc = rows[(arrays.instrument == "BTC") & (arrays.segment == "train")]
    env.reset(btc[:-1], np.ones(len(btc) - 1, dtype=int), btc[:-1] + 2)
    _, _, _, record = env.step(np.zeros((len(btc) - 1, ACTION.action_dim)))
    short = record.mixed_exposure < 0
    assert short.any()
    np.testing.assert_array_equal(record.execution.executed[short], 0.0)
    np.testing.assert_array_equal(
        record.execution.after_bounds[~short], record.mixed_exposure[~short]
    )


def test_removing_an_expert_renormalises_the_others(rl_arrays):
    mask = np.array([e != "positioning" for e in EXPERTS])
    weights, _ = routing(
        rl_arrays.sft_weights, rl_arrays.pool_prior, None, ACTION, mask
    )
    expected = rl_arrays.sft_weights[:, :3] / rl_arrays.sft_weights[:, :3].sum(
        axis=1, keepdims=True
    )
    np.testing.assert_allclose(weights[:, :3], expected, atol=1e-12)
    assert (weights[:, 3] == 0).all()


def test_training_episodes_stay_inside_the_train_segment(rl_arrays):
    sampler = EpisodeSampler(rl_arrays, "train", 32)
    starts, steps, stops = sampler.sample(np.random.default_rng(0), 500)
    last_execution = starts + steps  # the last decision executes at this row
    assert (rl_arrays.segment[starts] == "train").all()
    assert (last_execution < stops).all()
    assert (rl_arrays.segment[last_execution] == "train").all()


def test_gymnasium_env_passes_the_checker(rl_arrays):
    env = RoutingEnv(rl_arrays, RewardConfig(lambda_drawdown=0.01), LIMITS, ACTION)
    check_env(env, skip_render_check=True)
    obs, info = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    total = 0
    for _ in range(ACTION.episode_bars):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        total += 1
        if terminated or truncated:
            break
    assert truncated and total == ACTION.episode_bars


def test_regime_prior_selects_pools_and_the_scale_reaches_the_bounds(rl_arrays):
    rows = np.flatnonzero(rl_arrays.has_next)[:64]
    env = _env(rl_arrays)
    env.reset(rows, np.ones(len(rows), dtype=int), rows + 2)
    _, _, _, record = env.step(np.zeros((len(rows), ACTION.action_dim)))
    # zero action: every expert on the router's regime probabilities of its pools
    expected = np.einsum(
        "nr,nkr->nk", rl_arrays.regime_probs[rows], rl_arrays.pool_exposures[rows]
    )
    np.testing.assert_allclose(record.expert_exposures, expected, atol=1e-12)
    np.testing.assert_array_equal(record.exposure_scale, 1.0)
    # the last component scales the mix by exp(s), clipped at max_logit_shift
    action = np.zeros((len(rows), ACTION.action_dim))
    action[:, -1] = 5.0
    env.reset(rows, np.ones(len(rows), dtype=int), rows + 2)
    _, _, _, scaled = env.step(action)
    np.testing.assert_allclose(scaled.exposure_scale, np.exp(ACTION.max_logit_shift))
    np.testing.assert_allclose(
        scaled.mixed_exposure, np.exp(2.0) * record.mixed_exposure, atol=1e-12
    )
    reach = np.abs(scaled.execution.after_bounds)
    assert (reach == 1.0).mean() > (np.abs(record.execution.after_bounds) == 1.0).mean()
    # the audit prior keeps each expert's default exposure at zero action
    audit = dataclasses.replace(ACTION, pool_prior="audit")
    env = BatchRoutingEnv(rl_arrays, NO_PENALTY, LIMITS, audit)
    env.reset(rows, np.ones(len(rows), dtype=int), rows + 2)
    _, _, _, default = env.step(np.zeros((len(rows), audit.action_dim)))
    np.testing.assert_allclose(
        default.expert_exposures, rl_arrays.exposures[rows], atol=1e-12
    )
