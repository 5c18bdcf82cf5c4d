"""The router backends behind one interface, by name.

Every backend has::

    fit(train: RouterInputs, val: RouterInputs, training, checkpoint_dir, run_name) -> log
    predict(inputs: RouterInputs) -> RouterPrediction  # regime_probs, weights, states, rationale
    config_dict() -> dict            # JSON
    state_tensors() -> dict[str, Tensor]  # safetensors
    from_artifacts(config, tensors, runtime) -> backend   (classmethod)

Adding a backend is one class and one line in :data:`BACKENDS`.
"""

from __future__ import annotations

from typing import Any

import torch

from mm_drex.router.compact import CompactBackend
from mm_drex.router.hf_vlm import HFVLMBackend
from mm_drex.router.settings import RouterSettings
from mm_drex.router.train import RuntimeConfig

BACKENDS = {"compact": CompactBackend, "hf_vlm": HFVLMBackend}


def make_backend(
    name: str,
    settings: RouterSettings,
    runtime: RuntimeConfig,
    feature_names: list[str],
    modalities: list[str] | tuple[str, ...] | None = None,
) -> CompactBackend | HFVLMBackend:
    """A fresh backend from the router's settings (``params:router_sft``).

    Args:
        feature_names: the temporal feature columns, in input order.
        modalities: compact only: override the views used (ablations).
    """
    if name == "compact":
        compact = settings.compact
        config = compact.router_config(
            len(feature_names), settings.temporal.steps, modalities
        )
        return CompactBackend(
            config,
            runtime,
            text_max_tokens=compact.text_max_tokens,
            text_batch_size=compact.text_batch_size,
            trunk_batch_size=compact.trunk_batch_size,
        )
    if name == "hf_vlm":
        if modalities is not None:
            raise ValueError("modality ablations are trained with the compact backend")
        return HFVLMBackend(settings.hf_vlm_config(list(feature_names)), runtime)
    raise ValueError(f"unknown router backend {name!r}; known: {sorted(BACKENDS)}")


def load_backend(
    config: dict[str, Any], tensors: dict[str, torch.Tensor], runtime: RuntimeConfig
) -> CompactBackend | HFVLMBackend:
    """Rebuild a trained backend from its saved JSON config and tensors."""
    name = config.get("backend")
    if name not in BACKENDS:
        raise ValueError(
            f"router config names backend {name!r}; known: {sorted(BACKENDS)}"
        )
    return BACKENDS[name].from_artifacts(config, tensors, runtime)
