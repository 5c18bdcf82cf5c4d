"""The router's inputs and outputs as tables: one module every caller uses.

- **runtime**: :func:`start_runtime` (seed, threads, deterministic kernels);
- **frozen caches**: :func:`embed_texts` and :func:`encode_chart_trunk`
  (computed once per decision point, read shard by shard);
- **inputs**: :func:`router_inputs` assembles and checks
  :class:`~mm_drex.router.data.RouterInputs` from the cached tables;
- **fitting**: :func:`fit_rows` (labelled train rows, val rows for selection)
  and :func:`fit_backend`;
- **outputs**: :func:`prediction_tables` turns a
  :class:`~mm_drex.router.compact.RouterPrediction` into ``router_weights``
  (keys, ``p_<regime>``, ``w_<expert>``, rationale) and ``router_states``
  (keys, ``z_00 ...``, the column names of
  :func:`~mm_drex.router.data.state_column_names`).

The router stage (training, prediction, ablations) and live inference call
these, so that a decision point is seen the same way everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch

from mm_drex.features.sequence import FeatureSequences
from mm_drex.router.backends import load_backend, make_backend
from mm_drex.router.compact import RouterPrediction
from mm_drex.router.data import (
    EXPERTS,
    KEY_COLUMNS,
    REGIMES,
    SOFT_TARGET_COLUMNS,
    RouterInputs,
    state_column_names,
    strided_sequences,
    training_rows,
)
from mm_drex.router.settings import RouterSettings
from mm_drex.router.towers import ImageTower, TextTower
from mm_drex.router.train import RuntimeConfig, TrainingConfig, configure_torch

ChartShards = Mapping[str, Callable[[], np.ndarray]]


def start_runtime(
    settings: RouterSettings, num_threads: int | None = None
) -> RuntimeConfig:
    """The router's runtime, with torch's threads, seed and deterministic
    kernels set (same seed -> same numbers on CPU)."""
    runtime = settings.runtime(num_threads)
    configure_torch(runtime)
    return runtime


# ---- frozen caches -------------------------------------------------------------


def chart_batches(
    points: pd.DataFrame, chart_shards: ChartShards, rows: np.ndarray | None = None
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(positions, charts)`` shard by shard (one shard in memory) for
    the decision points ``points`` (``shard``, ``row_in_shard``), or their
    ``rows``; ``positions`` index ``points``."""
    selected = points if rows is None else points.iloc[rows]
    positions = np.arange(len(points)) if rows is None else np.asarray(rows)
    for shard, group in selected.groupby("shard", sort=True):
        if shard not in chart_shards:
            raise KeyError(f"chart shard '{shard}' is missing from chart_shards")
        array = chart_shards[shard]()
        where = selected.index.get_indexer(group.index)
        yield positions[where], array[group["row_in_shard"].to_numpy()]


def embed_texts(
    texts: pd.DataFrame, settings: RouterSettings, runtime: RuntimeConfig
) -> dict[str, torch.Tensor]:
    """Frozen MiniLM embedding of each distinct text view (``router_texts``)."""
    compact = settings.compact
    tower = TextTower(
        compact.text_max_tokens, compact.text_batch_size, str(runtime.torch_device)
    )
    return {"embeddings": torch.from_numpy(tower.encode(texts["text"].tolist()))}


def encode_chart_trunk(
    points: pd.DataFrame,
    chart_shards: ChartShards,
    settings: RouterSettings,
    runtime: RuntimeConfig,
) -> dict[str, torch.Tensor]:
    """The frozen image trunk's output for every decision point's chart
    (``features``), with the settings it depends on."""
    compact = settings.compact
    tower = ImageTower(
        compact.image_size, compact.lora_from_block, compact.lora_r, compact.lora_alpha
    ).to(runtime.torch_device)
    batch_size = compact.trunk_batch_size
    out: np.ndarray | None = None
    points = points.reset_index(drop=True)
    for positions, charts in chart_batches(points, chart_shards):
        for start in range(0, len(positions), batch_size):
            batch = torch.from_numpy(
                np.ascontiguousarray(charts[start : start + batch_size])
            )
            features = tower.trunk(batch.to(runtime.torch_device)).float().cpu().numpy()
            if out is None:
                out = np.zeros((len(points), *features.shape[1:]), dtype=np.float32)
            out[positions[start : start + batch_size]] = features
    return {
        "features": torch.from_numpy(out),
        "image_size": torch.tensor(compact.image_size),
        "lora_from_block": torch.tensor(compact.lora_from_block),
    }


# ---- inputs ----------------------------------------------------------------------


def temporal_view(
    points: pd.DataFrame,
    features: pd.DataFrame,
    feature_names: Sequence[str],
    settings: RouterSettings,
) -> np.ndarray:
    """``(N, steps, F)`` float32: the normalised features at bars
    ``t - (steps-1)*stride, ..., t`` of each decision point (instrument, t);
    nothing after ``t`` is read."""
    sequences = FeatureSequences(features, list(feature_names))
    return strided_sequences(
        sequences.gather,
        points["instrument"].to_numpy(dtype=object),
        points["t"].to_numpy(),
        settings.temporal.steps,
        settings.temporal.stride,
    )


def _check_trunk(chart_trunk: Mapping[str, torch.Tensor], settings: RouterSettings):
    cached = (int(chart_trunk["image_size"]), int(chart_trunk["lora_from_block"]))
    wanted = (settings.compact.image_size, settings.compact.lora_from_block)
    if cached != wanted:
        raise ValueError(
            f"router_chart_trunk was computed with image_size={cached[0]}, "
            f"lora_from_block={cached[1]}; parameters router_sft.compact now say "
            f"image_size={wanted[0]}, lora_from_block={wanted[1]}: rerun "
            "encode_chart_image_trunk (kedro run --pipelines router_inputs)"
        )


def router_inputs(
    points: pd.DataFrame,
    texts: pd.DataFrame,
    temporal: np.ndarray,
    text_embeddings: Mapping[str, torch.Tensor] | None,
    chart_trunk: Mapping[str, torch.Tensor] | None,
    settings: RouterSettings,
    chart_shards: ChartShards | None = None,
    backend: str | None = None,
) -> RouterInputs:
    """:class:`RouterInputs` of the decision points ``points``
    (``router_decision_points``) from the router_inputs stage's cached tables.

    The raw charts are gathered only for the ``hf_vlm`` backend (it reads
    pixels; the compact router reads the cached trunk).
    """
    if chart_trunk is not None:
        _check_trunk(chart_trunk, settings)
    charts = None
    if (backend or settings.backend) == "hf_vlm":
        if chart_shards is None:
            raise ValueError("the hf_vlm backend reads the charts: pass chart_shards")
        for positions, array in chart_batches(points, chart_shards):
            if charts is None:
                charts = np.zeros((len(points), *array.shape[1:]), dtype=np.uint8)
            charts[positions] = array
    return RouterInputs(
        keys=points[KEY_COLUMNS].reset_index(drop=True),
        temporal=temporal,
        text_ids=points["text_id"].to_numpy(dtype=np.int64),
        texts=texts.sort_values("text_id")["text"].tolist(),
        text_embeddings=None
        if text_embeddings is None
        else np.asarray(text_embeddings["embeddings"].numpy(), dtype=np.float32),
        charts=charts,
        chart_features=None if chart_trunk is None else chart_trunk["features"].numpy(),
        regime_id=points["regime_id"].to_numpy(dtype=np.int64),
        soft_targets=points[SOFT_TARGET_COLUMNS].to_numpy(dtype=np.float32),
    )


# ---- fitting ---------------------------------------------------------------------


def fit_rows(
    inputs: RouterInputs, training: TrainingConfig, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Fitting rows (train segment, labelled, subsampled with ``seed``) and
    selection rows (labelled val rows: only scored, never fitted)."""
    fit = training_rows(inputs, "train", training.max_train_samples, seed)
    select = np.flatnonzero(
        (inputs.keys["segment"].to_numpy() == "val") & (inputs.regime_id >= 0)
    )
    return fit, select


def fit_backend(
    inputs: RouterInputs,
    settings: RouterSettings,
    runtime: RuntimeConfig,
    feature_names: Sequence[str],
    backend: str | None = None,
    modalities: Sequence[str] | None = None,
    run_name: str | None = None,
    checkpoint_dir: str | None = None,
) -> tuple[Any, pd.DataFrame, np.ndarray, np.ndarray]:
    """Build backend ``backend`` (default: the configured one; optionally on
    fewer views), fit it on the train rows with epoch selection on val.

    Returns the fitted backend, its training log and the fit and selection rows.
    """
    name = backend or settings.backend
    training = settings.training_for(name)
    fit, select = fit_rows(inputs, training, runtime.seed)
    model = make_backend(name, settings, runtime, list(feature_names), modalities)
    log = model.fit(
        inputs.subset(fit),
        inputs.subset(select),
        training,
        checkpoint_dir,
        run_name=run_name or name,
    )
    return model, log, fit, select


# ---- outputs ---------------------------------------------------------------------


def prediction_tables(
    keys: pd.DataFrame, prediction: RouterPrediction
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``router_weights`` (keys, ``p_<regime>``, ``w_<expert>``, rationale) and
    ``router_states`` (keys, :func:`~mm_drex.router.data.state_column_names`) of one
    prediction (float32)."""
    weights = keys.reset_index(drop=True).copy()
    for i, regime in enumerate(REGIMES):
        weights[f"p_{regime}"] = prediction.regime_probs[:, i].astype(np.float32)
    for k, expert in enumerate(EXPERTS):
        weights[f"w_{expert}"] = prediction.weights[:, k].astype(np.float32)
    rationale = (
        prediction.rationale
        if prediction.rationale is not None
        else [pd.NA] * len(weights)
    )
    weights["rationale"] = pd.array(rationale, dtype="string")
    z = pd.DataFrame(
        prediction.states.astype(np.float32),
        columns=state_column_names(prediction.states.shape[1]),
    )
    states = pd.concat([keys.reset_index(drop=True), z], axis=1)
    return weights, states


def predict_tables(
    model: Any, inputs: RouterInputs, batch_size: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The fitted backend on every decision point of ``inputs``: the
    ``router_weights`` and ``router_states`` tables."""
    return prediction_tables(inputs.keys, model.predict(inputs, batch_size=batch_size))


def train_router(
    inputs: RouterInputs,
    settings: RouterSettings,
    runtime: RuntimeConfig,
    feature_names: Sequence[str],
) -> tuple[dict[str, torch.Tensor], dict[str, Any], pd.DataFrame]:
    """SFT of the configured backend on the train rows, epoch selected on val.

    Returns the trained tensors (adapters + heads), the JSON config that
    rebuilds the backend and the per-epoch training log.
    """
    model, log, fit, select = fit_backend(
        inputs, settings, runtime, feature_names, checkpoint_dir=settings.checkpoint_dir
    )
    log.insert(0, "backend", settings.backend)
    log["n_train"], log["n_val"] = len(fit), len(select)
    return model.state_tensors(), model.config_dict(), log


def predict_router(
    inputs: RouterInputs,
    router_model: Mapping[str, torch.Tensor],
    router_config: Mapping[str, Any],
    settings: RouterSettings,
    runtime: RuntimeConfig,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The trained router (rebuilt from its saved tensors and config) on every
    decision point of ``inputs``: ``router_weights`` and ``router_states``."""
    model = load_backend(dict(router_config), dict(router_model), runtime)
    return predict_tables(model, inputs, settings.predict_batch_size)


def predict_decision_points(
    points: pd.DataFrame,
    texts: pd.DataFrame,
    temporal: np.ndarray,
    text_embeddings: Mapping[str, torch.Tensor],
    chart_trunk: Mapping[str, torch.Tensor],
    chart_shards: ChartShards,
    router_model: Mapping[str, torch.Tensor],
    router_config: Mapping[str, Any],
    settings: RouterSettings,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """:func:`predict_router` on the router_inputs stage's cached decision points,
    with the inputs the saved router's backend reads."""
    inputs = router_inputs(
        points,
        texts,
        temporal,
        text_embeddings,
        chart_trunk,
        settings,
        chart_shards,
        backend=router_config["backend"],
    )
    runtime = start_runtime(settings)
    return predict_router(inputs, router_model, router_config, settings, runtime)
