"""explain: one page explaining one MM-DREX decision (instrument, date)."""

from mm_drex.pipelines.explain.pipeline import create_pipeline

__all__ = ["create_pipeline"]
