"""Flax msgpack checkpoints (the official NesT runs, vit_jax's train.py), written
here without flax in the format ``flax.serialization`` writes."""

import sys

import ml_dtypes
import numpy as np
import pytest

from keras_nest.weights import readers
from tests.conftest import BACKEND, flax_msgpack

# Reading and checking files does not depend on the backend (the parity tests load
# weights on every backend), so these run once, in the tensorflow run.
pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="file handling is backend-free")


def test_nested_tree_reads_flat_with_its_dtypes(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "flax", None)  # read without flax
    rng = np.random.default_rng(0)
    flat = {
        "optimizer/target/Dense_0/kernel": rng.normal(size=(3, 4)).astype("float32"),
        "optimizer/target/Dense_0/bias": rng.normal(size=4).astype("float16"),
        "optimizer/target/LayerNorm_0/scale": np.array([1.5, -2.0], ml_dtypes.bfloat16),
        "optimizer/state/step": np.int64(300),
    }
    tree = {
        "optimizer": {
            "target": {
                "Dense_0": {
                    "kernel": flat["optimizer/target/Dense_0/kernel"],
                    "bias": flat["optimizer/target/Dense_0/bias"],
                },
                "LayerNorm_0": {"scale": flat["optimizer/target/LayerNorm_0/scale"]},
            },
            "state": {"step": flat["optimizer/state/step"]},
        }
    }
    path = tmp_path / "checkpoint_300"  # flax.training.checkpoints names them so
    path.write_bytes(flax_msgpack(tree))
    read = readers.read_checkpoint(str(path))
    assert sorted(read) == sorted(flat)
    for key, value in flat.items():
        assert read[key].dtype == np.asarray(value).dtype, key
        np.testing.assert_array_equal(read[key], value, key)


def test_file_of_no_format_is_named_unreadable(tmp_path):
    path = tmp_path / "checkpoint_1"
    path.write_bytes(b"\xc1 is never the start of a msgpack object")
    with pytest.raises(ValueError, match=r"Could not read checkpoint '.*checkpoint_1'"):
        readers.read_checkpoint(str(path))


def test_an_array_flax_wrote_in_chunks_is_joined(tmp_path):
    # flax.serialization splits arrays over 1 GiB into flat chunks with their shape.
    whole = np.arange(12, dtype="float32").reshape(3, 4)
    chunked = {
        "__msgpack_chunked_array__": True,
        "chunks": {"0": whole.ravel()[:8], "1": whole.ravel()[8:]},
        "shape": {"0": 3, "1": 4},
    }
    path = tmp_path / "checkpoint_1"
    path.write_bytes(flax_msgpack({"params": {"embedding": chunked}}))
    np.testing.assert_array_equal(readers.read_checkpoint(str(path))["params/embedding"], whole)
