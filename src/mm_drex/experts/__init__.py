"""The four experts (trend, reversal, breakout, positioning) and their pools.

- :mod:`~mm_drex.experts.schema`: the typed sub-strategy schema and ``Bars``;
- :mod:`~mm_drex.experts.templates`: the twelve templates (``TEMPLATES``);
- :mod:`~mm_drex.experts.kernels`: compiled risk rules (stops, drawdown
  control, exposure cap, rebalance band, turnover bound) and hysteresis;
- :mod:`~mm_drex.experts.evaluation` / :mod:`~mm_drex.experts.robustness`: scores;
- :mod:`~mm_drex.experts.search`: optuna search + robustness audit -> pools;
- :mod:`~mm_drex.experts.pools`: pools -> one exposure per (instrument, t, expert);
- :mod:`~mm_drex.experts.soft_targets`: per-expert targets for the router;
- each expert alone on test: :mod:`mm_drex.reporting.experts`.
"""

from mm_drex.experts.history import InstrumentHistory, build_histories
from mm_drex.experts.pools import expert_exposure_table, pool_members
from mm_drex.experts.schema import (
    Bars,
    EntryExitRule,
    IndicatorSpec,
    ParamRange,
    PositionRule,
    RiskLimits,
    RiskRule,
    SubStrategyTemplate,
)
from mm_drex.experts.search import SearchConfig, build_expert_pools
from mm_drex.experts.soft_targets import expert_soft_targets
from mm_drex.experts.templates import EXPERTS, TEMPLATES, expert_templates

__all__ = [
    "EXPERTS",
    "TEMPLATES",
    "Bars",
    "EntryExitRule",
    "IndicatorSpec",
    "InstrumentHistory",
    "ParamRange",
    "PositionRule",
    "RiskLimits",
    "RiskRule",
    "SearchConfig",
    "SubStrategyTemplate",
    "build_expert_pools",
    "build_histories",
    "expert_exposure_table",
    "expert_soft_targets",
    "expert_templates",
    "pool_members",
]
