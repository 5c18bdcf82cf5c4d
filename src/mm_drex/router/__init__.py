"""The MM-DREX router: from chart, text view and temporal features to regime
probabilities, expert weights and a state z (supervised fine-tuning stage).

Backends (:mod:`mm_drex.router.backends`): ``compact`` (pretrained
EfficientNet-Lite0 + MiniLM towers, LoRA, CPU) and ``hf_vlm`` (a local Hugging
Face vision-language model with LoRA, GPU).
"""

from mm_drex.router.backends import BACKENDS, load_backend, make_backend
from mm_drex.router.compact import (
    CompactBackend,
    RouterPrediction,
    trainable_parameter_counts,
)
from mm_drex.router.data import EXPERTS, REGIMES, SOFT_TARGET_COLUMNS, RouterInputs
from mm_drex.router.hf_vlm import HFVLMBackend, HFVLMConfig
from mm_drex.router.model import CompactRouter, CompactRouterConfig
from mm_drex.router.train import RuntimeConfig, TrainingConfig, configure_torch

__all__ = [
    "BACKENDS",
    "EXPERTS",
    "REGIMES",
    "SOFT_TARGET_COLUMNS",
    "CompactBackend",
    "CompactRouter",
    "CompactRouterConfig",
    "HFVLMBackend",
    "HFVLMConfig",
    "RouterInputs",
    "RouterPrediction",
    "RuntimeConfig",
    "TrainingConfig",
    "configure_torch",
    "load_backend",
    "make_backend",
    "trainable_parameter_counts",
]
