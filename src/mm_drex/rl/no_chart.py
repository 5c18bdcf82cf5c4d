"""The weights of the router trained without the chart view (an ablation).

The router stage trains a compact router on the text and temporal views only
(``params:router_sft.ablations.no_chart``) and, today, exports only its regime
predictions. MM-DREX's "router without the chart view" ablation needs its
expert weights, so this module uses them where the router stage exported
them (``w_<expert>`` columns for model ``no_chart``), and otherwise trains the
same router with the router library: the compact backend with the no-chart
views, the router stage's seed, training settings, fitting rows (labelled
train decision points) and validation rows (epoch selection), from the router
stage's frozen caches. Deterministic, about 10 s on one core; the test
segment is only predicted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from mm_drex.router import (
    EXPERTS,
    REGIMES,
    RouterInputs,
    RuntimeConfig,
    TrainingConfig,
    configure_torch,
    make_backend,
)
from mm_drex.router.data import KEY_COLUMNS, SOFT_TARGET_COLUMNS, training_rows

NO_CHART = "no_chart"
DEFAULT_VIEWS = ("text", "temporal")
WEIGHT_COLUMNS = [
    *KEY_COLUMNS,
    *[f"p_{r}" for r in REGIMES],
    *[f"w_{e}" for e in EXPERTS],
]


def exported_weights(router_ablation_predictions: pd.DataFrame) -> pd.DataFrame | None:
    """The no-chart router's weights if the router stage exported them."""
    table = router_ablation_predictions
    needed = {"model", *[f"w_{e}" for e in EXPERTS]}
    if not needed <= set(table.columns):
        return None
    rows = table[table["model"] == NO_CHART]
    if rows.empty:
        return None
    columns = [c for c in WEIGHT_COLUMNS if c in rows.columns]
    return rows[columns].reset_index(drop=True)


def train_no_chart_router(
    points: pd.DataFrame,
    texts: pd.DataFrame,
    temporal: np.ndarray,
    text_embeddings: np.ndarray,
    feature_names: Sequence[str],
    router_params: Mapping[str, Any],
    segments: Sequence[str] = ("val", "test"),
    num_threads: int | None = None,
) -> pd.DataFrame:
    """Train the compact no-chart router and predict ``segments``.

    Args:
        points: ``router_decision_points`` (keys, text_id, regime_id, soft targets).
        texts: ``router_texts``; temporal: ``router_temporal``;
        text_embeddings: ``router_text_embeddings["embeddings"]`` as an array.
        feature_names: the temporal feature columns.
        router_params: ``params:router_sft`` (seed, threads, training,
            compact settings, ``ablations.no_chart`` views).
        num_threads: torch threads (default: the router stage's); one thread
            avoids the thread contention of a shared machine.

    Returns:
        ``instrument, timestamp, segment, p_<regime>, w_<expert>`` on ``segments``.
    """
    runtime = RuntimeConfig(
        seed=int(router_params["seed"]),
        num_threads=int(num_threads or router_params["num_threads"]),
        device=str(router_params["device"]),
        precision=str(router_params["precision"]),
    )
    configure_torch(runtime)
    compact = dict(router_params["compact"])
    overrides = dict(compact.get("training") or {})
    training = TrainingConfig.from_params({**router_params["training"], **overrides})
    views = list((router_params.get("ablations") or {}).get(NO_CHART) or DEFAULT_VIEWS)
    if "chart" in views:
        raise ValueError(
            f"router_sft.ablations.no_chart must not use the chart view, got {views}"
        )
    inputs = RouterInputs(
        keys=points[KEY_COLUMNS].reset_index(drop=True),
        temporal=temporal,
        text_ids=points["text_id"].to_numpy(dtype=np.int64),
        texts=texts.sort_values("text_id")["text"].tolist(),
        text_embeddings=np.asarray(text_embeddings, dtype=np.float32),
        regime_id=points["regime_id"].to_numpy(dtype=np.int64),
        soft_targets=points[SOFT_TARGET_COLUMNS].to_numpy(dtype=np.float32),
    )
    fit = training_rows(inputs, "train", training.max_train_samples, runtime.seed)
    select = np.flatnonzero(
        (inputs.keys["segment"].to_numpy() == "val") & (inputs.regime_id >= 0)
    )
    backend = make_backend(
        "compact",
        compact,
        runtime,
        list(feature_names),
        int(router_params["temporal"]["steps"]),
        modalities=views,
    )
    backend.fit(
        inputs.subset(fit), inputs.subset(select), training, None, run_name=NO_CHART
    )
    scored = np.flatnonzero(np.isin(inputs.keys["segment"].to_numpy(), list(segments)))
    prediction = backend.predict(
        inputs.subset(scored),
        batch_size=int(router_params.get("predict_batch_size", 512)),
    )
    out = inputs.keys.iloc[scored].reset_index(drop=True)
    for i, regime in enumerate(REGIMES):
        out[f"p_{regime}"] = prediction.regime_probs[:, i].astype(np.float32)
    for k, expert in enumerate(EXPERTS):
        out[f"w_{expert}"] = prediction.weights[:, k].astype(np.float32)
    return out[WEIGHT_COLUMNS]
