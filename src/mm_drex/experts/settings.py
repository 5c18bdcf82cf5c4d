"""The experts stage's settings (``params:experts``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from mm_drex.config import Settings, SettingsError, setting
from mm_drex.experts.history import POOL_BY
from mm_drex.experts.robustness import AUDIT_METRICS, AUDIT_WEIGHTS
from mm_drex.experts.schema import RiskLimits
from mm_drex.experts.search import OBJECTIVES, SearchConfig
from mm_drex.experts.templates import EXPERTS


@dataclass(frozen=True)
class ExpertRiskSettings(Settings):
    """``experts.risk_limits``: every sub-strategy's exposure and turnover caps."""

    group: ClassVar[str] = "experts.risk_limits"

    max_exposure: float = setting(1.0, gt=0)
    max_turnover: float = setting(1.0, gt=0)


@dataclass(frozen=True)
class SearchSettings(Settings):
    """``experts.search``: the optuna search of each pool on train."""

    group: ClassVar[str] = "experts.search"

    seed: int = 42
    n_trials: int = setting(64, ge=1)
    n_startup_trials: int = setting(16, ge=0)
    objective: str = setting("utility", choices=OBJECTIVES)
    audit_candidates: int = setting(6, ge=1)
    pool_size: int = setting(5, ge=1)
    min_train_decisions: int = setting(250, ge=1)


@dataclass(frozen=True)
class AuditSettings(Settings):
    """``experts.audit``: the robustness score on val that admits a candidate."""

    group: ClassVar[str] = "experts.audit"

    window: int = setting(20, ge=2)
    quantile: float = setting(0.05, gt=0, lt=1)
    nudge_fraction: float = setting(0.05, gt=0, lt=1)
    min_activity: float = setting(0.05, ge=0, le=1)
    require_stable: bool = True
    weights: dict[str, float] = field(default_factory=lambda: dict(AUDIT_WEIGHTS))

    def __post_init__(self) -> None:
        super().__post_init__()
        unknown = sorted(set(self.weights) - set(AUDIT_METRICS))
        if unknown:
            raise SettingsError(
                f"parameters experts.audit.weights: unknown keys {unknown}; the "
                f"robustness metrics are {', '.join(AUDIT_METRICS)}"
            )


@dataclass(frozen=True)
class CrossFitSettings(Settings):
    """``experts.cross_fit``: train exposures from pools that never scored
    them (:mod:`mm_drex.experts.cross_fit`)."""

    group: ClassVar[str] = "experts.cross_fit"

    blocks: int = setting(2, ge=1)
    purge: int | str = 90
    n_trials: int | None = setting(None, ge=1)


@dataclass(frozen=True)
class PoolingSettings(Settings):
    """``experts.pooling``: the softmax temperature that mixes a pool's members
    by audit score."""

    group: ClassVar[str] = "experts.pooling"

    temperature: float = setting(0.2, gt=0)


@dataclass(frozen=True)
class SoftTargetSettings(Settings):
    """``experts.soft_targets``: the softmax temperature of the router's soft
    targets over the experts' forward utilities."""

    group: ClassVar[str] = "experts.soft_targets"

    temperature: float = setting(0.05, gt=0)


@dataclass(frozen=True)
class ExpertSettings(Settings):
    """``params:experts``: the experts, how pools are grouped, the risk
    aversion of the utility, the search, the audit and the mixing temperatures."""

    group: ClassVar[str] = "experts"

    experts: tuple[str, ...] = setting(EXPERTS, choices=EXPERTS)
    pool_by: str = setting("market", choices=POOL_BY)
    risk_aversion: float = setting(2.0, ge=0)
    risk_limits: ExpertRiskSettings = field(default_factory=ExpertRiskSettings)
    search: SearchSettings = field(default_factory=SearchSettings)
    audit: AuditSettings = field(default_factory=AuditSettings)
    cross_fit: CrossFitSettings = field(default_factory=CrossFitSettings)
    pooling: PoolingSettings = field(default_factory=PoolingSettings)
    soft_targets: SoftTargetSettings = field(default_factory=SoftTargetSettings)

    def search_config(self, cross_fit: bool = False) -> SearchConfig:
        """The pool search's configuration (``cross_fit``: the held-out-block
        searches', with ``cross_fit.n_trials`` trials where set)."""
        search, audit = self.search, self.audit
        n_trials = search.n_trials
        if cross_fit and self.cross_fit.n_trials is not None:
            n_trials = self.cross_fit.n_trials
        return SearchConfig(
            n_trials=n_trials,
            seed=search.seed,
            objective=search.objective,
            risk_aversion=self.risk_aversion,
            pool_size=search.pool_size,
            audit_candidates=search.audit_candidates,
            n_startup_trials=search.n_startup_trials,
            min_train_decisions=search.min_train_decisions,
            nudge_fraction=audit.nudge_fraction,
            min_activity=audit.min_activity,
            require_stable=audit.require_stable,
            audit_window=audit.window,
            audit_quantile=audit.quantile,
            audit_weights=dict(audit.weights),
            limits=RiskLimits(
                max_exposure=self.risk_limits.max_exposure,
                max_turnover=self.risk_limits.max_turnover,
            ),
        )
