"""The hf_vlm backend on a tiny randomly initialised vision-language model
built inside the test: load from disk, one SFT step, predict, save and reload."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from mm_drex.datasets import TensorDictDataset
from mm_drex.router import (
    REGIMES,
    HFVLMBackend,
    HFVLMConfig,
    RuntimeConfig,
    TrainingConfig,
    configure_torch,
    load_backend,
)
from tests.router.conftest import make_inputs

FEATURES = ["return_5", "return_20", "volatility_20", "rsi", "trend_slope_60"]


@pytest.fixture(scope="module")
def runtime() -> RuntimeConfig:
    runtime = RuntimeConfig(seed=1, num_threads=1, device="cpu", precision="fp32")
    configure_torch(runtime)
    return runtime


def _backend(path, runtime) -> HFVLMBackend:
    config = HFVLMConfig(
        model_path=str(path),
        feature_names=FEATURES,
        lora_r=4,
        lora_alpha=8,
        lora_dropout=0.0,
    )
    return HFVLMBackend(config, runtime)


def test_tiny_vlm_sft_step_predict_save_and_reload(tmp_path, tiny_vlm_path, runtime):
    backend = _backend(tiny_vlm_path, runtime)
    trainable = {n for n, p in backend.model.named_parameters() if p.requires_grad}
    assert trainable and all(
        ".lora_" in n or not n.startswith("vlm.") for n in trainable
    )
    frozen = sum(
        p.numel() for p in backend.model.vlm.parameters() if not p.requires_grad
    )
    assert frozen > 0
    lora_b_before = {
        n: p.detach().clone()
        for n, p in backend.model.named_parameters()
        if ".lora_B." in n
    }
    assert all(
        torch.count_nonzero(v) == 0 for v in lora_b_before.values()
    )  # LoRA starts as the identity

    train = make_inputs(4, seed=0, n_features=len(FEATURES))
    val = make_inputs(3, seed=1, n_features=len(FEATURES), segment="val")
    log = backend.fit(
        train,
        val,
        TrainingConfig(epochs=1, batch_size=4, learning_rate=1e-2, eval_batch_size=4),
    )
    assert (
        len(log) == 1
        and np.isfinite(log["train_loss"].iloc[0])
        and bool(log["selected"].iloc[0])
    )
    changed = [
        n
        for n, p in backend.model.named_parameters()
        if ".lora_B." in n and torch.count_nonzero(p) > 0
    ]
    assert changed  # one SFT step moved the adapters

    test = make_inputs(5, seed=2, n_features=len(FEATURES), segment="test")
    prediction = backend.predict(test, batch_size=2)
    assert prediction.regime_probs.shape == (5, len(REGIMES))
    np.testing.assert_allclose(prediction.regime_probs.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(prediction.weights.sum(axis=1), 1.0, rtol=1e-5)
    assert prediction.states.shape == (5, backend.config.state_dim)
    assert len(prediction.rationale) == 5 and all(
        isinstance(text, str) for text in prediction.rationale
    )

    adapter = TensorDictDataset(str(tmp_path / "adapter.safetensors"))
    adapter.save(backend.state_tensors())
    config = json.loads(json.dumps(backend.config_dict()))
    reloaded = load_backend(config, adapter.load(), runtime)
    again = reloaded.predict(test, batch_size=2)
    for name in ("regime_probs", "weights", "states"):
        np.testing.assert_array_equal(getattr(again, name), getattr(prediction, name))
    assert again.rationale == prediction.rationale


def test_regime_probabilities_are_the_label_tokens_softmax(tiny_vlm_path, runtime):
    backend = _backend(tiny_vlm_path, runtime)
    inputs = make_inputs(1, seed=3, n_features=len(FEATURES))
    prompt = backend.prompts(inputs, np.array([0]))[0]
    assert "Text view: price rose, volatility low" in prompt and "return_5=" in prompt
    tokenizer = backend.processor.tokenizer
    assert [
        tokenizer.convert_ids_to_tokens(i) for i in backend.label_token_ids
    ] == list(REGIMES)

    batch = backend.processor(
        text=[prompt],
        images=backend._images(inputs, np.array([0])),
        return_tensors="pt",
    )
    with torch.no_grad():
        logits = backend.model.vlm(**batch).logits[0, -1]
    expected = torch.softmax(logits[backend.label_token_ids], dim=-1).numpy()
    np.testing.assert_allclose(
        backend.predict(inputs).regime_probs[0], expected, rtol=1e-5, atol=1e-6
    )


def test_regime_words_sharing_a_first_token_are_refused(tmp_path, runtime):
    from tests.router.conftest import build_tiny_vlm

    path = build_tiny_vlm(tmp_path / "vlm")
    tokenizer_file = path / "tokenizer.json"
    spec = json.loads(tokenizer_file.read_text())
    vocab = spec["model"]["vocab"]
    vocab[REGIMES[1]] = vocab[REGIMES[0]]  # two regime words -> one token id
    tokenizer_file.write_text(json.dumps(spec))
    with pytest.raises(ValueError, match="share a first token"):
        _backend(path, runtime)
