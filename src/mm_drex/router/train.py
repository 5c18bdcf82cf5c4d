"""The SFT training loop shared by the router backends, with resumable checkpoints.

Readable top to bottom (nanoGPT style): for each epoch, shuffle the training
rows with a seed derived from (seed, epoch), take optimiser steps on mini-batches,
score the validation rows, keep the best state by the validation score, save
a checkpoint. Validation rows are only ever scored, never fitted; the test
segment never reaches this module.

A checkpoint holds the trainable tensors, the optimiser state, the best state
so far and the log; it is keyed by a fingerprint of the configuration and of
the training data, so an interrupted run with the same inputs resumes where
it stopped and reaches the same numbers as an uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from mm_drex.config import Settings, setting
from mm_drex.router.scores import classification_scores


@dataclass
class RuntimeConfig:
    """Where and how tensors are computed (``params:router_sft`` top level)."""

    seed: int = 42
    num_threads: int = 2
    device: str = "auto"  # auto | cpu | cuda | cuda:N
    precision: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16

    @property
    def torch_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    @property
    def autocast_dtype(self) -> torch.dtype | None:
        """bf16 autocast on CUDA by default; fp32 (no autocast) on the CPU."""
        if self.precision == "fp32":
            return None
        if self.precision == "bf16":
            return torch.bfloat16
        if self.precision == "auto":
            return torch.bfloat16 if self.torch_device.type == "cuda" else None
        raise ValueError(
            f"precision must be auto, fp32 or bf16, got {self.precision!r}"
        )

    def autocast(self):
        dtype = self.autocast_dtype
        return torch.autocast(
            self.torch_device.type, dtype=dtype, enabled=dtype is not None
        )


def configure_torch(runtime: RuntimeConfig) -> None:
    """Threads, seed and deterministic kernels: same seed -> same numbers on CPU."""
    torch.set_num_threads(runtime.num_threads)
    torch.manual_seed(runtime.seed)
    # CUDA has nondeterministic kernels without a deterministic variant: warn there
    torch.use_deterministic_algorithms(
        True, warn_only=runtime.torch_device.type != "cpu"
    )


@dataclass(frozen=True)
class TrainingConfig(Settings):
    """SFT hyper-parameters (``params:router_sft.training``)."""

    group: ClassVar[str] = "router_sft.training"

    epochs: int = setting(8, ge=1)
    batch_size: int = setting(128, ge=1)
    learning_rate: float = setting(1e-3, gt=0)
    weight_decay: float = setting(0.01, ge=0)
    soft_target_weight: float = setting(0.5, ge=0)
    class_weights: str = setting("balanced", choices=("balanced", "none"))
    selection_metric: str = setting("macro_f1", choices=("macro_f1", "loss"))
    patience: int | None = setting(3, ge=1)
    grad_clip: float | None = setting(1.0, gt=0)
    eval_batch_size: int = setting(512, ge=1)
    max_train_samples: int | None = setting(None, ge=1)


def balanced_class_weights(labels: np.ndarray, n_classes: int) -> np.ndarray:
    """``n / (k * count_c)`` per class (sklearn's 'balanced'); 0 for absent classes."""
    counts = np.bincount(labels[labels >= 0], minlength=n_classes).astype(np.float64)
    weights = np.where(
        counts > 0, counts.sum() / (n_classes * np.maximum(counts, 1)), 0.0
    )
    return weights.astype(np.float32)


def fingerprint(*parts: Any) -> str:
    """A short hash of JSON-able values and arrays (the checkpoint key)."""
    digest = hashlib.sha256()
    for part in parts:
        if isinstance(part, np.ndarray):
            digest.update(np.ascontiguousarray(part).tobytes())
            digest.update(str(part.shape).encode())
        else:
            digest.update(json.dumps(part, sort_keys=True, default=str).encode())
    return digest.hexdigest()[:16]


def trainable_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """The trainable parameters by name, detached copies on the CPU."""
    return {
        name: param.detach().to("cpu", copy=True)
        for name, param in module.named_parameters()
        if param.requires_grad
    }


def load_trainable_state(module: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Copy ``state`` into the trainable parameters; every one must be there."""
    params = {
        name: param for name, param in module.named_parameters() if param.requires_grad
    }
    missing = sorted(set(params) - set(state))
    unexpected = sorted(set(state) - set(params))
    if missing or unexpected:
        raise ValueError(
            f"trainable state mismatch: missing {missing[:5]}, unexpected {unexpected[:5]}"
        )
    with torch.no_grad():
        for name, param in params.items():
            param.copy_(state[name].to(param.device, param.dtype))


class Checkpoints:
    """Resumable training state in ``directory/<name>-<fingerprint>/``.

    ``directory=None`` disables checkpoints.
    """

    def __init__(self, directory: str | Path | None, name: str, key: str) -> None:
        self.path = None if directory is None else Path(directory) / f"{name}-{key}"

    def load(self) -> tuple[dict[str, torch.Tensor], dict[str, Any]] | None:
        if self.path is None or not (self.path / "state.json").exists():
            return None
        meta = json.loads((self.path / "state.json").read_text())
        return load_file(self.path / "state.safetensors"), meta

    def save(self, tensors: dict[str, torch.Tensor], meta: dict[str, Any]) -> None:
        if self.path is None:
            return
        self.path.mkdir(parents=True, exist_ok=True)
        # write-then-rename: an interruption never leaves half a checkpoint
        save_file(tensors, self.path / "state.safetensors.tmp")
        (self.path / "state.json.tmp").write_text(json.dumps(meta))
        os.replace(self.path / "state.safetensors.tmp", self.path / "state.safetensors")
        os.replace(self.path / "state.json.tmp", self.path / "state.json")

    def clear(self) -> None:
        if self.path is not None and self.path.exists():
            for file in self.path.iterdir():
                file.unlink()
            self.path.rmdir()


def _optimizer_tensors(
    optimizer: torch.optim.Optimizer,
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, values in state["state"].items():
        for key, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"optimizer.{index}.{key}"] = value.detach().cpu().clone()
            else:
                scalars[f"{index}.{key}"] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def _restore_optimizer(
    optimizer: torch.optim.Optimizer,
    tensors: dict[str, torch.Tensor],
    meta: dict[str, Any],
) -> None:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optimizer."):
            _, index, key = name.split(".", 2)
            state.setdefault(int(index), {})[key] = value
    for name, value in meta["scalars"].items():
        index, key = name.split(".", 1)
        state.setdefault(int(index), {})[key] = value
    optimizer.load_state_dict({"state": state, "param_groups": meta["param_groups"]})


StepLoss = Callable[[np.ndarray], tuple[torch.Tensor, dict[str, float]]]
Evaluate = Callable[[np.ndarray], tuple[np.ndarray, float]]


def fit_loop(
    module: nn.Module,
    step_loss: StepLoss,
    evaluate: Evaluate,
    train_rows: np.ndarray,
    val_rows: np.ndarray,
    val_labels: np.ndarray,
    config: TrainingConfig,
    runtime: RuntimeConfig,
    checkpoints: Checkpoints,
) -> pd.DataFrame:
    """Train the trainable parameters of ``module``; leave it at the best epoch.

    Args:
        step_loss: ``step_loss(rows) -> (loss, parts)`` on training rows.
        evaluate: ``evaluate(rows) -> (regime_probs (n, 3), mean loss)``, no grad.
        train_rows, val_rows: positions of the fitting and the selection rows.
        val_labels: regime ids of ``val_rows`` (selection only).

    Returns:
        The log: one row per epoch with train_loss, train_ce, train_kl,
        val_loss, val_accuracy, val_macro_f1 and ``selected`` (the epoch whose
        state the module holds on return: best validation score, or the last
        epoch when there are no validation rows).
    """
    params = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        params, lr=config.learning_rate, weight_decay=config.weight_decay
    )
    log: list[dict[str, Any]] = []
    best_state: dict[str, torch.Tensor] | None = None
    best_score, bad_epochs, start_epoch = -np.inf, 0, 0

    resumed = checkpoints.load()
    if resumed is not None:
        tensors, meta = resumed
        load_trainable_state(
            module,
            {
                k[len("model.") :]: v
                for k, v in tensors.items()
                if k.startswith("model.")
            },
        )
        best_state = {
            k[len("best.") :]: v for k, v in tensors.items() if k.startswith("best.")
        } or None
        _restore_optimizer(optimizer, tensors, meta["optimizer"])
        log, best_score, bad_epochs = (
            meta["log"],
            meta["best_score"],
            meta["bad_epochs"],
        )
        start_epoch = meta["epoch"] + 1

    for epoch in range(start_epoch, config.epochs):
        if config.patience is not None and bad_epochs >= config.patience:
            break
        # the epoch's randomness depends on (seed, epoch) only, so a resumed
        # run draws what an uninterrupted run would have drawn
        torch.manual_seed(runtime.seed * 1000 + epoch)
        order = np.random.default_rng([runtime.seed, epoch]).permutation(train_rows)
        module.train()
        sums = {"loss": 0.0, "ce": 0.0, "kl": 0.0}
        n_seen = 0
        for start in range(0, len(order), config.batch_size):
            rows = order[start : start + config.batch_size]
            with runtime.autocast():
                loss, parts = step_loss(rows)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip:
                nn.utils.clip_grad_norm_(params, config.grad_clip)
            optimizer.step()
            sums["loss"] += float(loss.detach()) * len(rows)
            sums["ce"] += parts.get("ce", 0.0) * len(rows)
            sums["kl"] += parts.get("kl", 0.0) * len(rows)
            n_seen += len(rows)
        module.eval()
        row = {
            "epoch": epoch,
            **{f"train_{k}": v / max(n_seen, 1) for k, v in sums.items()},
        }
        if len(val_rows):
            with torch.no_grad(), runtime.autocast():
                probs, val_loss = evaluate(val_rows)
            scores = classification_scores(val_labels, probs.argmax(axis=1))
            row.update(
                val_loss=val_loss,
                val_accuracy=scores["accuracy"],
                val_macro_f1=scores["macro_f1"],
            )
            score = (
                scores["macro_f1"]
                if config.selection_metric == "macro_f1"
                else -val_loss
            )
        else:
            row.update(val_loss=np.nan, val_accuracy=np.nan, val_macro_f1=np.nan)
            score = float(epoch)  # no validation rows: the last epoch is kept
        if not np.isfinite(score):
            score = -np.inf
        if score > best_score or best_state is None:
            best_score, bad_epochs = score, 0
            best_state = trainable_state(module)
            row["improved"] = True
        else:
            bad_epochs += 1
            row["improved"] = False
        log.append(row)
        optimizer_tensors, optimizer_meta = _optimizer_tensors(optimizer)
        tensors = {f"model.{k}": v for k, v in trainable_state(module).items()}
        tensors.update({f"best.{k}": v for k, v in best_state.items()})
        tensors.update(optimizer_tensors)
        checkpoints.save(
            tensors,
            {
                "epoch": epoch,
                "log": log,
                "best_score": float(best_score),
                "bad_epochs": bad_epochs,
                "optimizer": optimizer_meta,
            },
        )

    if best_state is not None:
        load_trainable_state(module, best_state)
    module.eval()
    frame = pd.DataFrame(log)
    if len(frame):
        improved = np.flatnonzero(frame["improved"].to_numpy())
        frame["selected"] = False
        frame.loc[improved[-1], "selected"] = True
        frame = frame.drop(columns="improved")
    return frame
