"""The safetensors dataset that carries adapters, heads and frozen caches."""

from __future__ import annotations

import pytest
import torch
from kedro.io import DatasetError

from mm_drex.datasets import TensorDictDataset


def test_tensor_dict_round_trip_is_exact(tmp_path):
    tensors = {
        "lora.weight": torch.randn(8, 112, 1, 1),
        "head.bias": torch.arange(3, dtype=torch.float64),
        "step": torch.tensor(7),
        "view": torch.randn(4, 6).T,  # not contiguous
    }
    dataset = TensorDictDataset(str(tmp_path / "models" / "router.safetensors"))
    assert not dataset.exists()
    dataset.save(tensors)
    loaded = dataset.load()
    assert dataset.exists()
    assert loaded.keys() == tensors.keys()
    for name, value in tensors.items():
        assert loaded[name].dtype == value.dtype
        assert torch.equal(loaded[name], value)


def test_tensor_dict_rejects_a_non_tensor_entry_by_name(tmp_path):
    dataset = TensorDictDataset(str(tmp_path / "bad.safetensors"))
    with pytest.raises(DatasetError, match="'config'.*dict"):
        dataset.save({"weight": torch.zeros(2), "config": {"r": 8}})
