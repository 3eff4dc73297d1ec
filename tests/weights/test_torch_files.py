"""Torch checkpoints read without torch: zip-format state dicts, training
wrappers, DVT's .pth.tar; the legacy format, corrupt and malicious files."""

import argparse
import os
import pickle
import re
import sys
import zipfile

import numpy as np
import pytest

import keras_nest
from keras_nest.weights import readers
from tests.conftest import BACKEND
from tests.models.compact.reference import reference_model
from tests.torch_references import save_state_dict

# Reading and checking files does not depend on the backend (the parity tests load
# weights on every backend), so these run once, in the tensorflow run.
pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="file handling is backend-free")


def block_torch(monkeypatch):
    """Makes any ``import torch`` fail from here on, as after a plain install."""
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ImportError):
        import torch  # noqa: F401


def torch_save(obj, path, **kwargs):
    import torch

    torch.save(obj, str(path), **kwargs)
    return str(path)


@pytest.fixture(scope="module")
def tensors():
    """Tensors of every kind the reader rebuilds, two views of one storage among them."""
    import torch

    generator = torch.Generator().manual_seed(0)
    base = torch.randn(4, 6, generator=generator)
    return {
        "float32": torch.randn(3, 4, generator=generator),
        "float16": torch.randn(5, generator=generator).half(),
        "bfloat16": torch.randn(2, 3, generator=generator).bfloat16(),
        "int64": torch.tensor([3, -1]),
        "bool": torch.tensor([True, False]),
        "transposed": base.t(),
        "offset_view": base[1:, 2:],
        "scalar": torch.tensor(2.5),
        "empty": torch.zeros(0, 3),
    }


def assert_same_tensors(arrays, tensors):
    """Same names, shapes, dtypes and values as the torch tensors."""
    assert sorted(arrays) == sorted(tensors)
    for name, tensor in tensors.items():
        array = arrays[name]
        assert array.shape == tuple(tensor.shape), name
        assert array.dtype.name == str(tensor.dtype).removeprefix("torch."), name
        np.testing.assert_array_equal(array.astype(np.float32), tensor.float().numpy(), name)


def test_zip_state_dict_reads_without_torch(tensors, tmp_path, monkeypatch):
    path = torch_save(tensors, tmp_path / "state.pth")
    block_torch(monkeypatch)
    assert_same_tensors(readers.read_torch_file(path), tensors)
    flat = readers.read_checkpoint(path)
    assert sorted(flat) == sorted(tensors)
    for name, tensor in tensors.items():
        assert flat[name].dtype == np.float32
        np.testing.assert_array_equal(flat[name], tensor.float().numpy())


def test_training_checkpoint_reads_without_torch(tmp_path, monkeypatch):
    import torch

    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4))
    optimizer = torch.optim.AdamW(net.parameters())
    net(torch.randn(2, 3)).sum().backward()
    optimizer.step()
    args = argparse.Namespace(model="cct_2_3x2_32", lr=5e-4, device="cuda:0", mean=(0.5,))
    state = net.state_dict()
    checkpoint = {  # as timm's train.py saves it
        "epoch": 7,
        "arch": "cct_2_3x2_32",
        "state_dict": state,
        "optimizer": optimizer.state_dict(),
        "version": 2,
        "args": args,
        "state_dict_ema": state,
        "metric": 91.5,
    }
    path = torch_save(checkpoint, tmp_path / "checkpoint-7.pth.tar")
    exp_avg = optimizer.state_dict()["state"][0]["exp_avg"].numpy()
    block_torch(monkeypatch)
    assert_same_tensors(readers.read_checkpoint(path), {k: v.float() for k, v in state.items()})
    from keras_nest.weights.torch_pickle import PickledObject

    whole = readers.read_torch_file(path)
    assert isinstance(whole["args"], PickledObject)
    assert (type(whole["args"]).__module__, type(whole["args"]).__qualname__) == (
        "argparse",
        "Namespace",
    )
    assert whole["args"].state == vars(args)
    assert whole["epoch"] == 7 and whole["metric"] == 91.5
    np.testing.assert_array_equal(whole["optimizer"]["state"][0]["exp_avg"], exp_avg)


def test_dvt_checkpoint_keeps_its_other_entries(tensors, tmp_path, monkeypatch):
    import torch

    threshold = torch.rand(59, 3, generator=torch.Generator().manual_seed(1))
    checkpoint = {  # DVT's release layout
        "model_state_dict": tensors,
        "flops": [0.5, 1.0, 2.0],
        "anytime_classification": [70.1, 75.2, 80.0],
        "dynamic_threshold": threshold,
    }
    path = torch_save(checkpoint, tmp_path / "dvt_t2t_vit_12.pth.tar")
    block_torch(monkeypatch)
    assert sorted(readers.read_checkpoint(path)) == sorted(tensors)
    whole = readers.read_torch_file(path)
    np.testing.assert_array_equal(whole["dynamic_threshold"], threshold.numpy())
    assert whole["flops"] == [0.5, 1.0, 2.0]


def test_authors_pth_loads_into_a_model_without_torch(tmp_path, monkeypatch):
    reference = reference_model("cct", 2, "learnable", conv_layers=2)
    pth = save_state_dict(reference, tmp_path / "cct_2.pth")
    safetensors = save_state_dict(reference, tmp_path / "cct_2.safetensors")
    expected = keras_nest.create_model("cct_2_3x2_32", weights=safetensors).get_weights()
    block_torch(monkeypatch)
    loaded = keras_nest.create_model("cct_2_3x2_32", weights=pth).get_weights()
    assert len(loaded) == len(expected)
    for ours, theirs in zip(loaded, expected):
        np.testing.assert_array_equal(ours, theirs)


def test_legacy_format_needs_torch_and_says_so(tensors, tmp_path, monkeypatch):
    path = torch_save(tensors, tmp_path / "legacy.pth", _use_new_zipfile_serialization=False)
    assert_same_tensors(readers.read_torch_file(path), tensors)  # with torch
    block_torch(monkeypatch)
    with pytest.raises(ImportError, match=re.escape(repr(path)) + ".*legacy.*pip install torch"):
        readers.read_checkpoint(path)


def zip_without_pickle(path):
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("weights/data/0", b"\0" * 8)


@pytest.mark.parametrize("corruption", ["text", "truncated", "zip_without_pickle"])
def test_corrupt_torch_file_is_named_unreadable(corruption, tensors, tmp_path, monkeypatch):
    path = str(tmp_path / "broken.pth")
    if corruption == "text":
        with open(path, "wb") as file:
            file.write(b"not a checkpoint")
    elif corruption == "truncated":
        with open(torch_save(tensors, tmp_path / "whole.pth"), "rb") as file:
            data = file.read()
        with open(path, "wb") as file:
            file.write(data[: len(data) // 2])
    else:
        zip_without_pickle(path)
    block_torch(monkeypatch)
    pattern = r"Could not read checkpoint '.*broken\.pth': it is"
    with pytest.raises(ValueError, match=pattern) as info:
        readers.read_checkpoint(path)
    assert info.value.__cause__ is None and info.value.__suppress_context__


class _RunsCommand:
    """Pickles as a call of os.system, as a malicious checkpoint would."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("layout", ["torch_zip", "bare_pickle"])
def test_malicious_pickle_is_refused_unrun(layout, tmp_path, monkeypatch):
    marker = tmp_path / "ran"
    payload = {"weight": np.zeros(2, "float32"), "trap": _RunsCommand(marker)}
    path = tmp_path / "model.pth"
    if layout == "torch_zip":
        import torch

        payload["weight"] = torch.zeros(2)
        torch_save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=2))
    block_torch(monkeypatch)
    with pytest.raises(ValueError, match=r"'.*model\.pth': .*(refused|neither)"):
        readers.read_checkpoint(str(path))
    assert not marker.exists()
    if layout == "torch_zip":
        with pytest.raises(ValueError, match=r"system, .*refused without running it"):
            readers.read_torch_file(str(path))
        assert not marker.exists()


def test_float8_tensor_is_refused_naming_its_storage(tmp_path, monkeypatch):
    import torch

    path = torch_save({"w": torch.zeros(2, dtype=torch.float8_e4m3fn)}, tmp_path / "fp8.pth")
    block_torch(monkeypatch)
    with pytest.raises(ValueError, match=r"'.*fp8\.pth': .*UntypedStorage, .*without torch"):
        readers.read_checkpoint(path)
