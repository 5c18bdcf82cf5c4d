"""The trained policy against a random policy and the SFT-only router.

Each policy trades every instrument's whole ``segment`` (train by default)
from flat, deterministically for the trained policy (its mean action), with
the reward the policies were trained on. Reported, not asserted: on train the
trained policy is expected to earn more reward than both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from mm_drex.backtest.projection import ExposureLimits
from mm_drex.backtest.settings import BacktestSettings
from mm_drex.rl.env import BatchRoutingEnv
from mm_drex.rl.panel import PanelArrays
from mm_drex.rl.ppo import random_policy, segment_score, torch_policy
from mm_drex.rl.settings import RLSettings
from mm_drex.rl.training import LoadedPolicies, load_policies

AVERAGE = "equal_market_average"


def policy_comparison(
    panel: PanelArrays,
    policies: LoadedPolicies,
    limits: ExposureLimits,
    segment: str = "train",
    random_seed: int = 0,
) -> pd.DataFrame:
    """Reward and Sharpe of the trained, random and SFT-only policies.

    Returns:
        One row per (seed, policy, instrument) plus the equal-market average
        (instrument ``equal_market_average``): seed, policy, segment,
        instrument, market, n_decisions, mean_reward, sharpe.
    """
    env = BatchRoutingEnv(panel, policies.reward, limits, policies.action)
    runs = panel.segment_runs(segment)
    frames = []
    # the SFT-only router does not depend on the seed: traded once
    _, sft_only = segment_score(env, lambda obs: None, runs, "reward")
    for seed in sorted(policies.models):
        candidates = {
            "trained": torch_policy(policies.model(seed)),
            "random": random_policy(policies.action, random_seed + seed),
            "sft_only": None,
        }
        for name, policy in candidates.items():
            if policy is None:
                table = sft_only
            else:
                _, table = segment_score(env, policy, runs, "reward")
            by_market = table.groupby("market", sort=False)[
                ["mean_reward", "sharpe"]
            ].mean()
            average = {
                "instrument": AVERAGE,
                "market": "",
                "n_decisions": int(table["n_decisions"].sum()),
                "mean_reward": float(by_market["mean_reward"].mean()),
                "sharpe": float(by_market["sharpe"].mean()),
            }
            table = pd.concat([table, pd.DataFrame([average])], ignore_index=True)
            frames.append(
                table.assign(seed=np.int64(seed), policy=name, segment=segment)
            )
    out = pd.concat(frames, ignore_index=True)
    columns = [
        "seed",
        "policy",
        "segment",
        "instrument",
        "market",
        "n_decisions",
        "mean_reward",
        "sharpe",
    ]
    return out[columns]


def stage_policy_comparison(
    rl_panel: pd.DataFrame,
    instruments: pd.DataFrame,
    rl_policy: Mapping[str, torch.Tensor],
    rl_policy_config: Mapping[str, Any],
    settings: RLSettings,
    backtest: BacktestSettings,
) -> pd.DataFrame:
    """:func:`policy_comparison` of the saved policies on
    ``expert_rl.comparison.segment``, with the backtest's costs and limits."""
    torch.set_num_threads(settings.num_threads)
    return policy_comparison(
        PanelArrays.for_backtest(rl_panel, instruments, backtest),
        load_policies(rl_policy, rl_policy_config),
        backtest.limits,
        settings.comparison.segment,
        settings.comparison.random_seed,
    )
