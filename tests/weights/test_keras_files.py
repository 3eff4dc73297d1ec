"""Keras files as ``weights=``: saved after training (optimizer state beside
the weights), whole ``.keras`` models, files of other models, corrupt files."""

import re

import h5py
import numpy as np
import pytest

import keras_nest
from tests.conftest import BACKEND, assert_same_weights

# Reading and checking files does not depend on the backend (the parity tests load
# weights on every backend), so these run once, in the tensorflow run.
pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="file handling is backend-free")


def tiny_nest(depths=(1, 1, 1), **kwargs):
    """A NesT of a few thousand weights at 32x32."""
    return keras_nest.Nest(
        depths=depths,
        embed_dims=(8, 16, 32),
        num_heads=(1, 2, 4),
        patch_size=4,
        block_size=2,
        classes=3,
        **kwargs,
    )


def trained(model):
    """``model`` with an optimizer's state, as ``compile`` and ``fit`` leave it."""
    model.compile(optimizer="adamw", loss="sparse_categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    return model


def test_weights_saved_after_training_load(tmp_path):
    model = trained(tiny_nest())
    path = str(tmp_path / "trained.weights.h5")
    model.save_weights(path)
    with h5py.File(path) as file:
        assert "optimizer" in file
    assert_same_weights(tiny_nest(weights=path), model)


def test_weights_of_a_deeper_model_are_refused_despite_optimizer_state(tmp_path):
    path = str(tmp_path / "deeper.weights.h5")
    trained(tiny_nest(depths=(1, 1, 2))).save_weights(path)
    pattern = r"'.*deeper\.weights\.h5' does not fit nest: .* optimizer's state, which are not"
    with pytest.raises(ValueError, match=pattern):
        tiny_nest(weights=path)


def test_whole_keras_model_file_loads(tmp_path):
    model = trained(tiny_nest())
    path = str(tmp_path / "best.keras")
    model.save(path)
    assert_same_weights(tiny_nest(weights=path), model)
    with pytest.raises(ValueError, match=r"'.*best\.keras' does not fit nest"):
        tiny_nest(depths=(1, 1, 2), weights=path)


@pytest.mark.parametrize(
    "name, message",
    [
        ("broken.weights.h5", "is not a readable Keras weights file"),
        ("broken.keras", "is not a readable .keras file"),
    ],
)
def test_corrupt_keras_file_is_named(name, message, tmp_path):
    path = tmp_path / name
    path.write_bytes(b"not a weights file")
    with pytest.raises(ValueError, match=re.escape(f"{str(path)!r} {message}")) as info:
        tiny_nest(weights=str(path))
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_checkpoint_of_another_model_is_named(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, **{"conv1.weight": np.zeros((2, 2), "float32")})
    with pytest.raises(ValueError, match=r"'.*other\.npz': Not a NesT checkpoint"):
        tiny_nest(weights=str(path))
