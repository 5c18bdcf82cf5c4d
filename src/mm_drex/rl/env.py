"""The routing environment: historical episodes over the panel, many at once.

At the close of decision bar ``t`` of an episode the agent observes

    [ z_t (router state) | p_t (regime probs, 3) | w_sft_t (SFT weights, 4)
      | h_t (experts' exposures, 4) | h_t,pool (each expert's regime pools, 4x3)
      | sleeve: exposure x_t, drawdown, recent volatility (annualised)
      | previous routing weights w_t-1 (4) ]

and acts with ``a = [Δ (4) | β (4x3) | σ (1)]``, each clipped to
``±max_logit_shift``:

    w_t     = softmax(log w_sft_t + Δ)                 adjusted routing logits
    π_k,t   = softmax(log prior_k,t + β_k)             expert k's choice among its
                                                       regime pools
    h_k,t   = Σ_r π_k,r h_k,r,t
    κ_t     = exp(σ)                                   exposure scale
    e_t     = κ_t Σ_k w_k,t h_k,t                      paper-notes v3: h_raw = Σ w_k h_k

The pool prior (``pool_prior``) is ``regime``: the router's regime
probabilities ``p_t`` for every expert, so that the regime the router
perceives selects each expert's pool of that regime (the paper's pools per
(market, expert, regime)); or ``audit``: each expert's audit-score mix of its
pools, which is its default exposure ``h_k,t``. The exposure scale
(``exposure_scale``) lets the policy reach the bounds when it is confident
(a mix of four disagreeing experts is small) and stand aside when it is not;
the projection then applies the limits. ``e_t`` is executed at the open of
``t+1``; the reward is :mod:`mm_drex.rl.reward`'s. ``a = 0`` is the SFT
router with the pool prior and scale 1 (with ``pool_prior: audit``, exactly
the SFT router with the experts' default pools). On train rows the router's
regime probabilities are in-sample (it was fitted there), so RL sees a
sharper regime signal in training than at test. :class:`BatchRoutingEnv`
steps ``B`` episodes at once (numpy, no per-episode Python loop); :class:`RoutingEnv` is the same as a
``gymnasium.Env`` (one episode).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from mm_drex.backtest.projection import ExposureLimits
from mm_drex.config import Settings, setting
from mm_drex.experts.templates import EXPERTS
from mm_drex.regimes.labels import REGIMES
from mm_drex.rl.panel import PanelArrays
from mm_drex.rl.reward import Execution, RewardConfig, SleeveState, advance, execute
from mm_drex.router.data import state_column_names

N_EXPERTS, N_REGIMES = len(EXPERTS), len(REGIMES)
LOG_FLOOR = 1e-12
POOL_PRIORS = ("regime", "audit")


@dataclass(frozen=True)
class ActionConfig(Settings):
    """How an action adjusts the routing (``params:expert_rl.env``).

    ``max_logit_shift``: bound of every action component; ``pool_choice``:
    whether the action also chooses among each expert's regime pools;
    ``pool_prior``: ``regime`` or ``audit`` (module docstring);
    ``exposure_scale``: whether the action scales the mixed exposure;
    ``episode_bars``: decisions per training episode.
    """

    group: ClassVar[str] = "expert_rl.env"

    max_logit_shift: float = setting(2.0, gt=0)
    pool_choice: bool = True
    pool_prior: str = setting("regime", choices=POOL_PRIORS)
    exposure_scale: bool = True
    episode_bars: int = setting(128, ge=2)

    @property
    def action_dim(self) -> int:
        return (
            N_EXPERTS
            + (N_EXPERTS * N_REGIMES if self.pool_choice else 0)
            + (1 if self.exposure_scale else 0)
        )

    @property
    def pool_slice(self) -> slice:
        """The action components of the pool choice (empty without it)."""
        return slice(
            N_EXPERTS, N_EXPERTS + (N_EXPERTS * N_REGIMES if self.pool_choice else 0)
        )


def pool_priors(
    pool_prior: np.ndarray, regime_probs: np.ndarray, config: ActionConfig
) -> np.ndarray:
    """``(B, 4, 3)`` each expert's prior over its regime pools: the audit
    mix (``pool_prior``) or the router's regime probabilities."""
    if config.pool_prior == "audit":
        return np.asarray(pool_prior, float)
    probs = np.asarray(regime_probs, float)
    return np.repeat(probs[:, None, :], N_EXPERTS, axis=1)


def exposure_scales(
    action: np.ndarray | None, n: int, config: ActionConfig
) -> np.ndarray:
    """``(B,)`` the exposure scale ``κ = exp(σ)`` of an action (1 without it)."""
    if action is None or not config.exposure_scale:
        return np.ones(n)
    shift = np.clip(
        np.asarray(action, float)[:, -1],
        -config.max_logit_shift,
        config.max_logit_shift,
    )
    return np.exp(shift)


def observation_names(state_dim: int) -> list[str]:
    """Names of the observation vector's components, in order."""
    return [
        *state_column_names(state_dim),
        *[f"p_{r}" for r in REGIMES],
        *[f"w_sft_{e}" for e in EXPERTS],
        *[f"h_{e}" for e in EXPERTS],
        *[f"h_{e}_{r}" for e in EXPERTS for r in REGIMES],
        "sleeve_exposure",
        "sleeve_drawdown",
        "sleeve_volatility",
        *[f"w_prev_{e}" for e in EXPERTS],
    ]


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    shifted = logits - logits.max(axis=axis, keepdims=True)
    weights = np.exp(shifted)
    return weights / weights.sum(axis=axis, keepdims=True)


def routing(
    sft_weights: np.ndarray,
    pool_prior: np.ndarray,
    action: np.ndarray | None,
    config: ActionConfig,
    expert_mask: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Routing weights ``(B, 4)`` and pool mixes ``(B, 4, 3)`` of an action.

    ``action`` None is the zero action (the SFT router, default pools).
    ``expert_mask`` ``(4,)`` bool drops experts (their weight is 0 and the
    others are renormalised: the softmax over the remaining logits).
    """
    n = len(sft_weights)
    shift = (
        np.zeros((n, config.action_dim))
        if action is None
        else np.asarray(action, float)
    )
    shift = np.clip(shift, -config.max_logit_shift, config.max_logit_shift)
    logits = np.log(np.maximum(sft_weights, LOG_FLOOR)) + shift[:, :N_EXPERTS]
    if expert_mask is not None:
        logits = np.where(np.asarray(expert_mask, bool)[None, :], logits, -np.inf)
    weights = softmax(logits)
    if config.pool_choice:
        pool_shift = shift[:, config.pool_slice].reshape(n, N_EXPERTS, N_REGIMES)
        pool_mix = softmax(np.log(np.maximum(pool_prior, LOG_FLOOR)) + pool_shift)
    else:
        pool_mix = np.array(pool_prior, dtype=float)
    return weights, pool_mix


def mix_exposure(
    weights: np.ndarray,
    exposures: np.ndarray,
    pool_exposures: np.ndarray,
    pool_mix: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Each expert's exposure ``(B, 4)`` and the mixed exposure ``h_raw`` ``(B,)``.

    ``pool_mix`` None keeps the experts' own exposures (the default pools);
    otherwise ``h_k = Σ_r π_kr h_kr``. Then ``h_raw = Σ_k w_k h_k``.
    """
    experts = (
        exposures if pool_mix is None else (pool_mix * pool_exposures).sum(axis=-1)
    )
    return experts, (weights * experts).sum(axis=-1)


@dataclass(frozen=True)
class StepRecord:
    """What happened at one step of ``B`` episodes (decision rows ``rows``)."""

    rows: np.ndarray
    executed_mask: np.ndarray
    weights: np.ndarray
    pool_mix: np.ndarray
    expert_exposures: np.ndarray
    exposure_scale: np.ndarray
    mixed_exposure: np.ndarray
    execution: Execution
    reward: np.ndarray
    nav: np.ndarray


class BatchRoutingEnv:
    """``B`` episodes over the panel at once (module docstring).

    Args:
        panel: the decision points.
        reward: penalty weights.
        limits: the backtest's projection limits.
        action: action configuration.
        expert_mask: ``(4,)`` bool, experts that may receive weight (ablations).
    """

    def __init__(
        self,
        panel: PanelArrays,
        reward: RewardConfig,
        limits: ExposureLimits,
        action: ActionConfig,
        expert_mask: np.ndarray | None = None,
    ) -> None:
        self.panel = panel
        self.reward_config = reward
        self.limits = limits
        self.action_config = action
        self.expert_mask = (
            None if expert_mask is None else np.asarray(expert_mask, bool)
        )
        self.state_dim = panel.z.shape[1]
        self.obs_dim = len(observation_names(self.state_dim))
        self.action_dim = action.action_dim

    def observe(self) -> np.ndarray:
        """``(B, obs_dim)`` float32 observations at the current decision rows."""
        p, rows, s = self.panel, self.rows, self.state
        n = len(rows)
        annual = np.sqrt(p.periods_per_year[rows])
        return np.concatenate(
            [
                p.z[rows],
                p.regime_probs[rows],
                p.sft_weights[rows],
                p.exposures[rows],
                p.pool_exposures[rows].reshape(n, -1),
                s.exposure[:, None],
                s.drawdown[:, None],
                (s.volatility * annual)[:, None],
                s.weights,
            ],
            axis=1,
        ).astype(np.float32)

    def reset(
        self, start_rows: np.ndarray, n_steps: np.ndarray, execution_stop: np.ndarray
    ) -> np.ndarray:
        """Start flat episodes; returns the first observations.

        Args:
            start_rows: ``(B,)`` first decision row of each episode.
            n_steps: ``(B,)`` decisions per episode (rows ``start .. start+n-1``).
            execution_stop: ``(B,)`` a decision at row ``i`` is executed (at
                the open of bar ``t+1`` = row ``i+1``) only if ``i+1 <
                execution_stop`` — the end of the segment, so that nothing is
                traded outside it (the backtest's rule: the last decision of
                a segment is never executed).
        """
        self.rows = np.asarray(start_rows, dtype=np.int64).copy()
        self.remaining = np.asarray(n_steps, dtype=np.int64).copy()
        self.execution_stop = np.asarray(execution_stop, dtype=np.int64)
        self.state = SleeveState.flat(self.panel.sft_weights[self.rows])
        return self.observe()

    def step(
        self, action: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, StepRecord]:
        """Apply ``action`` ``(B, A)`` at the current rows.

        Returns ``(next_observation, reward, done, record)``; an episode that is
        already done keeps its state and gets reward 0.
        """
        p, rows = self.panel, self.rows
        active = self.remaining > 0
        config = self.action_config
        prior = pool_priors(p.pool_prior[rows], p.regime_probs[rows], config)
        weights, pool_mix = routing(
            p.sft_weights[rows], prior, action, config, self.expert_mask
        )
        expert_exposures, mixed = mix_exposure(
            weights,
            p.exposures[rows],
            p.pool_exposures[rows],
            pool_mix if config.pool_choice or config.pool_prior != "audit" else None,
        )
        scale = exposure_scales(action, len(rows), config)
        mixed = scale * mixed
        next_rows = np.minimum(rows + 1, len(p) - 1)
        executed_mask = active & p.has_next[rows] & (rows + 1 < self.execution_stop)
        execution = execute(
            mixed,
            self.state.exposure,
            p.intraday[rows],
            p.overnight[next_rows],
            p.intraday[next_rows],
            p.cost_rate[rows],
            p.lower[rows],
            p.upper[rows],
            self.limits,
        )
        self.state, reward = advance(
            self.state, execution, weights, self.reward_config, active=executed_mask
        )
        record = StepRecord(
            rows=rows.copy(),
            executed_mask=executed_mask,
            weights=weights,
            pool_mix=pool_mix,
            expert_exposures=expert_exposures,
            exposure_scale=scale,
            mixed_exposure=mixed,
            execution=execution,
            reward=reward,
            nav=self.state.nav.copy(),
        )
        self.remaining = np.where(active, self.remaining - 1, 0)
        self.rows = np.where(active & (self.remaining > 0), rows + 1, rows)
        return self.observe(), reward, self.remaining == 0, record


class EpisodeSampler:
    """Random training episodes: an instrument uniformly, then a start uniformly
    among the rows of ``segment`` that leave ``episode_bars`` executed
    decisions inside it."""

    def __init__(self, panel: PanelArrays, segment: str, episode_bars: int) -> None:
        self.episode_bars = int(episode_bars)
        self.runs = [
            (a, b)
            for a, b in panel.segment_runs(segment)
            if b - a > self.episode_bars + 1
        ]
        if not self.runs:
            raise ValueError(
                f"no instrument has more than {self.episode_bars + 1} decision points "
                f"in the '{segment}' segment; lower expert_rl.env.episode_bars"
            )

    def sample(
        self, rng: np.random.Generator, n: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(start_rows, n_steps, execution_stop)`` for ``n`` episodes."""
        which = rng.integers(0, len(self.runs), size=n)
        first = np.array([self.runs[i][0] for i in which])
        stop = np.array([self.runs[i][1] for i in which])
        # the last decision (row s+L-1) executes at row s+L, which must be < stop
        starts = first + rng.integers(0, stop - first - self.episode_bars, size=n)
        return starts, np.full(n, self.episode_bars), stop


Policy = Callable[[np.ndarray], np.ndarray | None]


@dataclass
class Rollout:
    """Per decision row of a rollout over whole segments (arrays ``(M,)``)."""

    rows: np.ndarray
    executed_mask: np.ndarray
    weights: np.ndarray
    pool_mix: np.ndarray
    expert_exposures: np.ndarray
    exposure_scale: np.ndarray
    mixed_exposure: np.ndarray
    executed_exposure: np.ndarray
    turnover: np.ndarray
    cost: np.ndarray
    net_return: np.ndarray
    reward: np.ndarray


def rollout(
    env: BatchRoutingEnv, policy: Policy, runs: Sequence[tuple[int, int]]
) -> Rollout:
    """Run ``policy`` (observations -> actions, None = zero action) over whole
    runs ``[(first_row, stop_row)]``, one flat-start episode per run, all at once.

    Returns the records of every decision row, in run order.
    """
    starts = np.array([a for a, _ in runs])
    stops = np.array([b for _, b in runs])
    obs = env.reset(starts, stops - starts, stops)
    records: list[tuple[np.ndarray, StepRecord]] = []
    for _ in range(int((stops - starts).max())):
        active = env.remaining > 0
        obs, _, _, record = env.step(policy(obs))
        records.append((active, record))
    parts: dict[str, list[np.ndarray]] = {f.name: [] for f in fields(Rollout)}
    for active, record in records:
        parts["rows"].append(record.rows[active])
        parts["executed_mask"].append(record.executed_mask[active])
        parts["weights"].append(record.weights[active])
        parts["pool_mix"].append(record.pool_mix[active])
        parts["expert_exposures"].append(record.expert_exposures[active])
        parts["exposure_scale"].append(record.exposure_scale[active])
        parts["mixed_exposure"].append(record.mixed_exposure[active])
        done = record.executed_mask[active]
        parts["executed_exposure"].append(
            np.where(done, record.execution.executed[active], np.nan)
        )
        parts["turnover"].append(
            np.where(done, record.execution.turnover[active], np.nan)
        )
        parts["cost"].append(np.where(done, record.execution.cost[active], np.nan))
        parts["net_return"].append(
            np.where(done, record.execution.net_return[active], np.nan)
        )
        parts["reward"].append(np.where(done, record.reward[active], np.nan))
    merged = {k: np.concatenate(v) for k, v in parts.items()}
    order = np.argsort(merged["rows"], kind="stable")
    return Rollout(**{k: v[order] for k, v in merged.items()})


class RoutingEnv(gym.Env):
    """One training episode at a time as a ``gymnasium.Env`` (the batch
    environment with ``B = 1``): reset draws an instrument and a start of the
    ``segment`` with ``self.np_random``."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        panel: PanelArrays,
        reward: RewardConfig,
        limits: ExposureLimits,
        action: ActionConfig,
        segment: str = "train",
    ) -> None:
        super().__init__()
        self.batch = BatchRoutingEnv(panel, reward, limits, action)
        self.sampler = EpisodeSampler(panel, segment, action.episode_bars)
        bound = action.max_logit_shift
        self.action_space = gym.spaces.Box(
            -bound, bound, (action.action_dim,), np.float32
        )
        self.observation_space = gym.spaces.Box(
            -np.inf, np.inf, (self.batch.obs_dim,), np.float32
        )

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        obs = self.batch.reset(*self.sampler.sample(self.np_random, 1))
        return obs[0], {"row": int(self.batch.rows[0])}

    def step(self, action):
        obs, reward, done, record = self.batch.step(np.asarray(action, float)[None, :])
        wiped = bool(self.batch.state.nav[0] <= 0)
        info = {
            "row": int(record.rows[0]),
            "net_return": float(record.execution.net_return[0]),
            "executed_exposure": float(record.execution.executed[0]),
        }
        return obs[0], float(reward[0]), wiped, bool(done[0]) and not wiped, info
