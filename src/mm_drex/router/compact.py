"""The ``compact`` router backend: :class:`~mm_drex.router.model.CompactRouter`
behind the shared ``fit`` / ``predict`` interface, with its frozen caches."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn

from mm_drex.router.data import REGIMES, RouterInputs
from mm_drex.router.model import CompactRouter, CompactRouterConfig, router_loss
from mm_drex.router.towers import TextTower
from mm_drex.router.train import (
    Checkpoints,
    RuntimeConfig,
    TrainingConfig,
    balanced_class_weights,
    fingerprint,
    fit_loop,
    load_trainable_state,
    trainable_state,
)


@dataclass
class RouterPrediction:
    """What a router says about ``N`` decision points."""

    regime_probs: np.ndarray  # (N, 3), columns in REGIMES order
    weights: np.ndarray  # (N, 4), columns in EXPERTS order, rows on the simplex
    states: np.ndarray  # (N, state_dim), the fused state z
    rationale: list[str] | None = (
        None  # a short text per row, where the backend has one
    )


def trainable_parameter_counts(module: nn.Module) -> dict[str, int]:
    """Trainable parameters per top-level part; the image tower is split into
    its LoRA matrices (``image_tower.lora``) and the rest (``image_tower.base``)."""
    counts: dict[str, int] = {}
    for name, param in module.named_parameters():
        if not param.requires_grad:
            continue
        part = name.split(".", 1)[0]
        if part == "image_tower":
            part = "image_tower.lora" if ".lora_" in name else "image_tower.base"
        counts[part] = counts.get(part, 0) + param.numel()
    return counts


class CompactBackend:
    """Pretrained image tower (LoRA) + frozen text tower + temporal encoder.

    Args:
        config: the router's shape.
        runtime: seed, device, precision.
        text_max_tokens, text_batch_size: the frozen text tower's settings.
        trunk_batch_size: charts per batch when filling the image-trunk cache.
    """

    name = "compact"

    def __init__(
        self,
        config: CompactRouterConfig,
        runtime: RuntimeConfig,
        text_max_tokens: int = 128,
        text_batch_size: int = 64,
        trunk_batch_size: int = 64,
    ) -> None:
        self.config = config
        self.runtime = runtime
        self.text_max_tokens = text_max_tokens
        self.text_batch_size = text_batch_size
        self.trunk_batch_size = trunk_batch_size
        self.device = runtime.torch_device
        torch.manual_seed(runtime.seed)  # the heads' initial weights
        self.model = CompactRouter(config).to(self.device).eval()
        self._text_tower: TextTower | None = None

    # ---- frozen computations, cached by the caller --------------------------
    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """Frozen MiniLM embeddings ``(U, 384)`` of distinct texts."""
        if self._text_tower is None:
            self._text_tower = TextTower(
                self.text_max_tokens, self.text_batch_size, str(self.device)
            )
        return self._text_tower.encode(list(texts))

    def chart_trunk(self, charts: np.ndarray) -> np.ndarray:
        """Frozen image-trunk features of uint8 charts ``(N, 3, H, W)``."""
        if "chart" not in self.config.modalities:
            raise ValueError("this router does not use the chart")
        tower = self.model.image_tower
        parts = []
        with torch.no_grad():
            for start in range(0, len(charts), self.trunk_batch_size):
                batch = torch.from_numpy(
                    np.ascontiguousarray(charts[start : start + self.trunk_batch_size])
                )
                parts.append(tower.trunk(batch.to(self.device)).float().cpu().numpy())
        return np.concatenate(parts) if parts else np.zeros((0,), dtype=np.float32)

    def prepare(self, inputs: RouterInputs) -> RouterInputs:
        """Fill the frozen caches ``inputs`` lacks (text embeddings, image trunk)."""
        if "text" in self.config.modalities and inputs.text_embeddings is None:
            inputs.text_embeddings = self.embed_texts(inputs.texts)
        if "chart" in self.config.modalities and inputs.chart_features is None:
            if inputs.charts is None:
                raise ValueError(
                    "the router uses the chart: inputs need charts or chart_features"
                )
            inputs.chart_features = self.chart_trunk(inputs.charts)
        return inputs

    # ---- the shared interface ----------------------------------------------
    def _tensors(
        self, inputs: RouterInputs, rows: np.ndarray
    ) -> dict[str, torch.Tensor]:
        def tensor(array: np.ndarray) -> torch.Tensor:
            return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

        batch = {"temporal": tensor(inputs.temporal[rows])}
        if "text" in self.config.modalities:
            batch["text_embeddings"] = tensor(
                inputs.text_embeddings[inputs.text_ids[rows]]
            )
        if "chart" in self.config.modalities:
            batch["chart_features"] = tensor(inputs.chart_features[rows])
        return batch

    def fit(
        self,
        train: RouterInputs,
        val: RouterInputs,
        training: TrainingConfig,
        checkpoint_dir: str | None = None,
        run_name: str = "compact",
    ):
        """SFT on ``train``; ``val`` only scores each epoch to select the state kept.

        Returns the per-epoch log (:func:`mm_drex.router.train.fit_loop`).
        """
        train, val = self.prepare(train), self.prepare(val)
        labels = torch.from_numpy(train.regime_id).to(self.device)
        soft_targets = torch.from_numpy(train.soft_targets).to(self.device)
        class_weights = None
        if training.class_weights == "balanced":
            class_weights = torch.from_numpy(
                balanced_class_weights(train.regime_id, len(REGIMES))
            ).to(self.device)
        elif training.class_weights != "none":
            raise ValueError(
                f"class_weights must be balanced or none, got {training.class_weights!r}"
            )

        def step_loss(rows: np.ndarray):
            out = self.model(**self._tensors(train, rows))
            index = torch.from_numpy(rows).to(self.device)
            return router_loss(
                out.regime_logits,
                out.weights,
                labels[index],
                soft_targets[index],
                training.soft_target_weight,
                class_weights,
            )

        def evaluate(rows: np.ndarray):
            probs, losses = [], []
            for start in range(0, len(rows), training.eval_batch_size):
                part = rows[start : start + training.eval_batch_size]
                out = self.model(**self._tensors(val, part))
                loss, _ = router_loss(
                    out.regime_logits,
                    out.weights,
                    torch.from_numpy(val.regime_id[part]).to(self.device),
                    torch.from_numpy(val.soft_targets[part]).to(self.device),
                    training.soft_target_weight,
                    class_weights,
                )
                probs.append(out.regime_probs.float().cpu().numpy())
                losses.append(float(loss) * len(part))
            return np.concatenate(probs), sum(losses) / max(len(rows), 1)

        key = fingerprint(
            self.config_dict(),
            training.__dict__,
            self.runtime.seed,
            train.regime_id,
            train.soft_targets,
            train.temporal,
            train.keys["instrument"].astype(str).to_numpy().astype("U"),
            train.keys["timestamp"].to_numpy().astype("datetime64[ns]").view(np.int64),
        )
        checkpoints = Checkpoints(checkpoint_dir, run_name, key)
        log = fit_loop(
            self.model,
            step_loss,
            evaluate,
            np.arange(len(train)),
            np.arange(len(val)),
            val.regime_id,
            training,
            self.runtime,
            checkpoints,
        )
        checkpoints.clear()
        return log

    @torch.no_grad()
    def predict(self, inputs: RouterInputs, batch_size: int = 512) -> RouterPrediction:
        """Regime probabilities, expert weights and state z of every row."""
        inputs = self.prepare(inputs)
        self.model.eval()
        probs, weights, states = [], [], []
        for start in range(0, len(inputs), batch_size):
            rows = np.arange(start, min(start + batch_size, len(inputs)))
            with self.runtime.autocast():
                out = self.model(**self._tensors(inputs, rows))
            probs.append(out.regime_probs.float().cpu().numpy())
            weights.append(out.weights.float().cpu().numpy())
            states.append(out.state.float().cpu().numpy())
        if not probs:
            d = self.config.state_dim
            return RouterPrediction(
                np.zeros((0, 3)), np.zeros((0, 4)), np.zeros((0, d))
            )
        return RouterPrediction(
            np.concatenate(probs), np.concatenate(weights), np.concatenate(states)
        )

    # ---- artifacts: tensors + JSON, no pickled code --------------------------
    def config_dict(self) -> dict[str, Any]:
        return {
            "backend": self.name,
            "model": self.config.to_dict(),
            "text_max_tokens": self.text_max_tokens,
            "text_batch_size": self.text_batch_size,
            "trunk_batch_size": self.trunk_batch_size,
        }

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """The trained tensors: LoRA adapters, projections, temporal encoder, heads."""
        return trainable_state(self.model)

    @classmethod
    def from_artifacts(
        cls,
        config: dict[str, Any],
        tensors: dict[str, torch.Tensor],
        runtime: RuntimeConfig,
    ) -> CompactBackend:
        """Rebuild from :meth:`config_dict` and :meth:`state_tensors` output."""
        backend = cls(
            CompactRouterConfig(**config["model"]),
            runtime,
            text_max_tokens=config["text_max_tokens"],
            text_batch_size=config["text_batch_size"],
            trunk_batch_size=config["trunk_batch_size"],
        )
        load_trainable_state(backend.model, tensors)
        return backend
