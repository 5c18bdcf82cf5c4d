"""router_sft nodes: thin wrappers over :mod:`mm_drex.router`.

Fitting reads train rows only; the validation rows only select the epoch kept;
test rows are only predicted and scored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import torch

from mm_drex.features.sequence import FeatureSequences
from mm_drex.features.temporal import FeatureSpec, feature_columns
from mm_drex.router import (
    EXPERTS,
    REGIMES,
    RouterInputs,
    RuntimeConfig,
    TrainingConfig,
    configure_torch,
    load_backend,
    make_backend,
)
from mm_drex.router.data import (
    KEY_COLUMNS,
    decision_point_table,
    strided_sequences,
    training_rows,
)
from mm_drex.router.evaluate import (
    confusion_figure,
    evaluation_markdown,
    evaluation_table,
    regime_confusion,
)
from mm_drex.router.towers import ImageTower

Params = Mapping[str, Any]
ChartShards = Mapping[str, Callable[[], np.ndarray]]


def _runtime(params: Params) -> RuntimeConfig:
    runtime = RuntimeConfig(
        seed=int(params["seed"]),
        num_threads=int(params["num_threads"]),
        device=str(params["device"]),
        precision=str(params["precision"]),
    )
    configure_torch(runtime)
    return runtime


def _training(params: Params, backend: str) -> TrainingConfig:
    overrides = dict(params.get(backend, {}).get("training") or {})
    return TrainingConfig.from_params({**params["training"], **overrides})


def _feature_names(feature_params: Params) -> list[str]:
    return feature_columns(FeatureSpec.from_params(feature_params))


def build_decision_points(
    chart_index: pd.DataFrame,
    text_view: pd.DataFrame,
    regimes: pd.DataFrame,
    expert_soft_targets: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every charted decision point with its text id, regime id and soft
    targets (``router_decision_points``), and the distinct texts (``router_texts``)."""
    return decision_point_table(chart_index, text_view, regimes, expert_soft_targets)


def build_temporal_sequences(
    router_decision_points: pd.DataFrame,
    features: pd.DataFrame,
    feature_params: Params,
    params: Params,
) -> np.ndarray:
    """``(N, steps, F)`` float32: the normalised features at bars
    ``t - (steps-1)*stride, ..., t`` of each decision point (none after ``t``)."""
    sequences = FeatureSequences(features, _feature_names(feature_params))
    return strided_sequences(
        sequences.gather,
        router_decision_points["instrument"].to_numpy(dtype=object),
        router_decision_points["t"].to_numpy(),
        int(params["temporal"]["steps"]),
        int(params["temporal"]["stride"]),
    )


def embed_texts(router_texts: pd.DataFrame, params: Params) -> dict[str, torch.Tensor]:
    """Frozen MiniLM embedding of each distinct text view, computed once."""
    from mm_drex.router.towers import TextTower

    runtime = _runtime(params)
    settings = params["compact"]
    tower = TextTower(
        int(settings["text_max_tokens"]),
        int(settings["text_batch_size"]),
        str(runtime.torch_device),
    )
    return {"embeddings": torch.from_numpy(tower.encode(router_texts["text"].tolist()))}


def _charts(
    points: pd.DataFrame, chart_shards: ChartShards, rows: np.ndarray | None = None
):
    """Yield ``(positions, charts)`` shard by shard (one shard in memory)."""
    selected = points if rows is None else points.iloc[rows]
    positions = np.arange(len(points)) if rows is None else np.asarray(rows)
    for shard, group in selected.groupby("shard", sort=True):
        if shard not in chart_shards:
            raise KeyError(f"chart shard '{shard}' is missing from chart_shards")
        array = chart_shards[shard]()
        where = selected.index.get_indexer(group.index)
        yield positions[where], array[group["row_in_shard"].to_numpy()]


def encode_chart_trunk(
    router_decision_points: pd.DataFrame, chart_shards: ChartShards, params: Params
) -> dict[str, torch.Tensor]:
    """The frozen image trunk's output for every chart, computed once
    (``features``), with the settings it depends on."""
    runtime = _runtime(params)
    settings = params["compact"]
    image_size, from_block = (
        int(settings["image_size"]),
        int(settings["lora_from_block"]),
    )
    tower = ImageTower(
        image_size, from_block, int(settings["lora_r"]), float(settings["lora_alpha"])
    )
    tower = tower.to(runtime.torch_device)
    batch_size = int(settings["trunk_batch_size"])
    out: np.ndarray | None = None
    points = router_decision_points.reset_index(drop=True)
    for positions, charts in _charts(points, chart_shards):
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
        "image_size": torch.tensor(image_size),
        "lora_from_block": torch.tensor(from_block),
    }


def _inputs(
    points: pd.DataFrame,
    texts: pd.DataFrame,
    temporal: np.ndarray,
    text_embeddings: dict[str, torch.Tensor],
    chart_trunk: dict[str, torch.Tensor],
    params: Params,
    chart_shards: ChartShards | None = None,
) -> RouterInputs:
    settings = params["compact"]
    if (int(chart_trunk["image_size"]), int(chart_trunk["lora_from_block"])) != (
        int(settings["image_size"]),
        int(settings["lora_from_block"]),
    ):
        raise ValueError(
            "router_chart_trunk was computed with image_size="
            f"{int(chart_trunk['image_size'])}, lora_from_block={int(chart_trunk['lora_from_block'])}; "
            "the parameters now differ: rerun encode_chart_trunk"
        )
    charts = None
    if params["backend"] == "hf_vlm":
        charts = None
        for positions, array in _charts(points, chart_shards):
            if charts is None:
                charts = np.zeros((len(points), *array.shape[1:]), dtype=np.uint8)
            charts[positions] = array
    return RouterInputs(
        keys=points[KEY_COLUMNS].reset_index(drop=True),
        temporal=temporal,
        text_ids=points["text_id"].to_numpy(dtype=np.int64),
        texts=texts.sort_values("text_id")["text"].tolist(),
        text_embeddings=text_embeddings["embeddings"].numpy(),
        charts=charts,
        chart_features=chart_trunk["features"].numpy(),
        regime_id=points["regime_id"].to_numpy(dtype=np.int64),
        soft_targets=points[[f"p_{e}" for e in EXPERTS]].to_numpy(dtype=np.float32),
    )


def _fit_rows(
    inputs: RouterInputs, training: TrainingConfig, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Fitting rows (train segment, labelled, subsampled) and selection rows (val)."""
    fit = training_rows(inputs, "train", training.max_train_samples, seed)
    select = np.flatnonzero(
        (inputs.keys["segment"].to_numpy() == "val") & (inputs.regime_id >= 0)
    )
    return fit, select


def _fit_backend(
    name: str,
    inputs: RouterInputs,
    fit: np.ndarray,
    select: np.ndarray,
    training: TrainingConfig,
    runtime: RuntimeConfig,
    feature_params: Params,
    params: Params,
    run_name: str,
    modalities: list[str] | None = None,
) -> tuple[Any, pd.DataFrame]:
    """Build backend ``name`` (optionally on fewer views), fit it on the ``fit``
    rows with selection on the ``select`` rows; the backend and its training log."""
    backend = make_backend(
        name,
        params[name],
        runtime,
        _feature_names(feature_params),
        int(params["temporal"]["steps"]),
        modalities=modalities,
    )
    log = backend.fit(
        inputs.subset(fit),
        inputs.subset(select),
        training,
        params.get("checkpoint_dir"),
        run_name=run_name,
    )
    return backend, log


def train_router(
    router_decision_points: pd.DataFrame,
    router_texts: pd.DataFrame,
    router_temporal: np.ndarray,
    router_text_embeddings: dict[str, torch.Tensor],
    router_chart_trunk: dict[str, torch.Tensor],
    chart_shards: ChartShards,
    feature_params: Params,
    params: Params,
) -> tuple[dict[str, torch.Tensor], dict[str, Any], pd.DataFrame]:
    """SFT of the configured backend on the train segment, epoch selected on val.

    Returns the trained tensors (adapters + heads), the JSON config that
    rebuilds the backend, and the per-epoch training log.
    """
    runtime = _runtime(params)
    name = params["backend"]
    training = _training(params, name)
    inputs = _inputs(
        router_decision_points,
        router_texts,
        router_temporal,
        router_text_embeddings,
        router_chart_trunk,
        params,
        chart_shards,
    )
    fit, select = _fit_rows(inputs, training, runtime.seed)
    backend, log = _fit_backend(
        name, inputs, fit, select, training, runtime, feature_params, params, name
    )
    log.insert(0, "backend", name)
    log["n_train"], log["n_val"] = len(fit), len(select)
    return backend.state_tensors(), backend.config_dict(), log


def train_ablations(
    router_decision_points: pd.DataFrame,
    router_texts: pd.DataFrame,
    router_temporal: np.ndarray,
    router_text_embeddings: dict[str, torch.Tensor],
    router_chart_trunk: dict[str, torch.Tensor],
    feature_params: Params,
    params: Params,
) -> pd.DataFrame:
    """Compact routers trained from scratch without some views (same rows,
    seed and schedule as the main compact router); their regime predictions
    on val and test, one row per (model, decision point)."""
    runtime = _runtime(params)
    training = _training(params, "compact")
    compact_params = {**params, "backend": "compact"}
    inputs = _inputs(
        router_decision_points,
        router_texts,
        router_temporal,
        router_text_embeddings,
        router_chart_trunk,
        compact_params,
    )
    fit, select = _fit_rows(inputs, training, runtime.seed)
    scored = np.flatnonzero(np.isin(inputs.keys["segment"].to_numpy(), ["val", "test"]))
    frames = []
    for model, modalities in dict(params.get("ablations") or {}).items():
        backend, _ = _fit_backend(
            "compact",
            inputs,
            fit,
            select,
            training,
            runtime,
            feature_params,
            params,
            model,
            modalities=modalities,
        )
        prediction = backend.predict(
            inputs.subset(scored), batch_size=int(params["predict_batch_size"])
        )
        frame = inputs.keys.iloc[scored].reset_index(drop=True)
        frame.insert(0, "model", model)
        frame["regime_pred"] = prediction.regime_probs.argmax(axis=1)
        frames.append(frame)
    columns = ["model", *KEY_COLUMNS, "regime_pred"]
    return (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(columns=columns)
    )


def predict_router(
    router_decision_points: pd.DataFrame,
    router_texts: pd.DataFrame,
    router_temporal: np.ndarray,
    router_text_embeddings: dict[str, torch.Tensor],
    router_chart_trunk: dict[str, torch.Tensor],
    chart_shards: ChartShards,
    router_model: dict[str, torch.Tensor],
    router_model_config: dict[str, Any],
    params: Params,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The trained router on every decision point of every segment.

    Returns ``router_weights`` (keys, p_<regime>, w_<expert>, rationale) and
    ``router_states`` (keys, z_00 ... : the fused state, the RL observation).
    """
    runtime = _runtime(params)
    backend = load_backend(router_model_config, router_model, runtime)
    inputs = _inputs(
        router_decision_points,
        router_texts,
        router_temporal,
        router_text_embeddings,
        router_chart_trunk,
        {**params, "backend": router_model_config["backend"]},
        chart_shards,
    )
    prediction = backend.predict(inputs, batch_size=int(params["predict_batch_size"]))
    weights = inputs.keys.copy()
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
    states = inputs.keys.copy()
    width = len(str(prediction.states.shape[1] - 1))
    z = pd.DataFrame(
        prediction.states.astype(np.float32),
        columns=[f"z_{i:0{width}d}" for i in range(prediction.states.shape[1])],
    )
    return weights, pd.concat([states, z], axis=1)


def evaluate_router(
    router_decision_points: pd.DataFrame,
    router_weights: pd.DataFrame,
    router_ablation_predictions: pd.DataFrame,
    params: Params,
):
    """Accuracy and macro-F1 on val and test of the router, the majority class
    (of the fitting rows), the features-only model and the modality ablations;
    the router's confusion matrices as markdown and a figure."""
    points = router_decision_points.reset_index(drop=True)
    if not points[["instrument", "timestamp"]].equals(
        router_weights[["instrument", "timestamp"]]
    ):
        raise ValueError("router_weights rows are not in router_decision_points order")
    regime_id = points["regime_id"].to_numpy()
    segments = points["segment"].to_numpy()
    router_pred = router_weights[[f"p_{r}" for r in REGIMES]].to_numpy().argmax(axis=1)
    training = _training(params, params["backend"])
    fit_inputs = RouterInputs(
        keys=points[KEY_COLUMNS],
        temporal=np.zeros((len(points), 1, 1), dtype=np.float32),
        text_ids=np.zeros(len(points), dtype=np.int64),
        texts=[""],
        regime_id=regime_id,
    )
    fit = training_rows(
        fit_inputs, "train", training.max_train_samples, int(params["seed"])
    )
    majority = int(np.bincount(regime_id[fit], minlength=len(REGIMES)).argmax())
    predictions = {
        "router": router_pred,
        "majority_class": np.full(len(points), majority),
    }
    keyed = points[["instrument", "timestamp"]]
    for model, frame in router_ablation_predictions.groupby("model", sort=False):
        merged = keyed.merge(
            frame[["instrument", "timestamp", "regime_pred"]], how="left"
        )
        predictions[model] = merged["regime_pred"].fillna(-1).to_numpy(dtype=np.int64)
    table = evaluation_table(regime_id, segments, predictions)
    confusions = {
        segment: regime_confusion(
            regime_id[segments == segment], router_pred[segments == segment]
        )
        for segment in ("val", "test")
    }
    ablations = dict(params.get("ablations") or {})
    notes = [
        f"router: backend `{params['backend']}`, all views, epoch selected on val macro-F1 "
        "(val rows are never fitted; test rows are only predicted).",
        f"majority_class: always predicts '{REGIMES[majority]}', the most frequent regime of the fitting rows.",
        *[
            f"{model}: compact router trained from scratch with only {', '.join(views)} "
            "(the other views absent at train and evaluation time), same rows, seed and schedule."
            for model, views in ablations.items()
        ],
    ]
    return (
        table,
        evaluation_markdown(table, confusions, notes),
        confusion_figure(confusions),
    )
