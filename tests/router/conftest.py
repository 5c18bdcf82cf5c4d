"""Router test fixtures: small inputs and a tiny vision-language model built on disk."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mm_drex.router.data import RouterInputs

TINY_VLM_WORDS = (
    "USER: ASSISTANT: uptrend downtrend sideways Instrument: Text view: Temporal features "
    "Question: which market regime follows: Answer with one word. rose fell flat volatility"
)


def make_inputs(
    n: int,
    seed: int = 0,
    chart_size: int = 32,
    steps: int = 6,
    n_features: int = 5,
    segment: str = "train",
) -> RouterInputs:
    """``n`` decision points with random charts, features and targets (for
    model-mechanics tests: shapes, overfitting, save/load)."""
    rng = np.random.default_rng(seed)
    keys = pd.DataFrame(
        {
            "instrument": ["SP500"] * n,
            "timestamp": pd.date_range("2020-01-01", periods=n, freq="D"),
            "segment": [segment] * n,
        }
    )
    texts = [
        "price rose, volatility low",
        "price fell, volatility high",
        "price flat, volume low",
    ]
    return RouterInputs(
        keys=keys,
        temporal=rng.normal(size=(n, steps, n_features)).astype(np.float32),
        text_ids=np.arange(n) % len(texts),
        texts=texts,
        charts=rng.integers(
            0, 256, size=(n, 3, chart_size, chart_size), dtype=np.uint8
        ),
        regime_id=rng.integers(0, 3, size=n),
        soft_targets=rng.dirichlet(np.ones(4), size=n).astype(np.float32),
    )


def build_tiny_vlm(folder: Path) -> Path:
    """A randomly initialised LLaVA-style model (CLIP vision tower + Llama text
    model, a few thousand parameters) and its processor, saved to ``folder``.
    The tokenizer is a word-level one trained here with ``tokenizers``."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import (
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    words = Tokenizer(models.WordLevel(unk_token="<unk>"))
    words.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    words.train_from_iterator(
        [TINY_VLM_WORDS],
        trainers.WordLevelTrainer(
            special_tokens=["<unk>", "<pad>", "<eos>", "<image>"]
        ),
    )
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=words,
        unk_token="<unk>",
        pad_token="<pad>",
        eos_token="<eos>",
        extra_special_tokens={"image_token": "<image>"},
    )
    chat_template = (
        "{% for m in messages %}{{ m['role'].upper() }}: {% for c in m['content'] %}"
        "{% if c['type'] == 'image' %}<image> {% else %}{{ c['text'] }} {% endif %}{% endfor %}"
        "{% endfor %}{% if add_generation_prompt %}ASSISTANT: {% endif %}"
    )
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessorPil(
            size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16}
        ),
        tokenizer=tokenizer,
        patch_size=8,
        vision_feature_select_strategy="default",
        chat_template=chat_template,
        num_additional_image_tokens=1,
    )
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=16,
            patch_size=8,
            projection_dim=16,
        ),
        text_config=LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=32,
            intermediate_size=64,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            max_position_embeddings=1024,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            bos_token_id=None,
        ),
        image_token_id=tokenizer.convert_tokens_to_ids("<image>"),
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
    )
    torch.manual_seed(0)
    LlavaForConditionalGeneration(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_vlm_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_vlm(tmp_path_factory.mktemp("tiny_vlm"))
