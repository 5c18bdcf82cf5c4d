"""inference: the trained MM-DREX's decision for the next open at the latest bars."""

from mm_drex.pipelines.inference.pipeline import create_pipeline

__all__ = ["create_pipeline"]
