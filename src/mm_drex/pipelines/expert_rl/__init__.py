"""expert_rl: SFT -> RL tuning of the routing, the MM-DREX strategy, its ablations and decision log."""

from mm_drex.pipelines.expert_rl.pipeline import create_pipeline

__all__ = ["create_pipeline"]
