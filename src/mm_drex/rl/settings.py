"""The RL stage's settings (``params:expert_rl``): training, the MM-DREX
strategy and its ablations, the policy comparison and the decision log."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from mm_drex.config import Settings, SettingsError, setting
from mm_drex.data.split import SEGMENTS
from mm_drex.rl.env import ActionConfig
from mm_drex.rl.ppo import CHECKPOINT_RULES, PPOConfig
from mm_drex.rl.reward import RewardConfig


@dataclass(frozen=True)
class SelectionSettings(Settings):
    """``expert_rl.selection``: penalty weights and checkpoints chosen on val.

    Each ``penalty_grid`` entry overrides keys of ``expert_rl.reward`` or
    ``expert_rl.ppo``; it is trained with the first seed, the best val score wins.
    Every checkpoint is scored on ``blocks`` contiguous blocks of the segment;
    ``checkpoint_rule`` keeps the best mean (``best``) or the earliest
    checkpoint within one standard error of it (``one_se``; the SFT router is
    the first checkpoint).
    """

    group: ClassVar[str] = "expert_rl.selection"

    segment: str = setting("val", choices=("train", "val"))
    metric: str = setting("sharpe", choices=("sharpe", "reward"))
    blocks: int = setting(1, ge=1)
    checkpoint_rule: str = setting("best", choices=CHECKPOINT_RULES)
    # null or an empty list: one entry, the configuration as it is
    penalty_grid: tuple[dict[str, Any] | None, ...] | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        allowed = {f.name for f in dataclasses.fields(RewardConfig)} | {
            f.name for f in dataclasses.fields(PPOConfig)
        }
        for index, entry in enumerate(self.penalty_grid or ()):
            unknown = sorted(set(entry or {}) - allowed)
            if unknown:
                raise SettingsError(
                    f"parameters expert_rl.selection.penalty_grid[{index}]: unknown "
                    f"keys {unknown}; the keys are those of expert_rl.reward or "
                    "expert_rl.ppo"
                )


@dataclass(frozen=True)
class StaticWeightSettings(Settings):
    """``expert_rl.strategy.static_weights``: one weight vector for all bars,
    the best point of a simplex grid on ``segment``."""

    group: ClassVar[str] = "expert_rl.strategy.static_weights"

    segment: str = setting("train", choices=("train", "val"))
    grid_step: float = setting(0.1, gt=0, le=1)


@dataclass(frozen=True)
class BestExpertSettings(Settings):
    """``expert_rl.strategy.best_single_expert``: the best expert on ``segment``
    per market (``scope: market``) or overall (``all``)."""

    group: ClassVar[str] = "expert_rl.strategy.best_single_expert"

    segment: str = setting("val", choices=("train", "val"))
    scope: str = setting("market", choices=("market", "all"))


@dataclass(frozen=True)
class StrategySettings(Settings):
    """``expert_rl.strategy``: the segments traded (each from flat at its
    start) and the ablations (:data:`mm_drex.strategy.mmdrex.ABLATIONS`)."""

    group: ClassVar[str] = "expert_rl.strategy"

    segments: tuple[str, ...] = setting(("val", "test"), choices=SEGMENTS)
    ablations: tuple[str, ...] = ()
    static_weights: StaticWeightSettings = field(default_factory=StaticWeightSettings)
    best_single_expert: BestExpertSettings = field(default_factory=BestExpertSettings)


@dataclass(frozen=True)
class ComparisonSettings(Settings):
    """``expert_rl.comparison``: trained vs random vs SFT-only policy reward."""

    group: ClassVar[str] = "expert_rl.comparison"

    # a report, not a choice: any segment
    segment: str = setting("train", choices=SEGMENTS)
    random_seed: int = 0


@dataclass(frozen=True)
class DecisionLogSettings(Settings):
    """``expert_rl.decision_log``: the MM-DREX seed whose decisions are logged."""

    group: ClassVar[str] = "expert_rl.decision_log"

    seed: int = 42


@dataclass(frozen=True)
class DiagnosticsSettings(Settings):
    """``expert_rl.diagnostics``: the oracle bounds and the routing test."""

    group: ClassVar[str] = "expert_rl.diagnostics"

    segments: tuple[str, ...] = setting(("val", "test"), choices=("val", "test"))
    fit_segment: str = setting("val", choices=("train", "val"))
    horizon: int = setting(20, ge=1)
    grid_step: float = setting(0.1, gt=0, le=1)
    permutations: int = setting(200, ge=10)
    seed: int = 0


@dataclass(frozen=True)
class RLSettings(Settings):
    """``params:expert_rl``."""

    group: ClassVar[str] = "expert_rl"

    seeds: tuple[int, ...] = (42,)
    num_threads: int = setting(1, ge=1)
    train_segment: str = setting("train", choices=("train",))
    env: ActionConfig = field(default_factory=ActionConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    ppo: PPOConfig = field(default_factory=PPOConfig)
    selection: SelectionSettings = field(default_factory=SelectionSettings)
    strategy: StrategySettings = field(default_factory=StrategySettings)
    comparison: ComparisonSettings = field(default_factory=ComparisonSettings)
    decision_log: DecisionLogSettings = field(default_factory=DecisionLogSettings)
    diagnostics: DiagnosticsSettings = field(default_factory=DiagnosticsSettings)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.seeds:
            raise SettingsError(
                "parameters expert_rl.seeds = []: give at least one seed"
            )

    @property
    def action(self) -> ActionConfig:
        return self.env

    @property
    def selection_segment(self) -> str:
        return self.selection.segment

    @property
    def selection_metric(self) -> str:
        return self.selection.metric

    @property
    def penalty_grid(self) -> tuple[dict[str, Any], ...]:
        entries = self.selection.penalty_grid or (None,)
        return tuple(dict(entry or {}) for entry in entries)

    def configured(
        self, overrides: Mapping[str, Any]
    ) -> tuple[RewardConfig, PPOConfig]:
        """Reward and PPO configurations with one grid entry's overrides."""
        reward_keys = {f.name for f in dataclasses.fields(RewardConfig)}
        group = "expert_rl.selection.penalty_grid"
        reward = {k: v for k, v in overrides.items() if k in reward_keys}
        ppo = {k: v for k, v in overrides.items() if k not in reward_keys}
        return (
            self.reward.with_overrides(reward, group),
            self.ppo.with_overrides(ppo, group),
        )
