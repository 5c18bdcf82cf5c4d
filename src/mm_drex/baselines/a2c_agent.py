"""A2C agent (stable-baselines3) in the same FinRL-style trading environment
as the PPO agent (:mod:`mm_drex.baselines.drl_env`). Runs once per seed."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
from stable_baselines3 import A2C
from torch import nn

from mm_drex.baselines.drl_env import DrlAgent, sb3_seeded, torch_policy_modules


class A2cAgent(DrlAgent):
    """``algorithm`` parameters go to ``stable_baselines3.A2C``."""

    name = "a2c_agent"

    def make_model(self, env: gym.Env, algorithm: Mapping[str, Any]) -> A2C:
        defaults = {"n_steps": 16, "gamma": 0.99}
        return A2C("MlpPolicy", env, **sb3_seeded({**defaults, **algorithm}, self.seed))

    def policy_modules(self, model: A2C) -> list[nn.Module]:
        return torch_policy_modules(model.policy)
