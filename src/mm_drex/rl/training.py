"""The RL stage's training protocol: penalty weights and checkpoints chosen on
val, one policy per seed, saved as plain tensors plus a JSON config.

1. Every entry of ``selection.penalty_grid`` (overrides of the reward's
   penalty weights and/or PPO keys such as ``kl_coef``) is trained with the
   first seed; each run keeps the checkpoint of ``selection.checkpoint_rule``
   among its checkpoints scored on ``selection.blocks`` validation blocks.
2. The entry with the best mean block score is the configuration of every
   seed (the first seed's run is reused).
3. The other seeds are trained with it.

The test segment is never read here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from mm_drex.backtest.projection import ExposureLimits
from mm_drex.backtest.settings import BacktestSettings
from mm_drex.rl.env import ActionConfig, BatchRoutingEnv, observation_names
from mm_drex.rl.panel import PanelArrays
from mm_drex.rl.ppo import ActorCritic, PPOConfig, TrainedPolicy, train_ppo
from mm_drex.rl.reward import RewardConfig
from mm_drex.rl.settings import RLSettings


@dataclass
class TrainingResult:
    """Policies per seed and how they were chosen."""

    policies: dict[int, TrainedPolicy]
    reward: RewardConfig
    ppo: PPOConfig
    chosen_entry: int
    selection: pd.DataFrame
    log: pd.DataFrame


def train_policies(
    panel: PanelArrays, settings: RLSettings, limits: ExposureLimits
) -> TrainingResult:
    """The protocol of the module docstring."""
    torch.set_num_threads(settings.num_threads)
    val_runs = panel.segment_runs(settings.selection_segment)
    first_seed = settings.seeds[0]
    candidates: list[tuple[RewardConfig, PPOConfig, TrainedPolicy]] = []
    selection_rows, logs = [], []
    for entry, overrides in enumerate(settings.penalty_grid):
        reward, ppo = settings.configured(overrides)
        trained = _train_one(panel, settings, limits, reward, ppo, val_runs, first_seed)
        candidates.append((reward, ppo, trained))
        selection_rows.append(
            {
                "entry": entry,
                "overrides": str(dict(overrides)),
                "seed": first_seed,
                "best_iteration": trained.best_iteration,
                "val_score": trained.best_score,
                "val_score_se": trained.best_error,
                "sft_val_score": float(trained.log["val_score"].iloc[0]),
            }
        )
        logs.append(trained.log.assign(entry=entry, seed=first_seed))
    chosen = int(np.argmax([c[2].best_score for c in candidates]))
    reward, ppo, first = candidates[chosen]
    policies = {first_seed: first}
    for seed in settings.seeds[1:]:
        trained = _train_one(panel, settings, limits, reward, ppo, val_runs, seed)
        policies[seed] = trained
        logs.append(trained.log.assign(entry=chosen, seed=seed))
    selection = pd.DataFrame(selection_rows)
    selection["chosen"] = selection["entry"] == chosen
    log = pd.concat(logs, ignore_index=True)
    first_columns = ["entry", "seed", "iteration"]
    log = log[first_columns + [c for c in log.columns if c not in first_columns]]
    return TrainingResult(policies, reward, ppo, chosen, selection, log)


def _train_one(
    panel: PanelArrays,
    settings: RLSettings,
    limits: ExposureLimits,
    reward: RewardConfig,
    ppo: PPOConfig,
    val_runs: Sequence[tuple[int, int]],
    seed: int,
) -> TrainedPolicy:
    train_env = BatchRoutingEnv(panel, reward, limits, settings.action)
    val_env = BatchRoutingEnv(panel, reward, limits, settings.action)
    return train_ppo(
        train_env,
        val_env,
        val_runs,
        settings.action,
        ppo,
        seed,
        settings.selection_metric,
        settings.train_segment,
        settings.selection.blocks,
        settings.selection.checkpoint_rule,
    )


# ---- artifacts: tensors + JSON ----------------------------------------------


def policy_artifacts(
    result: TrainingResult, settings: RLSettings, state_dim: int
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """``({"seed_<s>.<param>": tensor}, config)``: what rebuilds every policy."""
    tensors = {
        f"seed_{seed}.{name}": value.detach().clone()
        for seed, trained in result.policies.items()
        for name, value in trained.state_dict.items()
    }
    config = {
        "state_dim": state_dim,
        "observation": observation_names(state_dim),
        "action": dataclasses.asdict(settings.action),
        "reward": dataclasses.asdict(result.reward),
        "ppo": {**dataclasses.asdict(result.ppo), "hidden": list(result.ppo.hidden)},
        "seeds": list(result.policies),
        "chosen_grid_entry": result.chosen_entry,
        "selection_segment": settings.selection_segment,
        "selection_metric": settings.selection_metric,
        "checkpoints": {
            str(seed): {"iteration": p.best_iteration, "val_score": p.best_score}
            for seed, p in result.policies.items()
        },
    }
    return tensors, config


@dataclass
class LoadedPolicies:
    """Trained policies rebuilt from their artifacts."""

    models: dict[int, ActorCritic]
    action: ActionConfig
    reward: RewardConfig
    state_dim: int

    def model(self, seed: int) -> ActorCritic:
        if seed not in self.models:
            raise KeyError(
                f"no trained policy for seed {seed}; seeds: {sorted(self.models)}"
            )
        return self.models[seed]


def load_policies(
    tensors: Mapping[str, torch.Tensor], config: Mapping[str, Any]
) -> LoadedPolicies:
    """Rebuild every seed's :class:`ActorCritic` from :func:`policy_artifacts` output."""
    action = ActionConfig(**config["action"])
    reward = RewardConfig(**config["reward"])
    ppo = PPOConfig.from_params(config["ppo"])
    obs_dim = len(config["observation"])
    models = {}
    for seed in config["seeds"]:
        prefix = f"seed_{seed}."
        state = {
            k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)
        }
        model = ActorCritic(obs_dim, action.action_dim, ppo.hidden, ppo.init_log_std)
        model.load_state_dict(state)
        models[int(seed)] = model.eval()
    return LoadedPolicies(models, action, reward, int(config["state_dim"]))


def fit_policies(
    rl_panel: pd.DataFrame,
    instruments: pd.DataFrame,
    settings: RLSettings,
    backtest: BacktestSettings,
) -> tuple[dict[str, torch.Tensor], dict[str, Any], pd.DataFrame, pd.DataFrame]:
    """The protocol of the module docstring on the stage's panel, with the
    backtest's costs and limits.

    Returns the policies' tensors, the JSON config that rebuilds them, the
    training log and the penalty-grid selection table.
    """
    panel = PanelArrays.for_backtest(rl_panel, instruments, backtest)
    result = train_policies(panel, settings, backtest.limits)
    tensors, config = policy_artifacts(result, settings, panel.z.shape[1])
    return tensors, config, result.log, result.selection
