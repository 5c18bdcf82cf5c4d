"""The router stage's settings (``params:router_sft``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from mm_drex.config import Settings, SettingsError, setting
from mm_drex.router.hf_vlm import HFVLMConfig
from mm_drex.router.model import MODALITIES, CompactRouterConfig
from mm_drex.router.train import RuntimeConfig, TrainingConfig

BACKEND_NAMES = ("compact", "hf_vlm")


@dataclass(frozen=True)
class TemporalSettings(Settings):
    """``router_sft.temporal``: the feature sequence ends at ``t`` and holds
    ``steps`` rows ``stride`` bars apart."""

    group: ClassVar[str] = "router_sft.temporal"

    steps: int = setting(20, ge=1)
    stride: int = setting(5, ge=1)


@dataclass(frozen=True)
class CompactSettings(Settings):
    """``router_sft.compact``: the compact router's shape
    (:class:`~mm_drex.router.model.CompactRouterConfig`), its frozen towers'
    batch sizes and ``training`` overrides of ``router_sft.training``."""

    group: ClassVar[str] = "router_sft.compact"

    image_size: int = setting(64, ge=8)
    lora_from_block: int = setting(16, ge=0)
    lora_r: int = setting(8, ge=1)
    lora_alpha: float = setting(16.0, gt=0)
    temporal_hidden: int = setting(64, ge=1)
    modality_dim: int = setting(32, ge=1)
    state_dim: int = setting(64, ge=1)
    dropout: float = setting(0.1, ge=0, lt=1)
    modality_dropout: float = setting(0.0, ge=0, lt=1)
    modalities: tuple[str, ...] = setting(MODALITIES, choices=MODALITIES)
    text_max_tokens: int = setting(128, ge=1)
    text_batch_size: int = setting(64, ge=1)
    trunk_batch_size: int = setting(64, ge=1)
    training: dict[str, Any] = field(default_factory=dict)

    def router_config(
        self,
        n_features: int,
        temporal_steps: int,
        modalities: tuple[str, ...] | list[str] | None = None,
    ) -> CompactRouterConfig:
        """The router's shape for ``n_features`` temporal features (optionally
        on fewer views: the ablations)."""
        shape = {
            name: getattr(self, name)
            for name in CompactRouterConfig.__dataclass_fields__
            if hasattr(self, name)
        }
        shape["modalities"] = list(modalities or self.modalities)
        return CompactRouterConfig(
            n_features=n_features, temporal_steps=temporal_steps, **shape
        )


@dataclass(frozen=True)
class RouterSettings(Settings):
    """``params:router_sft``: the backend, the runtime (seed, threads, device,
    precision), the temporal view, SFT, each backend's section and the view
    ablations (name -> the views they keep)."""

    group: ClassVar[str] = "router_sft"

    backend: str = setting("compact", choices=BACKEND_NAMES)
    seed: int = 42
    num_threads: int = setting(2, ge=1)
    ablation_num_threads: int = setting(1, ge=1)
    device: str = "auto"
    precision: str = setting("auto", choices=("auto", "fp32", "bf16"))
    checkpoint_dir: str | None = None
    predict_batch_size: int = setting(512, ge=1)
    temporal: TemporalSettings = field(default_factory=TemporalSettings)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    compact: CompactSettings = field(default_factory=CompactSettings)
    # read by HFVLMConfig when the backend is hf_vlm (model_path is required then)
    hf_vlm: dict[str, Any] = field(default_factory=dict)
    ablations: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        for name, views in self.ablations.items():
            unknown = [v for v in views if v not in MODALITIES]
            if unknown or not views:
                raise SettingsError(
                    f"parameters router_sft.ablations.{name} = {list(views)}: give a "
                    f"non-empty subset of the views {list(MODALITIES)}"
                )
        self.training_for("compact")
        if self.backend == "hf_vlm":
            self.hf_vlm_config([])
            self.training_for("hf_vlm")

    def runtime(self, num_threads: int | None = None) -> RuntimeConfig:
        """Where and how tensors are computed (``num_threads`` overrides)."""
        return RuntimeConfig(
            seed=self.seed,
            num_threads=num_threads or self.num_threads,
            device=self.device,
            precision=self.precision,
        )

    def training_for(self, backend: str) -> TrainingConfig:
        """``router_sft.training`` with ``router_sft.<backend>.training`` applied."""
        overrides = (
            self.compact.training
            if backend == "compact"
            else dict(self.hf_vlm.get("training") or {})
        )
        return self.training.with_overrides(overrides, f"router_sft.{backend}.training")

    def hf_vlm_config(self, feature_names: list[str]) -> HFVLMConfig:
        """The ``hf_vlm`` backend's configuration (its ``training`` key aside)."""
        return HFVLMConfig.from_params({"feature_names": feature_names, **self.hf_vlm})
