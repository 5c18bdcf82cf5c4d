"""The ``hf_vlm`` router backend: a local Hugging Face vision-language model
with LoRA, taught by SFT to answer the regime (the paper's setting).

Any image-text-to-text checkpoint on disk that ``AutoProcessor`` and
``AutoModelForImageTextToText`` can load (e.g. Qwen2.5-VL, LLaVA, Idefics)
works; nothing is downloaded (``local_files_only``). For each decision point:

* prompt = the chart image + the text view + a summary of the temporal
  features (the last bar's normalised values), in the model's chat template;
* answer = the regime word (``uptrend`` / ``downtrend`` / ``sideways``);
* regime probabilities p = softmax of the logits of the three label words'
  first tokens at the answer position;
* state z = a projection of the last hidden state at that position, and the
  expert weights ``w = softmax(f(z) + B·p)`` (paper-notes, v3) from a small
  head trained on the experts' soft targets;
* rationale = the model's own greedy answer text (a few tokens).

SFT loss = next-token cross-entropy on the answer tokens + ``soft_target_weight``
* KL(q || w). LoRA adapters on the attention projections; the base model is
frozen. See docs/router.md for a recipe on one GPU.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from mm_drex.config import Settings, read_settings, setting, settings_error
from mm_drex.router.compact import RouterPrediction
from mm_drex.router.data import EXPERTS, REGIMES, RouterInputs
from mm_drex.router.train import (
    Checkpoints,
    RuntimeConfig,
    TrainingConfig,
    fingerprint,
    fit_loop,
    load_trainable_state,
    trainable_state,
)

PROMPT_TEMPLATE = (
    "Instrument: {instrument}. The image is its candlestick chart of the most recent bars "
    "(price with moving averages, volume, indicator panel).\n"
    "Text view: {text}\n"
    "Temporal features (normalised with training statistics, last bar): {temporal}\n"
    "Question: which market regime follows: uptrend, downtrend or sideways? "
    "Answer with one word."
)


@dataclass
class HFVLMConfig(Settings):
    """Settings of the ``hf_vlm`` backend (``params:router_sft.hf_vlm``, whose
    ``training`` key overrides ``router_sft.training`` for this backend), saved
    as JSON with the trained tensors."""

    group: ClassVar[str] = "router_sft.hf_vlm"

    model_path: str
    # passed to AutoProcessor.from_pretrained, e.g. {min_pixels: 50176} so that
    # Qwen2.5-VL sees a 64 px chart as 224 x 224 (64 image tokens), not 56 x 56 (4)
    processor_kwargs: dict[str, Any] = field(default_factory=dict)
    feature_names: list[str] = field(default_factory=list)
    summary_features: list[str] | None = None  # None = every feature column
    lora_r: int = setting(16, ge=1)
    lora_alpha: float = setting(32.0, gt=0)
    lora_dropout: float = setting(0.05, ge=0, lt=1)
    target_modules: list[str] = field(
        default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj"]
    )
    state_dim: int = setting(64, ge=1)
    max_rationale_tokens: int = setting(12, ge=0)
    gradient_checkpointing: bool = False
    prompt_template: str = PROMPT_TEMPLATE

    @classmethod
    def from_params(
        cls, params: Mapping[str, Any] | None, group: str | None = None
    ) -> HFVLMConfig:
        group = group or cls.group
        params = {k: v for k, v in dict(params or {}).items() if k != "training"}
        if not params.get("model_path"):
            raise settings_error(
                f"{group}.model_path",
                params.get("model_path"),
                "give the folder of a local checkpoint",
            )
        return read_settings(cls, params, group)


class VLMRouter(nn.Module):
    """The VLM with LoRA adapters plus the routing head on its hidden state."""

    def __init__(self, vlm: nn.Module, hidden_size: int, state_dim: int) -> None:
        super().__init__()
        self.vlm = vlm
        self.state_proj = nn.Sequential(
            nn.Linear(hidden_size, state_dim), nn.Tanh()
        )  # -> z
        self.routing_head = nn.Linear(state_dim, len(EXPERTS))  # f(z)
        self.regime_to_expert = nn.Parameter(
            torch.zeros(len(EXPERTS), len(REGIMES))
        )  # B


def _hidden_size(config: Any) -> int:
    text_config = (
        config.get_text_config() if hasattr(config, "get_text_config") else config
    )
    return int(text_config.hidden_size)


class HFVLMBackend:
    """LoRA SFT of a local vision-language model as the router."""

    name = "hf_vlm"

    def __init__(self, config: HFVLMConfig, runtime: RuntimeConfig) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from peft import LoraConfig, inject_adapter_in_model
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self.config = config
        self.runtime = runtime
        self.device = runtime.torch_device
        dtype = runtime.autocast_dtype or torch.float32
        self.processor = AutoProcessor.from_pretrained(
            config.model_path, local_files_only=True, **config.processor_kwargs
        )
        vlm = AutoModelForImageTextToText.from_pretrained(
            config.model_path, local_files_only=True, dtype=dtype
        )
        vlm.requires_grad_(False)
        if config.gradient_checkpointing:
            vlm.gradient_checkpointing_enable()
            vlm.enable_input_require_grads()
        torch.manual_seed(runtime.seed)  # LoRA and head initial weights
        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=list(config.target_modules),
        )
        vlm = inject_adapter_in_model(lora, vlm)
        self.model = (
            VLMRouter(vlm, _hidden_size(vlm.config), config.state_dim)
            .to(self.device)
            .eval()
        )
        tokenizer = self.processor.tokenizer
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        self.eos = tokenizer.eos_token or ""
        self.label_token_ids = self._label_token_ids()

    # ---- prompts ------------------------------------------------------------
    def _summary(self, temporal_last: np.ndarray) -> str:
        names = self.config.feature_names or [
            f"f{i}" for i in range(len(temporal_last))
        ]
        wanted = set(self.config.summary_features or names)
        return ", ".join(
            f"{n}={v:+.2f}"
            for n, v in zip(names, temporal_last, strict=True)
            if n in wanted
        )

    def _chat(self, prompt: str) -> str:
        messages = [
            {
                "role": "user",
                "content": [{"type": "image"}, {"type": "text", "text": prompt}],
            }
        ]
        return self.processor.apply_chat_template(
            messages, add_generation_prompt=True, tokenize=False
        )

    def prompts(self, inputs: RouterInputs, rows: np.ndarray) -> list[str]:
        """The chat-formatted prompt of each row (image placeholder included)."""
        instruments = inputs.keys["instrument"].to_numpy()
        return [
            self._chat(
                self.config.prompt_template.format(
                    instrument=instruments[r],
                    text=inputs.texts[inputs.text_ids[r]],
                    temporal=self._summary(inputs.temporal[r, -1]),
                )
            )
            for r in rows
        ]

    def _label_token_ids(self) -> list[int]:
        """First token of each regime word where the answer starts; they must differ."""
        tokenizer = self.processor.tokenizer
        prompt = self._chat("probe")
        base = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        ids = []
        for regime in REGIMES:
            full = tokenizer(prompt + regime, add_special_tokens=False)["input_ids"]
            if full[: len(base)] != base or len(full) == len(base):
                raise ValueError(
                    f"{self.config.model_path}: the answer '{regime}' does not extend the prompt's tokens"
                )
            ids.append(full[len(base)])
        if len(set(ids)) != len(ids):
            raise ValueError(
                f"{self.config.model_path}: regime words share a first token "
                f"({dict(zip(REGIMES, ids, strict=True))}); their probabilities cannot be read apart"
            )
        return ids

    @staticmethod
    def _images(inputs: RouterInputs, rows: np.ndarray):
        from PIL import Image

        if inputs.charts is None:
            raise ValueError("the hf_vlm router reads chart images: inputs need charts")
        return [
            Image.fromarray(np.ascontiguousarray(inputs.charts[r].transpose(1, 2, 0)))
            for r in rows
        ]

    def _encode(
        self, texts: list[str], images, padding_side: str = "right"
    ) -> dict[str, torch.Tensor]:
        self.processor.tokenizer.padding_side = padding_side
        batch = self.processor(
            text=texts, images=images, return_tensors="pt", padding=True
        )
        return {k: v.to(self.device) for k, v in batch.items()}

    # ---- one forward: p, w, z at the answer position ------------------------
    def _route(
        self, hidden: torch.Tensor, logits: torch.Tensor, position: torch.Tensor
    ):
        index = torch.arange(len(position), device=self.device)
        label_logits = logits[index, position][:, self.label_token_ids].float()
        regime_probs = label_logits.softmax(dim=-1)
        state = self.model.state_proj(hidden[index, position].float())
        # paper-notes (v3): w = softmax(f(z) + B·p)
        weights = (
            self.model.routing_head(state)
            + regime_probs @ self.model.regime_to_expert.T
        ).softmax(-1)
        return label_logits, regime_probs, weights, state

    def _forward_prompts(self, inputs: RouterInputs, rows: np.ndarray):
        batch = self._encode(self.prompts(inputs, rows), self._images(inputs, rows))
        out = self.model.vlm(**batch, output_hidden_states=True)
        position = (
            batch["attention_mask"].sum(dim=1) - 1
        )  # last prompt token (right padding)
        return self._route(out.hidden_states[-1], out.logits, position)

    # ---- the shared interface ----------------------------------------------
    def fit(
        self,
        train: RouterInputs,
        val: RouterInputs,
        training: TrainingConfig,
        checkpoint_dir: str | None = None,
        run_name: str = "hf_vlm",
    ):
        """LoRA SFT on ``train``; ``val`` only selects the epoch kept."""
        tokenizer = self.processor.tokenizer

        def step_loss(rows: np.ndarray):
            prompts = self.prompts(train, rows)
            answers = [REGIMES[train.regime_id[r]] + self.eos for r in rows]
            batch = self._encode(
                [p + a for p, a in zip(prompts, answers, strict=True)],
                self._images(train, rows),
            )
            # answer tokens = full sequence minus the prompt's tokens (the
            # prompt's image placeholders expand the same way in both)
            answer_lengths = [
                len(tokenizer(p + a, add_special_tokens=False)["input_ids"])
                - len(tokenizer(p, add_special_tokens=False)["input_ids"])
                for p, a in zip(prompts, answers, strict=True)
            ]
            lengths = batch["attention_mask"].sum(dim=1)
            starts = lengths - torch.tensor(answer_lengths, device=self.device)
            positions = torch.arange(batch["input_ids"].shape[1], device=self.device)[
                None, :
            ]
            is_answer = (positions >= starts[:, None]) & (positions < lengths[:, None])
            labels = torch.where(
                is_answer, batch["input_ids"], torch.full_like(batch["input_ids"], -100)
            )
            out = self.model.vlm(**batch, output_hidden_states=True)
            lm = F.cross_entropy(
                out.logits[:, :-1].flatten(0, 1).float(),
                labels[:, 1:].flatten(),
                ignore_index=-100,
            )
            _, _, weights, _ = self._route(
                out.hidden_states[-1], out.logits, starts - 1
            )
            q = torch.from_numpy(train.soft_targets[rows]).to(self.device)
            has_target = ~torch.isnan(q).any(dim=1)
            kl = lm.new_zeros(())
            if has_target.any() and training.soft_target_weight > 0:
                q = q[has_target].clamp(min=0)
                q = q / q.sum(dim=1, keepdim=True).clamp(min=1e-12)
                kl = (
                    (torch.xlogy(q, q) - q * weights[has_target].clamp(min=1e-12).log())
                    .sum(1)
                    .mean()
                )
            loss = lm + training.soft_target_weight * kl
            return loss, {"ce": float(lm.detach()), "kl": float(kl.detach())}

        def evaluate(rows: np.ndarray):
            probs = []
            for start in range(0, len(rows), training.eval_batch_size):
                _, p, _, _ = self._forward_prompts(
                    val, rows[start : start + training.eval_batch_size]
                )
                probs.append(p.float().cpu().numpy())
            probs = np.concatenate(probs)
            labels = val.regime_id[rows]
            labelled = labels >= 0
            nll = -np.log(np.clip(probs[labelled, labels[labelled]], 1e-12, None))
            return probs, float(nll.mean()) if labelled.any() else float("nan")

        labelled = np.flatnonzero(train.regime_id >= 0)
        key = fingerprint(
            self.config_dict(),
            training.__dict__,
            self.runtime.seed,
            train.regime_id,
            train.temporal,
        )
        checkpoints = Checkpoints(checkpoint_dir, run_name, key)
        log = fit_loop(
            self.model,
            step_loss,
            evaluate,
            labelled,
            np.arange(len(val)),
            val.regime_id,
            training,
            self.runtime,
            checkpoints,
        )
        checkpoints.clear()
        return log

    @torch.no_grad()
    def predict(self, inputs: RouterInputs, batch_size: int = 8) -> RouterPrediction:
        """Regime probabilities (label-token logits), expert weights, state z and
        the model's answer text as rationale."""
        self.model.eval()
        probs, weights, states, rationale = [], [], [], []
        for start in range(0, len(inputs), batch_size):
            rows = np.arange(start, min(start + batch_size, len(inputs)))
            with self.runtime.autocast():
                _, p, w, z = self._forward_prompts(inputs, rows)
            probs.append(p.float().cpu().numpy())
            weights.append(w.float().cpu().numpy())
            states.append(z.float().cpu().numpy())
            if self.config.max_rationale_tokens > 0:
                rationale += self._answers(inputs, rows)
        return RouterPrediction(
            np.concatenate(probs),
            np.concatenate(weights),
            np.concatenate(states),
            rationale if self.config.max_rationale_tokens > 0 else None,
        )

    def _answers(self, inputs: RouterInputs, rows: np.ndarray) -> list[str]:
        batch = self._encode(
            self.prompts(inputs, rows), self._images(inputs, rows), padding_side="left"
        )
        tokenizer = self.processor.tokenizer
        generated = self.model.vlm.generate(
            **batch,
            max_new_tokens=self.config.max_rationale_tokens,
            do_sample=False,
            pad_token_id=tokenizer.pad_token_id,
        )
        answers = self.processor.batch_decode(
            generated[:, batch["input_ids"].shape[1] :], skip_special_tokens=True
        )
        return [answer.strip() for answer in answers]

    # ---- artifacts: adapter + head tensors and a JSON config ---------------
    def config_dict(self) -> dict[str, Any]:
        return {"backend": self.name, "model": asdict(self.config)}

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """LoRA adapter matrices and the routing head (the trainable tensors)."""
        return trainable_state(self.model)

    @classmethod
    def from_artifacts(
        cls,
        config: dict[str, Any],
        tensors: dict[str, torch.Tensor],
        runtime: RuntimeConfig,
    ) -> HFVLMBackend:
        backend = cls(HFVLMConfig(**config["model"]), runtime)
        load_trainable_state(backend.model, tensors)
        return backend
