"""The compact MM-DREX router: three views -> state z -> regime and expert weights.

    chart   --EfficientNet-Lite0 (+LoRA)--> (B, 1280) --proj--> (B, m)
    text    --MiniLM (frozen, cached)-----> (B, 384)  --proj--> (B, m)
    temporal--GRU------------------------> (B, h)    --proj--> (B, m)
                    concat -> fusion MLP -> z (B, state_dim)
    regime_probs p = softmax(regime_head(z))                  (3 regimes)
    weights      w = softmax(f(z) + B p)                      (4 experts)

The routing equation is the paper's (paper-notes.md, v3:
``w = softmax(f(z, market) + B·p + tilt·robustness)``) without the robustness
tilt, which belongs to the experts' pools and the RL stage.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from mm_drex.router.data import EXPERTS, REGIMES
from mm_drex.router.towers import (
    IMAGE_FEATURE_DIM,
    TEXT_EMBEDDING_DIM,
    ImageTower,
    TemporalEncoder,
)

MODALITIES: tuple[str, ...] = ("chart", "text", "temporal")


@dataclass
class CompactRouterConfig:
    """Shape of the compact router (saved as JSON next to its tensors)."""

    n_features: int
    temporal_steps: int
    modalities: list[str] = field(default_factory=lambda: list(MODALITIES))
    image_size: int = 64
    lora_from_block: int = 16
    lora_r: int = 8
    lora_alpha: float = 16.0
    temporal_hidden: int = 64
    modality_dim: int = 32
    state_dim: int = 64
    dropout: float = 0.1
    # training only: each view of each sample is zeroed with this probability,
    # so that no single view (e.g. a memorisable chart) carries the decision
    modality_dropout: float = 0.0

    def __post_init__(self) -> None:
        unknown = [m for m in self.modalities if m not in MODALITIES]
        if unknown or not self.modalities:
            raise ValueError(
                f"modalities must be a non-empty subset of {MODALITIES}, got {self.modalities}"
            )
        self.modalities = [m for m in MODALITIES if m in self.modalities]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RouterOutput:
    regime_logits: torch.Tensor  # (B, 3)
    regime_probs: torch.Tensor  # (B, 3) p
    weights: torch.Tensor  # (B, 4) w, a point of the simplex
    state: torch.Tensor  # (B, state_dim) z


class CompactRouter(nn.Module):
    """The compact router. Inputs of :meth:`forward` (any modality absent from
    ``config.modalities`` is ignored):

    * ``chart_features``: image-trunk output ``(B, C, h, w)``, or ``charts``:
      uint8 ``(B, 3, H, W)`` (the trunk is then run here);
    * ``text_embeddings``: frozen MiniLM embeddings ``(B, 384)``;
    * ``temporal``: feature sequence ``(B, L, F)``.
    """

    def __init__(self, config: CompactRouterConfig) -> None:
        super().__init__()
        self.config = config
        m = config.modality_dim
        if "chart" in config.modalities:
            self.image_tower = ImageTower(
                config.image_size,
                config.lora_from_block,
                config.lora_r,
                config.lora_alpha,
            )
            self.image_proj = nn.Sequential(nn.Linear(IMAGE_FEATURE_DIM, m), nn.GELU())
        if "text" in config.modalities:
            self.text_proj = nn.Sequential(nn.Linear(TEXT_EMBEDDING_DIM, m), nn.GELU())
        if "temporal" in config.modalities:
            self.temporal_encoder = TemporalEncoder(
                config.n_features, config.temporal_hidden
            )
            self.temporal_proj = nn.Sequential(
                nn.Linear(config.temporal_hidden, m), nn.GELU()
            )
        fused = m * len(config.modalities)
        self.fusion = nn.Sequential(
            nn.LayerNorm(fused),
            nn.Dropout(config.dropout),
            nn.Linear(fused, config.state_dim),
            nn.GELU(),
            nn.Linear(config.state_dim, config.state_dim),
            nn.Tanh(),
        )
        self.regime_head = nn.Linear(config.state_dim, len(REGIMES))
        self.routing_head = nn.Linear(config.state_dim, len(EXPERTS))  # f(z)
        # B: how each regime probability tilts each expert's logit
        self.regime_to_expert = nn.Parameter(torch.zeros(len(EXPERTS), len(REGIMES)))

    def encode(
        self,
        temporal: torch.Tensor | None = None,
        text_embeddings: torch.Tensor | None = None,
        chart_features: torch.Tensor | None = None,
        charts: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """The fused state ``z`` ``(B, state_dim)``."""
        views = []
        if "chart" in self.config.modalities:
            if chart_features is None:
                if charts is None:
                    raise ValueError(
                        "the router uses the chart: pass charts or chart_features"
                    )
                chart_features = self.image_tower.trunk(charts)
            views.append(self.image_proj(self.image_tower.top(chart_features)))
        if "text" in self.config.modalities:
            if text_embeddings is None:
                raise ValueError("the router uses the text view: pass text_embeddings")
            views.append(self.text_proj(text_embeddings))
        if "temporal" in self.config.modalities:
            if temporal is None:
                raise ValueError("the router uses temporal features: pass temporal")
            views.append(self.temporal_proj(self.temporal_encoder(temporal)))
        if self.training and self.config.modality_dropout > 0 and len(views) > 1:
            keep = torch.rand(views[0].shape[0], len(views), device=views[0].device)
            keep = (keep >= self.config.modality_dropout).to(views[0].dtype)
            views = [view * keep[:, i : i + 1] for i, view in enumerate(views)]
        return self.fusion(torch.cat(views, dim=-1))

    def forward(self, **inputs: torch.Tensor | None) -> RouterOutput:
        state = self.encode(**inputs)
        regime_logits = self.regime_head(state)
        regime_probs = regime_logits.softmax(dim=-1)
        # paper-notes (v3): w = softmax(f(z) + B·p); f = routing_head, p = regime_probs
        weights = (
            self.routing_head(state) + regime_probs @ self.regime_to_expert.T
        ).softmax(dim=-1)
        return RouterOutput(regime_logits, regime_probs, weights, state)


def router_loss(
    regime_logits: torch.Tensor,
    weights: torch.Tensor,
    regime_id: torch.Tensor,
    soft_targets: torch.Tensor,
    soft_target_weight: float,
    class_weights: torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, float]]:
    """SFT loss = regime cross-entropy + ``soft_target_weight`` * KL(q || w).

    ``q`` are the experts' soft targets (renormalised to sum to one); rows
    without a label (``regime_id == -1``) or without soft targets (NaN) are
    left out of the corresponding term.
    """
    zero = regime_logits.new_zeros(())
    labelled = regime_id >= 0
    ce = (
        F.cross_entropy(
            regime_logits[labelled].float(), regime_id[labelled], weight=class_weights
        )
        if labelled.any()
        else zero
    )
    has_target = ~torch.isnan(soft_targets).any(dim=1)
    if has_target.any() and soft_target_weight > 0:
        q = soft_targets[has_target].clamp(min=0)
        q = q / q.sum(dim=1, keepdim=True).clamp(min=1e-12)
        log_w = torch.log(weights[has_target].float().clamp(min=1e-12))
        kl = (torch.xlogy(q, q) - q * log_w).sum(dim=1).mean()
    else:
        kl = zero
    loss = ce + soft_target_weight * kl
    return loss, {"ce": float(ce.detach()), "kl": float(kl.detach())}
