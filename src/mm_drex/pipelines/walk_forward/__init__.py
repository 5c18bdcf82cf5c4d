"""walk_forward: the whole chain refitted per fold, judged on the folds'
chained test windows."""

from mm_drex.pipelines.walk_forward.pipeline import create_pipeline

__all__ = ["create_pipeline"]
