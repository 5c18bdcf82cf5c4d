"""Stage 5, experts: pool search and audit -> expert exposures, soft targets, report."""

from mm_drex.pipelines.experts.pipeline import create_pipeline

__all__ = ["create_pipeline"]
