"""labeling: forward regime labels (targets only) and their distribution report."""

from mm_drex.pipelines.labeling.pipeline import create_pipeline

__all__ = ["create_pipeline"]
