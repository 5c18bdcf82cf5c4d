"""The baselines stage's settings (``params:baselines``); each baseline reads
its own section of ``strategies`` (unknown keys are refused there)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from mm_drex.config import Settings, setting


@dataclass(frozen=True)
class BaselineSettings(Settings):
    """``params:baselines``: seeds of the stochastic baselines (deterministic
    ones run on the first), torch threads, and baseline name -> parameters."""

    group: ClassVar[str] = "baselines"

    seeds: tuple[int, ...] = (42,)
    # null: torch's own thread count
    num_threads: int | None = setting(None, ge=1)
    # threads of the image tower's top for the LLMoE router's chart embeddings
    tower_threads: int | None = setting(None, ge=1)
    # a val-selected candidate must be exposed on this share of the val bars
    # (the experts' activity floor, experts.audit.min_activity)
    min_activity: float = setting(0.0, ge=0, le=1)
    strategies: dict[str, dict[str, Any] | None] = field(default_factory=dict)
