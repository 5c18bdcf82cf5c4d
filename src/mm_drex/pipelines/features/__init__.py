"""features: causal indicators, long-term temporal features and the text view."""

from mm_drex.pipelines.features.pipeline import create_pipeline

__all__ = ["create_pipeline"]
