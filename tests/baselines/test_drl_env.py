"""The FinRL-style environment trades like the backtest engine, at the next open."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mm_drex.backtest import simulate
from mm_drex.backtest.engine import asset_returns
from mm_drex.baselines.drl_env import (
    MarketStream,
    NumpyPolicy,
    TradingEnv,
    action_exposure,
    step_return,
)


@pytest.fixture(scope="module")
def streams(small_universe) -> list[MarketStream]:
    out = []
    for history in small_universe:
        features = np.random.default_rng(0).normal(size=(len(history.bars), 4))
        rows = np.flatnonzero(history.segment == "train")
        out.append(
            MarketStream.build(
                history.bars,
                history.context,
                features.astype(np.float32),
                rows[rows >= 20],
            )
        )
    return out


def test_each_step_reward_is_the_engines_net_return_of_the_next_bar(
    small_universe, streams
):
    history, stream = small_universe[0], streams[0]
    decisions = np.random.default_rng(1).uniform(-1, 1, len(history.bars))
    result = simulate(
        decisions[:, None],
        history.bars["open"].to_numpy(),
        history.bars["close"].to_numpy(),
        cost_bps=history.context.cost_bps,
    )
    for t in range(1, len(decisions) - 1):
        # held: executed at the open of t (decided at t-1); target: decided at t
        reward = step_return(stream, t, decisions[t - 1], decisions[t])
        assert reward == pytest.approx(result.net_return[t + 1, 0], abs=1e-12)


def test_a_buy_decided_at_the_close_earns_nothing_of_the_overnight_gap(
    small_universe, streams
):
    history, stream = small_universe[0], streams[0]
    overnight, intraday = asset_returns(
        history.bars["open"].to_numpy(), history.bars["close"].to_numpy()
    )
    t = 200
    cost = history.context.cost_bps * 1e-4
    # flat at t, long 1 decided at the close of t: filled at the open of t+1
    expected = (1 + intraday[t + 1]) / (1 + cost) - 1
    assert step_return(stream, t, 0.0, 1.0) == pytest.approx(expected, abs=1e-12)
    assert overnight[t + 1] != 0.0  # the gap exists and is not earned


def test_episodes_stay_inside_the_train_segment(small_universe, streams):
    env = TradingEnv(streams, discrete=True, episode_bars=50)
    env.reset(seed=3)
    visited = set()
    for _ in range(600):
        visited.add((env.stream.instrument, env.t))
        _, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert np.isfinite(reward) and not terminated
        if truncated:
            env.reset()
    for history in small_universe:
        train = set(np.flatnonzero(history.segment == "train"))
        for instrument, t in visited:
            if instrument == history.instrument:
                assert t in train and t + 1 in train  # the reward bar is train too
    assert {instrument for instrument, _ in visited} == {"SP500", "WTI"}


def test_discrete_actions_are_long_flat_short_and_shorts_are_cut_where_refused(
    streams,
):
    assert [action_exposure(a, discrete=True) for a in (0, 1, 2)] == [-1.0, 0.0, 1.0]
    assert action_exposure(np.array([1.7]), discrete=False) == 1.0
    sp500, wti = streams
    assert sp500.bounded(-1.0) == -1.0
    assert wti.bounded(-1.0) == 0.0 and wti.bounded(0.4) == 0.4


def test_the_numpy_policy_acts_like_the_sb3_policy(streams):
    from stable_baselines3 import DQN, PPO

    env = TradingEnv(streams, discrete=False, episode_bars=20)
    ppo = PPO("MlpPolicy", env, seed=0, device="cpu", n_steps=32, batch_size=32)
    ppo.learn(64)
    observations = np.random.default_rng(2).normal(size=(50, 5)).astype(np.float32)
    numpy_policy = NumpyPolicy.from_modules(
        [ppo.policy.mlp_extractor.policy_net, ppo.policy.action_net], discrete=False
    )
    actions, _ = ppo.predict(observations, deterministic=True)
    np.testing.assert_allclose(
        [numpy_policy(o) for o in observations], actions[:, 0], atol=1e-5
    )
    discrete_env = TradingEnv(streams, discrete=True, episode_bars=20)
    dqn = DQN("MlpPolicy", discrete_env, seed=0, device="cpu", learning_starts=10)
    dqn.learn(64)
    numpy_q = NumpyPolicy.from_modules([dqn.policy.q_net.q_net], discrete=True)
    with torch.no_grad():
        greedy = dqn.policy.q_net(torch.from_numpy(observations)).argmax(1).numpy()
    np.testing.assert_array_equal(
        [numpy_q(o) for o in observations], np.array([-1.0, 0.0, 1.0])[greedy]
    )
