"""Stage 10, reporting: results tables and figures of the backtest."""

from mm_drex.pipelines.reporting.pipeline import create_pipeline

__all__ = ["create_pipeline"]
