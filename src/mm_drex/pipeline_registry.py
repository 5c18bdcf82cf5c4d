"""Project pipelines.

Every folder under ``pipelines/`` is one stage of the quick single split
(``kedro run --pipeline experts`` runs that stage), except ``walk_forward``:
the shared stages, one namespaced modular pipeline per fold and the
out-of-sample report. ``__default__`` is the walk-forward protocol;
``single_split`` runs every stage once on the 60/20/20 split (development).
"""

from __future__ import annotations

import importlib
from pathlib import Path

from kedro.pipeline import Pipeline

from mm_drex.pipelines.walk_forward.folds import fold_names
from mm_drex.pipelines.walk_forward.pipeline import (
    explain_pipeline,
    fold_pipeline,
    shared_inputs_pipeline,
)

WALK_FORWARD = "walk_forward"


def register_pipelines() -> dict[str, Pipeline]:
    """The stages, ``single_split``, ``walk_forward`` (the default),
    ``walk_forward_inputs`` (what the folds read of the ingested data) and one
    pipeline per fold (``fold_<year>``: that fold's chain alone)."""
    pipelines = {name: _stage(name) for name in _stage_names()}
    stages = {name: p for name, p in pipelines.items() if name != WALK_FORWARD}
    pipelines["single_split"] = sum(stages.values(), Pipeline([]))
    pipelines["walk_forward_inputs"] = shared_inputs_pipeline()
    pipelines["explain_walk_forward"] = explain_pipeline()
    for fold in fold_names():
        pipelines[fold] = fold_pipeline(fold)
    pipelines["__default__"] = pipelines[WALK_FORWARD]
    return pipelines


def _stage_names() -> list[str]:
    folder = Path(__file__).parent / "pipelines"
    return sorted(
        p.name for p in folder.iterdir() if p.is_dir() and (p / "pipeline.py").is_file()
    )


def _stage(name: str) -> Pipeline:
    module = importlib.import_module(f"mm_drex.pipelines.{name}.pipeline")
    return module.create_pipeline()
