"""charts: point-in-time candlestick charts of every decision point."""

from mm_drex.pipelines.charts.pipeline import create_pipeline

__all__ = ["create_pipeline"]
