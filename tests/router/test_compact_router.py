"""The compact router: overfitting, save/load, trainable parameters, the routing
equation, seeds, resumable checkpoints and validation-only selection."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mm_drex.datasets import TensorDictDataset
from mm_drex.router import (
    CompactBackend,
    CompactRouterConfig,
    RuntimeConfig,
    TrainingConfig,
    configure_torch,
    load_backend,
    trainable_parameter_counts,
)
from mm_drex.router.towers import IMAGE_FEATURE_DIM, TEXT_EMBEDDING_DIM
from tests.router.conftest import make_inputs

STEPS, N_FEATURES = 6, 5


def _backend(seed: int = 0, **overrides) -> CompactBackend:
    runtime = RuntimeConfig(seed=seed, num_threads=1, device="cpu", precision="fp32")
    configure_torch(runtime)
    settings = {
        "image_size": 32,
        "lora_from_block": 11,
        "modality_dim": 32,
        "state_dim": 16,
        "temporal_hidden": 16,
    }
    config = CompactRouterConfig(
        n_features=N_FEATURES, temporal_steps=STEPS, **{**settings, **overrides}
    )
    return CompactBackend(config, runtime)


def _training(**overrides) -> TrainingConfig:
    settings = {
        "epochs": 3,
        "batch_size": 8,
        "learning_rate": 3e-3,
        "patience": None,
        "class_weights": "none",
    }
    return TrainingConfig(**{**settings, **overrides})


@pytest.fixture(scope="module")
def text_embeddings() -> np.ndarray:
    """MiniLM embeddings of the three test texts (computed once)."""
    return _backend().embed_texts(make_inputs(1).texts)


def _inputs(n: int, text_embeddings: np.ndarray, seed: int = 0, segment: str = "train"):
    inputs = make_inputs(
        n, seed=seed, steps=STEPS, n_features=N_FEATURES, segment=segment
    )
    inputs.text_embeddings = text_embeddings
    return inputs


def test_tiny_batch_is_overfitted(text_embeddings):
    backend = _backend(dropout=0.0)
    inputs = _inputs(16, text_embeddings)
    log = backend.fit(
        inputs,
        inputs.subset([]),
        _training(epochs=150, batch_size=16, learning_rate=1e-2, weight_decay=0.0),
    )
    assert log["train_loss"].iloc[0] > 1.0
    assert log["train_loss"].iloc[-1] < 0.05
    prediction = backend.predict(inputs)
    np.testing.assert_array_equal(
        prediction.regime_probs.argmax(axis=1), inputs.regime_id
    )


def test_save_then_load_reproduces_predictions_exactly(tmp_path, text_embeddings):
    backend = _backend()
    train = _inputs(24, text_embeddings)
    backend.fit(train, train.subset([]), _training(epochs=2))
    tensors = TensorDictDataset(str(tmp_path / "router.safetensors"))
    tensors.save(backend.state_tensors())
    config = json.loads(json.dumps(backend.config_dict()))
    loaded = load_backend(config, tensors.load(), backend.runtime)

    fresh = _inputs(10, text_embeddings, seed=5)
    expected = backend.predict(fresh)
    # from raw charts: the loaded router runs the frozen trunk itself
    got = loaded.predict(_inputs(10, text_embeddings, seed=5))
    for name in ("regime_probs", "weights", "states"):
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))


def test_only_lora_adapters_and_heads_are_trainable():
    backend = _backend(lora_r=4)
    model = backend.model
    counts = trainable_parameter_counts(model)
    # every adapted 1x1 conv carries A (r x in) and B (out x r), nothing else of the tower trains
    net = model.image_tower.net
    adapted = [
        net.get_submodule(name).base_layer for name in model.image_tower.lora_targets
    ]
    assert len(adapted) == 2 * 5 + 1  # expand + project of blocks 11..15, and the head
    assert counts["image_tower.lora"] == sum(
        4 * (c.in_channels + c.out_channels) for c in adapted
    )
    assert "image_tower.base" not in counts
    assert (
        sum(p.numel() for p in model.image_tower.parameters()) > 3_000_000
    )  # the frozen ImageNet tower
    m, d, h = 32, 16, 16
    assert counts["image_proj"] == IMAGE_FEATURE_DIM * m + m
    assert (
        counts["text_proj"] == TEXT_EMBEDDING_DIM * m + m
    )  # the text tower itself is frozen and cached
    assert counts["temporal_encoder"] == 3 * (N_FEATURES * h + h * h + 2 * h)
    assert counts["regime_head"] == d * 3 + 3
    assert counts["routing_head"] == d * 4 + 4
    assert counts["regime_to_expert"] == 4 * 3


def test_expert_weights_follow_the_routing_equation(text_embeddings):
    backend = _backend()
    inputs = _inputs(8, text_embeddings)
    prediction = backend.predict(inputs)
    model = backend.model
    z = torch.from_numpy(prediction.states)
    p = torch.from_numpy(prediction.regime_probs)
    with torch.no_grad():
        expected = torch.softmax(
            model.routing_head(z) + p @ model.regime_to_expert.T, dim=-1
        )
    np.testing.assert_allclose(
        prediction.weights, expected.numpy(), rtol=1e-5, atol=1e-6
    )
    np.testing.assert_allclose(prediction.weights.sum(axis=1), 1.0, rtol=1e-6)
    assert (prediction.weights > 0).all()


def test_same_seed_gives_the_same_numbers(text_embeddings):
    inputs = _inputs(16, text_embeddings)
    states = []
    for _ in range(2):
        backend = _backend(seed=7)
        backend.fit(inputs, inputs.subset([]), _training(epochs=2))
        states.append(backend.state_tensors())
    assert states[0].keys() == states[1].keys()
    for name in states[0]:
        assert torch.equal(states[0][name], states[1][name]), name


def test_interrupted_training_resumes_to_the_uninterrupted_result(
    tmp_path, text_embeddings
):
    train = _inputs(24, text_embeddings)
    val = _inputs(8, text_embeddings, seed=1, segment="val")
    training = _training(epochs=4)

    uninterrupted = _backend()
    uninterrupted.fit(train, val, training, checkpoint_dir=str(tmp_path / "a"))

    interrupted = _backend()
    calls = {"n": 0}

    def crash_in_third_epoch(module, args, output):
        calls["n"] += 1
        if (
            calls["n"] == 2 * (3 + 1) + 1
        ):  # 3 training steps + 1 validation pass per epoch
            raise KeyboardInterrupt

    hook = interrupted.model.regime_head.register_forward_hook(crash_in_third_epoch)
    with pytest.raises(KeyboardInterrupt):
        interrupted.fit(train, val, training, checkpoint_dir=str(tmp_path / "b"))
    hook.remove()
    assert list((tmp_path / "b").glob("*/state.safetensors"))

    resumed = _backend()
    log = resumed.fit(train, val, training, checkpoint_dir=str(tmp_path / "b"))
    assert log["epoch"].tolist() == [0, 1, 2, 3]
    assert not list(
        (tmp_path / "b").glob("*/state.safetensors")
    )  # cleared when finished
    expected, got = uninterrupted.state_tensors(), resumed.state_tensors()
    for name in expected:
        assert torch.equal(expected[name], got[name]), name


def test_validation_rows_select_but_are_never_fitted(text_embeddings):
    train = _inputs(24, text_embeddings)
    val = _inputs(12, text_embeddings, seed=2, segment="val")
    shuffled_val = _inputs(12, text_embeddings, seed=2, segment="val")
    shuffled_val.regime_id = (shuffled_val.regime_id + 1) % 3
    shuffled_val.charts = shuffled_val.charts[::-1].copy()

    logs = []
    for validation in (val, shuffled_val):
        backend = _backend()
        logs.append(backend.fit(train, validation, _training(epochs=4)))
    # the fitting trajectory does not depend on the validation rows at all
    np.testing.assert_array_equal(
        logs[0]["train_loss"].to_numpy(), logs[1]["train_loss"].to_numpy()
    )
    for log in logs:
        selected = log.loc[log["selected"]]
        assert len(selected) == 1
        assert selected["val_macro_f1"].iloc[0] == log["val_macro_f1"].max()
        first_best = log.index[log["val_macro_f1"] == log["val_macro_f1"].max()][0]
        assert selected.index[0] == first_best


def test_a_router_without_a_view_ignores_it(text_embeddings):
    backend = _backend(modalities=["temporal"])
    assert not hasattr(backend.model, "image_tower") and not hasattr(
        backend.model, "text_proj"
    )
    inputs = _inputs(6, text_embeddings)
    other = _inputs(6, text_embeddings, seed=9)
    other.temporal = inputs.temporal
    np.testing.assert_array_equal(
        backend.predict(inputs).weights, backend.predict(other).weights
    )
