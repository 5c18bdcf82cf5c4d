"""figures: plots and quantstats tearsheets of the backtest's results."""

from mm_drex.pipelines.figures.pipeline import create_pipeline

__all__ = ["create_pipeline"]
