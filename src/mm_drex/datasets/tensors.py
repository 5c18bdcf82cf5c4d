"""A dict of named tensors as one ``.safetensors`` file (Kedro dataset).

Model artifacts (LoRA adapters, heads, cached frozen features) are saved as
plain tensors, never as pickled code: the code that uses them is the project's
own, and a JSON config next to the tensors says how to rebuild the module.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

import fsspec
import torch
from kedro.io import AbstractDataset, DatasetError
from kedro.io.core import get_filepath_str, get_protocol_and_path
from safetensors.torch import load as load_safetensors
from safetensors.torch import save as save_safetensors


class TensorDictDataset(
    AbstractDataset[dict[str, torch.Tensor], dict[str, torch.Tensor]]
):
    """Load and save ``{name: torch.Tensor}`` in safetensors format.

    Args:
        filepath: path of the ``.safetensors`` file (any fsspec protocol).
        metadata: optional ``{str: str}`` written into the file header.
        credentials, fs_args: passed to ``fsspec.filesystem``.

    Loaded tensors are on the CPU. Saved tensors are detached, moved to the
    CPU and made contiguous; tensors that share memory are copied apart.
    """

    def __init__(
        self,
        filepath: str,
        metadata: dict[str, str] | None = None,
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
    ) -> None:
        protocol, path = get_protocol_and_path(filepath)
        self._protocol = protocol
        self._filepath = PurePosixPath(path)
        self._metadata = metadata
        self._fs = fsspec.filesystem(protocol, **(credentials or {}), **(fs_args or {}))

    def load(self) -> dict[str, torch.Tensor]:
        path = get_filepath_str(self._filepath, self._protocol)
        with self._fs.open(path, "rb") as stream:
            return load_safetensors(stream.read())

    def save(self, data: dict[str, torch.Tensor]) -> None:
        if not isinstance(data, dict):
            raise DatasetError(
                f"TensorDictDataset saves a dict of tensors, got {type(data).__name__}"
            )
        tensors = {}
        for name, value in data.items():
            if not isinstance(value, torch.Tensor):
                raise DatasetError(
                    f"TensorDictDataset {self._filepath}: entry {name!r} is a "
                    f"{type(value).__name__}, not a torch.Tensor"
                )
            tensors[name] = value.detach().to("cpu").contiguous().clone()
        path = get_filepath_str(self._filepath, self._protocol)
        self._fs.mkdirs(str(PurePosixPath(path).parent), exist_ok=True)
        with self._fs.open(path, "wb") as stream:
            stream.write(save_safetensors(tensors, metadata=self._metadata))

    def _exists(self) -> bool:
        return self._fs.exists(get_filepath_str(self._filepath, self._protocol))

    def _describe(self) -> dict[str, Any]:
        return {"filepath": str(self._filepath), "protocol": self._protocol}
