"""PPO agent (stable-baselines3) in the FinRL-style trading environment.

Continuous action = target exposure in ``[-1, 1]``; training on the train
segments, checkpoint chosen on val, sequential inference
(:mod:`mm_drex.baselines.drl_env`). Runs once per seed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
from stable_baselines3 import PPO
from torch import nn

from mm_drex.baselines.drl_env import DrlAgent, sb3_seeded, torch_policy_modules


class PpoAgent(DrlAgent):
    """``algorithm`` parameters go to ``stable_baselines3.PPO``."""

    name = "ppo_agent"

    def make_model(self, env: gym.Env, algorithm: Mapping[str, Any]) -> PPO:
        defaults = {"n_steps": 1024, "batch_size": 128, "n_epochs": 4, "gamma": 0.99}
        return PPO("MlpPolicy", env, **sb3_seeded({**defaults, **algorithm}, self.seed))

    def policy_modules(self, model: PPO) -> list[nn.Module]:
        return torch_policy_modules(model.policy)
