"""The MM-DREX strategy and its ablations as exposure paths.

MM-DREX: at each decision the trained policy adjusts the SFT router's logits
and each expert's pool choice (:mod:`mm_drex.rl.env`); the final weights mix
the experts' exposures ``h_raw = Σ_k w_k h_k``. The sleeve state is part of
the policy's observation, so the path is rolled out decision by decision from
flat at the start of each evaluated segment — exactly as the backtest engine
then executes it (projection, next-open execution, costs).

Ablations (each executed by the same engine):

| strategy | weights |
|---|---|
| ``mm_drex_uniform_weights`` | 1/4 each |
| ``mm_drex_static_weights`` | one vector learned on train (simplex grid) |
| ``mm_drex_best_single_expert`` | the validation-best expert (per market) |
| ``mm_drex_sft_only`` | the SFT router's weights, default pools (no RL) |
| ``mm_drex_no_chart`` | the weights of the router trained without the chart view |
| ``mm_drex_no_positioning`` | the trained policy with the positioning expert removed |

The policy-based strategies run once per seed; the others are deterministic
and carry the first seed.
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
from mm_drex.backtest.sleeves import EXPOSURE_COLUMNS
from mm_drex.experts.templates import EXPERTS
from mm_drex.regimes.labels import REGIMES
from mm_drex.rl.env import BatchRoutingEnv, rollout
from mm_drex.rl.panel import PanelArrays
from mm_drex.rl.ppo import torch_policy
from mm_drex.rl.settings import RLSettings, StrategySettings
from mm_drex.rl.training import LoadedPolicies, load_policies
from mm_drex.strategy.mixing import (
    best_single_expert,
    learned_static_weights,
    single_expert_weights,
)

STRATEGY = "mm_drex"
ABLATIONS = {
    "uniform_weights": "mm_drex_uniform_weights",
    "static_weights": "mm_drex_static_weights",
    "best_single_expert": "mm_drex_best_single_expert",
    "sft_only": "mm_drex_sft_only",
    "no_chart": "mm_drex_no_chart",
    "no_positioning": "mm_drex_no_positioning",
}
ROUTING_COLUMNS = [
    "strategy",
    "seed",
    "instrument",
    "timestamp",
    "segment",
    *[f"w_{e}" for e in EXPERTS],
    *[f"exposure_{e}" for e in EXPERTS],
    *[f"pool_{e}" for e in EXPERTS],
    "exposure_scale",
    "mixed_exposure",
    "reward",
]


@dataclass
class StrategyPath:
    """One strategy's decisions on some panel rows (arrays over ``M`` rows)."""

    strategy: str
    seed: int
    rows: np.ndarray
    weights: np.ndarray  # (M, 4) final routing weights
    pool_mix: np.ndarray  # (M, 4, 3) each expert's mix of its regime pools
    expert_exposures: np.ndarray  # (M, 4)
    mixed_exposure: np.ndarray  # (M,) κ·h_raw, the target before projection
    exposure_scale: np.ndarray  # (M,) κ, the policy's exposure scale
    reward: np.ndarray  # (M,) the RL reward of the decision (NaN: not executed)


def _segment_runs(panel: PanelArrays, segments: Sequence[str]) -> list[tuple[int, int]]:
    return [run for segment in segments for run in panel.segment_runs(segment)]


def policy_path(
    panel: PanelArrays,
    policies: LoadedPolicies,
    seed: int,
    segments: Sequence[str],
    limits: ExposureLimits,
    strategy: str = STRATEGY,
    expert_mask: np.ndarray | None = None,
) -> StrategyPath:
    """The trained policy of ``seed`` trading each segment run from flat."""
    env = BatchRoutingEnv(panel, policies.reward, limits, policies.action, expert_mask)
    policy = torch_policy(policies.model(seed))
    result = rollout(env, policy, _segment_runs(panel, segments))
    return StrategyPath(
        strategy,
        seed,
        result.rows,
        result.weights,
        result.pool_mix,
        result.expert_exposures,
        result.mixed_exposure,
        result.exposure_scale,
        result.reward,
    )


def fixed_path(
    panel: PanelArrays,
    weights: np.ndarray,
    segments: Sequence[str],
    strategy: str,
    seed: int,
) -> StrategyPath:
    """Weights ``(N, 4)`` (or ``(4,)``) that do not depend on the sleeve, with
    the experts' default pools: ``h_raw = Σ_k w_k h_k``."""
    rows = np.concatenate([np.arange(a, b) for a, b in _segment_runs(panel, segments)])
    weights = np.broadcast_to(np.asarray(weights, float), (len(panel), len(EXPERTS)))[
        rows
    ]
    exposures = panel.exposures[rows]
    return StrategyPath(
        strategy,
        seed,
        rows,
        np.array(weights),
        np.array(panel.pool_prior[rows]),
        exposures,
        (weights * exposures).sum(axis=1),
        np.ones(len(rows)),
        np.full(len(rows), np.nan),
    )


def strategy_paths(
    panel: PanelArrays,
    policies: LoadedPolicies,
    limits: ExposureLimits,
    settings: StrategySettings | Mapping[str, Any],
) -> tuple[list[StrategyPath], pd.DataFrame]:
    """MM-DREX (every seed) and the configured ablations on ``segments``.

    Args:
        settings: ``params:expert_rl.strategy``: ``segments`` (e.g. [val,
            test]), ``ablations`` (names of :data:`ABLATIONS`),
            ``static_weights`` (``segment``, ``grid_step``),
            ``best_single_expert`` (``segment``, ``scope``).

    Returns:
        ``(paths, choices)``: choices records what the learned ablations chose
        (static weights, best single expert per market) and on which segment.
    """
    settings = StrategySettings.of(settings)
    segments = list(settings.segments)
    ablations = list(settings.ablations)
    unknown = sorted(set(ablations) - set(ABLATIONS))
    if unknown:
        raise ValueError(
            f"parameters expert_rl.strategy.ablations: unknown {unknown}; known: {list(ABLATIONS)}"
        )
    seeds = sorted(policies.models)
    first = seeds[0]
    paths = [policy_path(panel, policies, s, segments, limits) for s in seeds]
    choices = []
    for name in ablations:
        strategy = ABLATIONS[name]
        if name == "uniform_weights":
            weights = np.full(len(EXPERTS), 1.0 / len(EXPERTS))
            paths.append(fixed_path(panel, weights, segments, strategy, first))
        elif name == "static_weights":
            segment = settings.static_weights.segment
            weights, _ = learned_static_weights(
                panel, limits, segment, settings.static_weights.grid_step
            )
            paths.append(fixed_path(panel, weights, segments, strategy, first))
            choices.append(
                {
                    "strategy": strategy,
                    "chosen_on": segment,
                    "market": "all",
                    "choice": ", ".join(
                        f"{e}={w:.2f}" for e, w in zip(EXPERTS, weights, strict=True)
                    ),
                }
            )
        elif name == "best_single_expert":
            segment = settings.best_single_expert.segment
            choice, _ = best_single_expert(
                panel, limits, segment, settings.best_single_expert.scope
            )
            weights = single_expert_weights(panel, choice)
            paths.append(fixed_path(panel, weights, segments, strategy, first))
            choices += [
                {"strategy": strategy, "chosen_on": segment, "market": m, "choice": e}
                for m, e in choice.items()
            ]
        elif name == "sft_only":
            paths.append(
                fixed_path(panel, panel.sft_weights, segments, strategy, first)
            )
        elif name == "no_chart":
            if "no_chart" not in panel.extra_weights:
                raise ValueError(
                    "ablation no_chart needs the weights of a router trained without "
                    "the chart view (panel columns w_no_chart_<expert>)"
                )
            weights = panel.extra_weights["no_chart"]
            rows = np.concatenate(
                [np.arange(a, b) for a, b in _segment_runs(panel, segments)]
            )
            if np.isnan(weights[rows]).any():
                row = rows[np.isnan(weights[rows]).any(axis=1)][0]
                raise ValueError(
                    f"ablation no_chart: no weights for instrument {panel.instrument[row]} "
                    f"at decision row {row} (segment {panel.segment[row]})"
                )
            paths.append(fixed_path(panel, weights, segments, strategy, first))
        elif name == "no_positioning":
            mask = np.array([e != "positioning" for e in EXPERTS])
            paths += [
                policy_path(panel, policies, s, segments, limits, strategy, mask)
                for s in seeds
            ]
    table = pd.DataFrame(choices, columns=["strategy", "chosen_on", "market", "choice"])
    return paths, table


def exposure_table(panel: pd.DataFrame, paths: Sequence[StrategyPath]) -> pd.DataFrame:
    """The engine's input contract: ``strategy, seed, instrument, timestamp,
    target_exposure`` (the target before projection, decided at the close)."""
    frames = [
        pd.DataFrame(
            {
                "strategy": path.strategy,
                "seed": np.int64(path.seed),
                "instrument": panel["instrument"].to_numpy()[path.rows],
                "timestamp": panel["timestamp"].to_numpy()[path.rows],
                "target_exposure": path.mixed_exposure,
            }
        )
        for path in paths
    ]
    return pd.concat(frames, ignore_index=True)[EXPOSURE_COLUMNS]


def routing_table(panel: pd.DataFrame, paths: Sequence[StrategyPath]) -> pd.DataFrame:
    """Per strategy, seed and decision: final weights, each expert's exposure
    and main regime pool, the mixed exposure and the RL reward."""
    regimes = np.asarray(REGIMES, dtype=object)
    frames = []
    for path in paths:
        frame = {
            "strategy": path.strategy,
            "seed": np.int64(path.seed),
            "instrument": panel["instrument"].to_numpy()[path.rows],
            "timestamp": panel["timestamp"].to_numpy()[path.rows],
            "segment": panel["segment"].to_numpy()[path.rows],
        }
        for k, expert in enumerate(EXPERTS):
            frame[f"w_{expert}"] = path.weights[:, k]
        for k, expert in enumerate(EXPERTS):
            frame[f"exposure_{expert}"] = path.expert_exposures[:, k]
        for k, expert in enumerate(EXPERTS):
            frame[f"pool_{expert}"] = regimes[path.pool_mix[:, k].argmax(axis=1)]
        frame["exposure_scale"] = path.exposure_scale
        frame["mixed_exposure"] = path.mixed_exposure
        frame["reward"] = path.reward
        frames.append(pd.DataFrame(frame))
    table = pd.concat(frames, ignore_index=True)[ROUTING_COLUMNS]
    for column in (
        "strategy",
        "instrument",
        "segment",
        *[f"pool_{e}" for e in EXPERTS],
    ):
        table[column] = table[column].astype(str)
    return table


def mmdrex_exposures(
    rl_panel: pd.DataFrame,
    instruments: pd.DataFrame,
    rl_policy: Mapping[str, torch.Tensor],
    rl_policy_config: Mapping[str, Any],
    settings: RLSettings,
    backtest: BacktestSettings,
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """MM-DREX (every seed) and its ablations on the RL stage's panel.

    The no-chart ablation is left out when the panel holds no weights of a
    router trained without the chart view (``router_sft.ablations`` has no
    ``no_chart``); the MM-DREX report says so.

    Returns ``mmdrex_exposures`` (the engine's input), ``mmdrex_routing``
    (weights, experts' exposures, pools per decision) and what the learned
    ablations chose.
    """
    torch.set_num_threads(settings.num_threads)
    panel = PanelArrays.for_backtest(rl_panel, instruments, backtest)
    policies = load_policies(rl_policy, rl_policy_config)
    strategy = settings.strategy
    if "no_chart" in strategy.ablations and "no_chart" not in panel.extra_weights:
        kept = tuple(a for a in strategy.ablations if a != "no_chart")
        strategy = dataclasses.replace(strategy, ablations=kept)
    paths, choices = strategy_paths(panel, policies, backtest.limits, strategy)
    return exposure_table(rl_panel, paths), routing_table(rl_panel, paths), choices
