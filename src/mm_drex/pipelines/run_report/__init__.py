"""run_report: report.md gathering every table of the run, and the tracked
headline metrics."""

from mm_drex.pipelines.run_report.pipeline import create_pipeline

__all__ = ["create_pipeline"]
