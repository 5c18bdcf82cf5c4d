"""audit: the decision log of MM-DREX and its audit trail."""

from mm_drex.pipelines.audit.pipeline import create_pipeline

__all__ = ["create_pipeline"]
