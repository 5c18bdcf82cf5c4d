"""DQN agent (stable-baselines3) with discrete long / flat / short actions in the
FinRL-style trading environment (:mod:`mm_drex.baselines.drl_env`); a short is
flat where the instrument does not allow shorts. Runs once per seed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
from stable_baselines3 import DQN
from torch import nn

from mm_drex.baselines.drl_env import DrlAgent, sb3_seeded


class DqnAgent(DrlAgent):
    """``algorithm`` parameters go to ``stable_baselines3.DQN``."""

    name = "dqn_agent"
    discrete = True

    def make_model(self, env: gym.Env, algorithm: Mapping[str, Any]) -> DQN:
        defaults = {
            "learning_starts": 1000,
            "buffer_size": 50000,
            "train_freq": 4,
            "target_update_interval": 1000,
            "exploration_fraction": 0.3,
            "exploration_final_eps": 0.05,
            "gamma": 0.99,
        }
        return DQN("MlpPolicy", env, **sb3_seeded({**defaults, **algorithm}, self.seed))

    def policy_modules(self, model: DQN) -> list[nn.Module]:
        return [model.policy.q_net.q_net]
