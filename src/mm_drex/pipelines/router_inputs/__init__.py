"""router_inputs: what the router sees at each decision point, computed once."""

from mm_drex.pipelines.router_inputs.pipeline import create_pipeline

__all__ = ["create_pipeline"]
