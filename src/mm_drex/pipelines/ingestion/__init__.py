"""Stage 1, ingestion: bundled real data or user files -> ohlcv, instruments, split."""

from mm_drex.pipelines.ingestion.pipeline import create_pipeline

__all__ = ["create_pipeline"]
