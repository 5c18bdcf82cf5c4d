"""PPO-style clipped actor-critic for the routing policy (compact, own code).

Readable top to bottom: per iteration, draw ``B`` random train episodes,
roll the stochastic policy through them all at once (:class:`BatchRoutingEnv`),
compute GAE advantages, then take ``epochs`` passes of minibatch steps on

    loss = − E[min(ρ A, clip(ρ, 1−ε, 1+ε) A)]        clipped surrogate (ρ = π/π_old)
           + c_v · E[(V − R)²]                          critic
           − c_H · H[π]                                 entropy bonus
           + c_KL · E[KL(w_θ || w_sft) + Σ_k KL(π_k,θ || prior_k)]   toward the SFT router

where ``w_θ = softmax(log w_sft + μ_Δ(s))`` are the routing weights of the
policy's mean action and ``π_k,θ`` its pool mixes (paper-notes v3: "an entropy
bonus and a penalty toward the SFT prior"). The actor's last layer starts at
zero, so the initial mean action is 0: the SFT router exactly.

Every ``eval_every`` iterations (and before the first, the SFT router itself)
the deterministic policy (mean action) trades the whole **validation** segment
of every instrument from flat; its score is computed on each of ``blocks``
contiguous blocks of the segment. With the ``one_se`` rule the kept state is
the earliest checkpoint whose mean block score is within one standard error
(across blocks) of the best mean, so that RL has to beat the SFT router by
more than the noise of the validation window to move away from it; ``best``
keeps the best mean (checkpoint selection on val only).
Same seed, same thread count -> the same weights (numpy and torch generators
are seeded; no other randomness).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.nn import functional as F

from mm_drex.backtest.metrics import sharpe_ratio
from mm_drex.config import Settings, setting
from mm_drex.rl.env import (
    LOG_FLOOR,
    N_EXPERTS,
    N_REGIMES,
    ActionConfig,
    BatchRoutingEnv,
    EpisodeSampler,
    Policy,
    pool_priors,
    rollout,
)
from mm_drex.rl.panel import PanelArrays

SELECTION_METRICS = ("sharpe", "reward")
CHECKPOINT_RULES = ("best", "one_se")


@dataclass(frozen=True)
class PPOConfig(Settings):
    """PPO hyper-parameters (``params:expert_rl.ppo``)."""

    group: ClassVar[str] = "expert_rl.ppo"

    iterations: int = setting(60, ge=1)
    episodes_per_iteration: int = setting(128, ge=1)
    epochs: int = setting(3, ge=1)
    minibatch_size: int = setting(2048, ge=1)
    learning_rate: float = setting(1e-3, gt=0)
    gamma: float = setting(0.95, ge=0, le=1)
    gae_lambda: float = setting(0.9, ge=0, le=1)
    clip_range: float = setting(0.2, gt=0)
    value_coef: float = setting(0.5, ge=0)
    entropy_coef: float = setting(0.001, ge=0)
    kl_coef: float = setting(0.05, ge=0)
    max_grad_norm: float = setting(0.5, gt=0)
    hidden: tuple[int, ...] = setting((64, 64), ge=1)
    init_log_std: float = 0.0
    eval_every: int = setting(5, ge=1)


def _mlp(sizes: Sequence[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(len(sizes) - 1):
        layers.append(nn.Linear(sizes[i], sizes[i + 1]))
        if i < len(sizes) - 2:
            layers.append(nn.Tanh())
    return nn.Sequential(*layers)


class ActorCritic(nn.Module):
    """Gaussian actor (mean MLP + state-independent log-std) and value MLP."""

    def __init__(
        self, obs_dim: int, action_dim: int, hidden: Sequence[int], init_log_std: float
    ) -> None:
        super().__init__()
        self.actor = _mlp([obs_dim, *hidden, action_dim])
        self.critic = _mlp([obs_dim, *hidden, 1])
        self.log_std = nn.Parameter(torch.full((action_dim,), float(init_log_std)))
        last = self.actor[-1]
        nn.init.zeros_(last.weight)  # mean action 0 at the start: the SFT router
        nn.init.zeros_(last.bias)

    def forward(self, obs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Mean action ``(B, A)`` and value ``(B,)``."""
        return self.actor(obs), self.critic(obs).squeeze(-1)

    def log_prob(self, mean: torch.Tensor, action: torch.Tensor) -> torch.Tensor:
        std = self.log_std.exp()
        return torch.distributions.Normal(mean, std).log_prob(action).sum(-1)

    def entropy(self) -> torch.Tensor:
        return (0.5 + 0.5 * np.log(2 * np.pi) + self.log_std).sum()


def kl_to_sft(
    mean: torch.Tensor,
    log_sft: torch.Tensor,
    log_prior: torch.Tensor,
    action: ActionConfig,
) -> torch.Tensor:
    """``KL(w_θ || w_sft) + Σ_k KL(π_k,θ || prior_k)`` per row ``(B,)``.

    Args:
        mean: ``(B, A)`` mean actions; log_sft ``(B, 4)`` log SFT weights;
        log_prior ``(B, 4, 3)`` log pool priors (both normalised).
    """
    log_w = F.log_softmax(log_sft + mean[:, :N_EXPERTS], dim=-1)
    kl = (log_w.exp() * (log_w - log_sft)).sum(-1)
    if action.pool_choice:
        shift = mean[:, action.pool_slice].reshape(-1, N_EXPERTS, N_REGIMES)
        log_mix = F.log_softmax(log_prior + shift, dim=-1)
        kl = kl + (log_mix.exp() * (log_mix - log_prior)).sum((-1, -2))
    if action.exposure_scale:
        # the scale's log kept near 0 (scale 1) like a unit-variance Gaussian prior
        kl = kl + 0.5 * mean[:, -1] ** 2
    return kl


def torch_policy(model: ActorCritic) -> Policy:
    """The deterministic policy (mean action) as numpy -> numpy."""

    def act(obs: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            mean, _ = model(torch.from_numpy(obs))
        return mean.double().numpy()

    return act


def random_policy(action: ActionConfig, seed: int) -> Policy:
    """Actions uniform in ``±max_logit_shift`` (a seeded random router)."""
    rng = np.random.default_rng(seed)

    def act(obs: np.ndarray) -> np.ndarray:
        bound = action.max_logit_shift
        return rng.uniform(-bound, bound, size=(len(obs), action.action_dim))

    return act


def segment_block_scores(
    env: BatchRoutingEnv,
    policy: Policy,
    runs: Sequence[tuple[int, int]],
    metric: str,
    n_blocks: int = 1,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Scores of a deterministic policy trading whole segment runs from flat,
    on each of ``n_blocks`` contiguous blocks of every run's decisions.

    ``metric``: ``sharpe`` (each instrument's after-cost Sharpe, annualised
    with its periods per year) or ``reward`` (mean reward per executed
    decision). A block's score is the equal-market average: the mean over
    markets of the mean over each market's instruments.

    Returns ``(scores (n_blocks,), per_instrument)`` with per_instrument:
    instrument, market, block, n_decisions, mean_reward, sharpe.
    """
    if metric not in SELECTION_METRICS:
        raise ValueError(
            f"expert_rl.selection.metric must be one of {SELECTION_METRICS}, got {metric!r}"
        )
    result = rollout(env, policy, runs)
    panel = env.panel
    rows = []
    for first, stop in runs:
        mask = (result.rows >= first) & (result.rows < stop) & result.executed_mask
        for block, index in enumerate(np.array_split(np.flatnonzero(mask), n_blocks)):
            returns = result.net_return[index]
            rows.append(
                {
                    "instrument": panel.instrument[first],
                    "market": panel.market[first],
                    "block": block,
                    "n_decisions": len(index),
                    "mean_reward": float(result.reward[index].mean())
                    if len(index)
                    else np.nan,
                    "sharpe": float(
                        sharpe_ratio(returns, panel.periods_per_year[first])
                    )
                    if len(returns) > 1
                    else np.nan,
                }
            )
    table = pd.DataFrame(rows)
    column = "sharpe" if metric == "sharpe" else "mean_reward"
    by_market = table.groupby(["block", "market"], sort=False)[column].mean()
    scores = by_market.groupby(level="block").mean().reindex(range(n_blocks))
    return scores.to_numpy(dtype=float), table


def segment_score(
    env: BatchRoutingEnv,
    policy: Policy,
    runs: Sequence[tuple[int, int]],
    metric: str,
) -> tuple[float, pd.DataFrame]:
    """:func:`segment_block_scores` of the whole runs: ``(score, per_instrument)``."""
    scores, table = segment_block_scores(env, policy, runs, metric, 1)
    return float(scores[0]), table.drop(columns="block")


def block_mean_and_error(scores: np.ndarray) -> tuple[float, float]:
    """Mean of the block scores and its standard error (0 for one block;
    ``-inf`` where no block has a score)."""
    finite = np.asarray(scores, dtype=float)
    finite = finite[np.isfinite(finite)]
    if not len(finite):
        return -np.inf, 0.0
    if len(finite) < 2:
        return float(finite.mean()), 0.0
    return float(finite.mean()), float(finite.std(ddof=1) / np.sqrt(len(finite)))


def choose_checkpoint(
    means: Sequence[float], errors: Sequence[float], rule: str
) -> int:
    """Index of the kept checkpoint (checkpoints in training order): the best
    mean (``best``) or the earliest within one standard error of it
    (``one_se``)."""
    if rule not in CHECKPOINT_RULES:
        raise ValueError(
            f"expert_rl.selection.checkpoint_rule must be one of {CHECKPOINT_RULES}, "
            f"got {rule!r}"
        )
    means = np.asarray(means, dtype=float)
    best = int(np.argmax(means))
    if rule == "best":
        return best
    threshold = means[best] - float(errors[best])
    return int(np.flatnonzero(means >= threshold)[0])


@dataclass
class TrainedPolicy:
    """A trained policy: the selected state, when it was taken, and the log."""

    state_dict: dict[str, torch.Tensor]
    best_iteration: int
    best_score: float
    log: pd.DataFrame
    best_error: float = 0.0

    def model(self, obs_dim: int, action_dim: int, config: PPOConfig) -> ActorCritic:
        model = ActorCritic(obs_dim, action_dim, config.hidden, config.init_log_std)
        model.load_state_dict(self.state_dict)
        return model.eval()


def train_ppo(
    train_env: BatchRoutingEnv,
    val_env: BatchRoutingEnv,
    val_runs: Sequence[tuple[int, int]],
    action: ActionConfig,
    config: PPOConfig,
    seed: int,
    selection_metric: str = "sharpe",
    train_segment: str = "train",
    selection_blocks: int = 1,
    checkpoint_rule: str = "best",
) -> TrainedPolicy:
    """Train the routing policy on random ``train_segment`` episodes (module docstring).

    Returns the state :func:`choose_checkpoint` keeps among the checkpoints:
    the start (the SFT router), every ``eval_every`` iterations and the last
    one, each scored on ``selection_blocks`` blocks of the validation runs.
    """
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    generator = torch.Generator().manual_seed(seed)
    panel: PanelArrays = train_env.panel
    sampler = EpisodeSampler(panel, train_segment, action.episode_bars)
    model = ActorCritic(
        train_env.obs_dim, train_env.action_dim, config.hidden, config.init_log_std
    )
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    log_sft_all = torch.from_numpy(
        np.log(np.maximum(panel.sft_weights, LOG_FLOOR))
    ).float()
    log_sft_all = log_sft_all - torch.logsumexp(log_sft_all, dim=-1, keepdim=True)
    log_prior_all = torch.from_numpy(
        np.log(
            np.maximum(
                pool_priors(panel.pool_prior, panel.regime_probs, action), LOG_FLOOR
            )
        )
    ).float()
    log_prior_all = log_prior_all - torch.logsumexp(log_prior_all, dim=-1, keepdim=True)

    n_envs, horizon = config.episodes_per_iteration, action.episode_bars
    checkpoints: list[tuple[int, dict, float, float]] = []

    def checkpoint(iteration: int) -> dict[str, float]:
        scores, _ = segment_block_scores(
            val_env, torch_policy(model), val_runs, selection_metric, selection_blocks
        )
        mean, error = block_mean_and_error(scores)
        checkpoints.append((iteration, copy.deepcopy(model.state_dict()), mean, error))
        return {"val_score": mean, "val_score_se": error}

    log_rows = [{"iteration": 0, **checkpoint(0)}]
    for iteration in range(1, config.iterations + 1):
        # ---- rollout: B episodes x L decisions ---------------------------------
        obs_np = train_env.reset(*sampler.sample(rng, n_envs))
        obs_buf = torch.zeros((horizon, n_envs, train_env.obs_dim))
        act_buf = torch.zeros((horizon, n_envs, train_env.action_dim))
        logp_buf = torch.zeros((horizon, n_envs))
        value_buf = torch.zeros((horizon + 1, n_envs))
        reward_buf = torch.zeros((horizon, n_envs))
        row_buf = np.zeros((horizon, n_envs), dtype=np.int64)
        model.eval()
        with torch.no_grad():
            for step in range(horizon):
                obs = torch.from_numpy(obs_np)
                mean, value = model(obs)
                noise = torch.randn(mean.shape, generator=generator)
                action_t = mean + model.log_std.exp() * noise
                row_buf[step] = train_env.rows
                obs_np, reward, _, _ = train_env.step(action_t.double().numpy())
                obs_buf[step], act_buf[step] = obs, action_t
                logp_buf[step] = model.log_prob(mean, action_t)
                value_buf[step] = value
                reward_buf[step] = torch.from_numpy(reward).float()
            value_buf[horizon] = model(torch.from_numpy(obs_np))[
                1
            ]  # truncation bootstrap
        # ---- GAE ---------------------------------------------------------------
        advantages = torch.zeros((horizon, n_envs))
        running = torch.zeros(n_envs)
        for step in reversed(range(horizon)):
            delta = (
                reward_buf[step] + config.gamma * value_buf[step + 1] - value_buf[step]
            )
            running = delta + config.gamma * config.gae_lambda * running
            advantages[step] = running
        returns = advantages + value_buf[:horizon]
        flat = {
            "obs": obs_buf.reshape(-1, train_env.obs_dim),
            "action": act_buf.reshape(-1, train_env.action_dim),
            "logp": logp_buf.reshape(-1),
            "advantage": advantages.reshape(-1),
            "return": returns.reshape(-1),
            "rows": torch.from_numpy(row_buf.reshape(-1)),
        }
        flat["advantage"] = (flat["advantage"] - flat["advantage"].mean()) / (
            flat["advantage"].std() + 1e-8
        )
        # ---- update ------------------------------------------------------------
        model.train()
        stats = {
            "policy_loss": 0.0,
            "value_loss": 0.0,
            "kl_sft": 0.0,
            "clip_fraction": 0.0,
        }
        n_updates = 0
        n_samples = len(flat["logp"])
        for _ in range(config.epochs):
            order = torch.randperm(n_samples, generator=generator)
            for start in range(0, n_samples, config.minibatch_size):
                idx = order[start : start + config.minibatch_size]
                mean, value = model(flat["obs"][idx])
                logp = model.log_prob(mean, flat["action"][idx])
                ratio = (logp - flat["logp"][idx]).exp()
                adv = flat["advantage"][idx]
                surrogate = torch.min(
                    ratio * adv,
                    ratio.clamp(1 - config.clip_range, 1 + config.clip_range) * adv,
                )
                policy_loss = -surrogate.mean()
                value_loss = (value - flat["return"][idx]).pow(2).mean()
                rows = flat["rows"][idx]
                kl = kl_to_sft(
                    mean, log_sft_all[rows], log_prior_all[rows], action
                ).mean()
                loss = (
                    policy_loss
                    + config.value_coef * value_loss
                    - config.entropy_coef * model.entropy()
                    + config.kl_coef * kl
                )
                optimiser.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), config.max_grad_norm)
                optimiser.step()
                stats["policy_loss"] += policy_loss.item()
                stats["value_loss"] += value_loss.item()
                stats["kl_sft"] += kl.item()
                stats["clip_fraction"] += (
                    ((ratio - 1).abs() > config.clip_range).float().mean().item()
                )
                n_updates += 1
        row = {
            "iteration": iteration,
            "train_reward": float(reward_buf.mean()),
            **{k: v / n_updates for k, v in stats.items()},
            "action_std": model.log_std.detach().exp().mean().item(),
            "val_score": np.nan,
            "val_score_se": np.nan,
        }
        model.eval()
        if iteration % config.eval_every == 0 or iteration == config.iterations:
            row.update(checkpoint(iteration))
        log_rows.append(row)
    kept = choose_checkpoint(
        [c[2] for c in checkpoints], [c[3] for c in checkpoints], checkpoint_rule
    )
    iteration, state, mean, error = checkpoints[kept]
    log = pd.DataFrame(log_rows)
    log["selected"] = log["iteration"] == iteration
    return TrainedPolicy(state, iteration, float(mean), log, float(error))
