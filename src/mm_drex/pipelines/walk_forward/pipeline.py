"""walk_forward: the default run. The shared stages once (``shared.py``:
ingestion, raw features and text view, charts, frozen trunks), then one
modular pipeline per fold (``fold.py``: namespace ``fold_<year>``, the whole
chain refitted on the fold's own train/val, its test window backtested and
audited), then the out-of-sample record of all folds (``record.py``: main
table, significance, deflated Sharpe, costs, the per-fold table and
``walk_forward_report.md``).

``kedro run --namespaces fold_2008`` reruns one fold from the shared stages'
saved outputs. The folds come from ``ingestion.walk_forward.test_years``
(:mod:`mm_drex.pipelines.walk_forward.folds`).
"""

from __future__ import annotations

import warnings

from kedro.pipeline import Pipeline

from mm_drex.pipelines.walk_forward.fold import fold_pipeline
from mm_drex.pipelines.walk_forward.folds import fold_names
from mm_drex.pipelines.walk_forward.record import explain_pipeline, oos_pipeline
from mm_drex.pipelines.walk_forward.shared import (
    shared_inputs_pipeline,
    shared_pipeline,
)

# the record's nodes read `fold_<year>.<name>` datasets on purpose: those
# names are the folds' namespaces
warnings.filterwarnings("ignore", message="One or more dataset names contain '.'")

__all__ = [
    "create_pipeline",
    "explain_pipeline",
    "fold_pipeline",
    "shared_inputs_pipeline",
]


def create_pipeline(**kwargs) -> Pipeline:
    folds = fold_names()
    every_fold = sum((fold_pipeline(fold) for fold in folds), Pipeline([]))
    return shared_pipeline() + every_fold + oos_pipeline(folds)
