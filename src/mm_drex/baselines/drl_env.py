"""A FinRL-style trading environment and the deep-RL baselines built on it.

**Environment** (:class:`TradingEnv`, gymnasium). One episode trades one
instrument of the pool over a stretch of its **train** segment
(``episode_bars`` bars from a random start; the instrument is drawn at
random too). At the close of bar ``t`` the agent observes the normalised
causal features of ``t`` and the exposure it currently holds, and chooses a
target exposure:

- continuous (PPO, A2C): ``a`` in ``[-1, 1]`` is the exposure;
- discrete (DQN): long / flat / short = ``+1 / 0 / -1``.

A short is cut to flat where the instrument does not allow shorts, and the
run's exposure bounds apply. The order executes at the **open of t+1** and
the reward is the sleeve's after-cost net return over bar ``t+1`` computed by
the backtest engine's own accounting (:func:`mm_drex.backtest.engine.account`:
drift, cost on the traded notional, overnight and intraday legs), times
``reward_scale``. As in FinRL, the reward is the change of portfolio value.

**Agents** (:class:`DrlAgent`): a stable-baselines3 algorithm trained for
``total_timesteps`` steps in chunks of ``eval_every``; after each chunk the
deterministic policy trades the **val** segment of every pool instrument
(from flat at its first bar) and the checkpoint with the best mean val
Sharpe is kept. Pooled over the universe by default: one agent per seed.

**Inference** is sequential (the position is part of the observation): the
deterministic policy trades the whole history from bar 0, flat during the
first ``min_history`` bars; the exposure at ``t`` depends on bars ``<= t``
only. The policy network is evaluated with a numpy copy of its layers (the
same weights; ~20x faster than a torch call per bar).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import gymnasium as gym
import numpy as np
import pandas as pd
import torch
from torch import nn

from mm_drex.backtest.engine import BPS, account, asset_returns
from mm_drex.backtest.projection import exposure_bounds
from mm_drex.baselines.base import InstrumentContext, segment_sharpe
from mm_drex.baselines.data import InstrumentData
from mm_drex.baselines.learned import features_of, prepare_instrument
from mm_drex.baselines.pooled import PooledBaseline, limited_threads

DISCRETE_EXPOSURES = np.array([-1.0, 0.0, 1.0])


@dataclass(frozen=True)
class MarketStream:
    """What the environment needs of one instrument (arrays over its history)."""

    instrument: str
    features: np.ndarray  # (T, F) float32, normalised
    overnight: np.ndarray  # (T,) close t-1 -> open t
    intraday: np.ndarray  # (T,) open t -> close t
    cost_rate: float
    lower: float  # exposure bounds after shorts and limits
    upper: float
    train_rows: np.ndarray  # bar indices of the train segment, ascending

    @classmethod
    def build(
        cls,
        bars: pd.DataFrame,
        context: InstrumentContext,
        features: np.ndarray,
        train_rows: np.ndarray | None = None,
    ) -> MarketStream:
        """The stream of one instrument's bars; ``train_rows`` are the bars
        episodes may trade (none when the stream is only for inference)."""
        overnight, intraday = asset_returns(
            bars["open"].to_numpy(dtype=np.float64),
            bars["close"].to_numpy(dtype=np.float64),
        )
        lower, upper = exposure_bounds(
            np.array([context.allow_short]), context.limits.max_gross_exposure
        )
        return cls(
            context.instrument,
            features,
            np.nan_to_num(overnight),
            np.nan_to_num(intraday),
            context.cost_bps * BPS,
            float(lower[0]),
            float(upper[0]),
            np.zeros(0, dtype=np.int64) if train_rows is None else train_rows,
        )

    def bounded(self, exposure: float) -> float:
        return float(min(max(exposure, self.lower), self.upper))


def step_return(stream: MarketStream, t: int, held: float, target: float) -> float:
    """After-cost net return of bar ``t+1`` when ``held`` was executed at the
    open of ``t`` and ``target`` (decided at the close of ``t``) at the open
    of ``t+1``: the engine's accounting on the three bars ``t-1, t, t+1``."""
    rows = slice(t - 1, t + 2)
    exposure = np.array([[0.0], [held], [target]])
    _, _, net_return, _ = account(
        exposure,
        stream.overnight[rows, None],
        stream.intraday[rows, None],
        stream.cost_rate,
    )
    return float(net_return[2, 0])


class TradingEnv(gym.Env):
    """FinRL-style one-instrument trading on the train segments (module docstring)."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self,
        streams: Sequence[MarketStream],
        discrete: bool,
        episode_bars: int = 252,
        reward_scale: float = 100.0,
    ) -> None:
        super().__init__()
        self.streams = [s for s in streams if len(s.train_rows) > 2]
        if not self.streams:
            raise ValueError("TradingEnv: no instrument has train bars to trade")
        n_features = self.streams[0].features.shape[1]
        self.observation_space = gym.spaces.Box(
            -np.inf, np.inf, (n_features + 1,), np.float32
        )
        self.action_space = (
            gym.spaces.Discrete(3)
            if discrete
            else gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        )
        self.discrete = discrete
        self.episode_bars = int(episode_bars)
        self.reward_scale = float(reward_scale)

    def _observation(self) -> np.ndarray:
        return observation(self.stream.features[self.t], self.position)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self.stream = self.streams[int(self.np_random.integers(len(self.streams)))]
        rows = self.stream.train_rows
        # start at a train bar that has a previous bar and leaves >= 1 step
        first = max(int(rows[0]), 1)
        last = int(rows[-1]) - 1
        self.t = int(
            self.np_random.integers(first, max(first, last - self.episode_bars) + 1)
        )
        self.end = min(self.t + self.episode_bars, last)
        self.position = 0.0
        return self._observation(), {}

    def step(self, action):
        target = self.stream.bounded(action_exposure(action, self.discrete))
        reward = step_return(self.stream, self.t, self.position, target)
        self.position = target
        self.t += 1
        truncated = self.t >= self.end
        return self._observation(), reward * self.reward_scale, False, truncated, {}


def observation(features: np.ndarray, position: float) -> np.ndarray:
    return np.append(features, np.float32(position)).astype(np.float32)


def action_exposure(action: Any, discrete: bool) -> float:
    """The exposure an action asks for (before bounds)."""
    if discrete:
        return float(DISCRETE_EXPOSURES[int(np.asarray(action).reshape(-1)[0])])
    return float(
        np.clip(np.asarray(action, dtype=np.float64).reshape(-1)[0], -1.0, 1.0)
    )


class NumpyPolicy:
    """Deterministic action of an SB3 policy from a numpy copy of its layers.

    ``layers`` is a list of ``("linear", W, b)`` / ``("tanh",)`` / ``("relu",)``;
    continuous policies output the Gaussian mean (clipped to ``[-1, 1]`` as SB3
    does), discrete ones the argmax of the Q-values.
    """

    def __init__(self, layers: list[tuple], discrete: bool) -> None:
        self.layers = layers
        self.discrete = discrete

    @classmethod
    def from_modules(cls, modules: Sequence[nn.Module], discrete: bool) -> NumpyPolicy:
        layers: list[tuple] = []
        for module in modules:
            for layer in (
                module.modules() if isinstance(module, nn.Sequential) else [module]
            ):
                if isinstance(layer, nn.Linear):
                    layers.append(
                        (
                            "linear",
                            layer.weight.detach().double().numpy().T.copy(),
                            layer.bias.detach().double().numpy().copy(),
                        )
                    )
                elif isinstance(layer, nn.Tanh):
                    layers.append(("tanh",))
                elif isinstance(layer, nn.ReLU):
                    layers.append(("relu",))
                elif not isinstance(layer, nn.Sequential):
                    raise TypeError(f"NumpyPolicy: unsupported layer {layer}")
        return cls(layers, discrete)

    def __call__(self, obs: np.ndarray) -> float:
        x = obs.astype(np.float64)
        for layer in self.layers:
            if layer[0] == "linear":
                x = x @ layer[1] + layer[2]
            elif layer[0] == "tanh":
                x = np.tanh(x)
            else:
                x = np.maximum(x, 0.0)
        if self.discrete:
            return float(DISCRETE_EXPOSURES[int(np.argmax(x))])
        return float(np.clip(x[0], -1.0, 1.0))


def run_policy(
    policy: NumpyPolicy, stream: MarketStream, start: int, stop: int
) -> np.ndarray:
    """Exposures of the policy trading bars ``start..stop-1`` from flat (0 elsewhere)."""
    exposure = np.zeros(len(stream.features))
    position = 0.0
    for t in range(start, stop):
        position = stream.bounded(policy(observation(stream.features[t], position)))
        exposure[t] = position
    return exposure


class DrlAgent(PooledBaseline):
    """Base of the SB3 agents (module docstring).

    Parameters: ``total_timesteps``, ``eval_every``, ``episode_bars``,
    ``reward_scale``, ``net_arch``, ``num_threads``, ``min_history``,
    ``pooling`` and ``algorithm`` (keyword arguments of the SB3 class,
    e.g. ``learning_rate``, ``n_steps``, ``gamma``).
    """

    deterministic = False
    default_pooling = "universe"
    discrete: bool = False

    @abstractmethod
    def make_model(self, env: gym.Env, algorithm: Mapping[str, Any]) -> Any:
        """The SB3 model on ``env`` (seeded with ``self.seed``)."""

    @abstractmethod
    def policy_modules(self, model: Any) -> list[nn.Module]:
        """The modules mapping an observation to the action (in order)."""

    @property
    def min_history(self) -> int:
        return int(self.params.get("min_history", 100))

    def _streams(self, histories: list[InstrumentData]) -> list[MarketStream]:
        streams = []
        self.scalers_ = {}
        for history in histories:
            prepared = prepare_instrument(history, self.params)
            self.scalers_[history.instrument] = prepared.scaler
            rows = np.flatnonzero(history.segment == "train")
            streams.append(
                MarketStream.build(
                    history.bars,
                    history.context,
                    prepared.features,
                    rows[rows >= self.min_history],
                )
            )
        return streams

    def _val_scores(self, policy: NumpyPolicy, streams, histories) -> dict[str, float]:
        scores = {}
        for stream, history in zip(streams, histories, strict=True):
            rows = np.flatnonzero(history.segment == "val")
            exposure = run_policy(policy, stream, int(rows[0]), int(rows[-1]) + 1)
            scores[history.instrument] = float(
                segment_sharpe(
                    exposure[:, None], history.bars, history.segment, history.context
                )[0]
            )
        return scores

    def _fit_pool(self, histories: list[InstrumentData]) -> Self:
        streams = self._streams(histories)
        env = TradingEnv(
            streams,
            self.discrete,
            episode_bars=int(self.params.get("episode_bars", 252)),
            reward_scale=float(self.params.get("reward_scale", 100.0)),
        )
        total = int(self.params.get("total_timesteps", 20000))
        every = int(self.params.get("eval_every", 5000))
        algorithm = dict(self.params.get("algorithm") or {})
        algorithm.setdefault(
            "policy_kwargs", {"net_arch": list(self.params.get("net_arch", [64, 64]))}
        )
        with limited_threads(self.params.get("num_threads", 1)):
            model = self.make_model(env, algorithm)
            best = (-np.inf, None, 0, {})
            done = 0
            while done < total:
                chunk = min(every, total - done)
                model.learn(chunk, reset_num_timesteps=done == 0)
                done += chunk
                policy = NumpyPolicy.from_modules(
                    self.policy_modules(model), self.discrete
                )
                scores = self._val_scores(policy, streams, histories)
                mean = float(
                    np.mean([s if np.isfinite(s) else 0.0 for s in scores.values()])
                )
                if mean > best[0]:
                    best = (mean, policy, done, scores)
        self.val_sharpe_, self.policy_, self.timesteps_, self.scores_ = best
        self.selected_ = {h.instrument: {} for h in histories}
        return self

    def exposure_for(
        self, bars: pd.DataFrame, context: InstrumentContext
    ) -> np.ndarray:
        features = features_of(
            bars, context, self.scalers_[context.instrument], self.params
        )
        stream = MarketStream.build(bars, context, features)
        return run_policy(
            self.policy_, stream, min(self.min_history, len(bars)), len(bars)
        )

    def shared_params(self) -> dict[str, Any]:
        return {
            **super().shared_params(),
            "checkpoint_timesteps": self.timesteps_,
            "val_mean_sharpe": self.val_sharpe_,
        }


def torch_policy_modules(policy: nn.Module) -> list[nn.Module]:
    """Actor path of an SB3 ``ActorCriticPolicy`` (flatten extractor assumed)."""
    return [policy.mlp_extractor.policy_net, policy.action_net]


def sb3_seeded(algorithm: Mapping[str, Any], seed: int) -> dict[str, Any]:
    """SB3 keyword arguments with the seed, CPU device and no logging."""
    torch.manual_seed(seed)
    return {**algorithm, "seed": seed, "device": "cpu", "verbose": 0}
