"""Stage 8, backtest: exposures -> positions -> market portfolios -> metrics."""

from mm_drex.pipelines.backtest.pipeline import create_pipeline

__all__ = ["create_pipeline"]
