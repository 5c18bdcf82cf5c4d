"""router_sft: supervised fine-tuning of the MM-DREX router."""

from mm_drex.pipelines.router_sft.pipeline import create_pipeline

__all__ = ["create_pipeline"]
