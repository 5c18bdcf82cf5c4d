"""Stage 9, baselines: fit the 15 baselines, evaluate them through the engine."""

from mm_drex.pipelines.baselines.pipeline import create_pipeline

__all__ = ["create_pipeline"]
