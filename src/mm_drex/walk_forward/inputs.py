"""What one fold reads: its split, its instruments' bars up to the end of its
test window, the shared frozen trunks' rows of its decision points, and the
refitted stages' parameters with the fold's compute budget."""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from mm_drex.data.folds import fold_market_data, fold_rows, fold_split, relabel_segments
from mm_drex.router.data import pick_text_embeddings

REFITTED_STAGES = ("experts", "baselines", "router_sft", "expert_rl")
"""The stages whose parameters ``ingestion.walk_forward.stage_overrides`` may
change per fold (the order of :func:`fold_parameters`' result)."""


def fold_inputs(
    folds: pd.DataFrame,
    fold: str,
    ohlcv: pd.DataFrame,
    instruments: pd.DataFrame,
    features_raw: pd.DataFrame,
    chart_index: pd.DataFrame,
) -> tuple[pd.DataFrame, ...]:
    """``(split, ohlcv, instruments, features_raw, chart_index)`` of ``fold``:
    the instruments that join it, cut after its test window, with its segments."""
    split = fold_split(folds, fold)
    bars, joined = fold_market_data(ohlcv, instruments, split)
    cut = [
        relabel_segments(
            table.loc[fold_rows(table, split)].reset_index(drop=True), split
        )
        for table in (features_raw, chart_index)
    ]
    return (split, bars, joined, *cut)


def merge_parameters(base: Any, override: Any) -> Any:
    """``override`` merged key by key into ``base`` (mappings recursively;
    anything else replaced)."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged = dict(base)
        for key, value in override.items():
            merged[key] = merge_parameters(base[key], value) if key in base else value
        return merged
    return copy.deepcopy(override)


def fold_parameters(
    stages: Sequence[Mapping[str, Any]],
    overrides: Mapping[str, Any] | None,
    fold: str,
) -> tuple[dict[str, Any], ...]:
    """The parameters of :data:`REFITTED_STAGES` (``stages``, in that order)
    in ``fold``: each overridden by ``overrides[<stage>]``; the router's
    resumable training state in a folder of the fold's own."""
    overrides = overrides or {}
    unknown = sorted(set(overrides) - set(REFITTED_STAGES))
    if unknown:
        raise ValueError(
            f"parameters ingestion.walk_forward.stage_overrides: unknown stage(s) "
            f"{unknown}; the refitted stages are {list(REFITTED_STAGES)}"
        )
    out = {
        name: merge_parameters(dict(params), overrides.get(name) or {})
        for name, params in zip(REFITTED_STAGES, stages, strict=True)
    }
    checkpoints = out["router_sft"].get("checkpoint_dir")
    if checkpoints:
        out["router_sft"]["checkpoint_dir"] = str(Path(checkpoints) / fold)
    return tuple(out[name] for name in REFITTED_STAGES)


def fold_chart_trunk(
    chart_index: pd.DataFrame,
    split: pd.DataFrame,
    chart_trunk: Mapping[str, torch.Tensor],
) -> dict[str, torch.Tensor]:
    """The rows of the shared image-trunk features (one per ``chart_index``
    row) of the fold's decision points."""
    rows = torch.from_numpy(np.flatnonzero(fold_rows(chart_index, split)))
    return {
        **chart_trunk,
        "features": chart_trunk["features"].index_select(0, rows).contiguous(),
    }


def fold_text_embeddings(
    router_texts: pd.DataFrame,
    shared_texts: pd.DataFrame,
    shared_embeddings: Mapping[str, torch.Tensor],
) -> dict[str, torch.Tensor]:
    """The shared text embeddings of the fold's distinct text views, in the
    fold's ``text_id`` order."""
    picked = pick_text_embeddings(
        shared_embeddings["embeddings"].numpy(), shared_texts, router_texts
    )
    return {"embeddings": torch.from_numpy(np.ascontiguousarray(picked))}
