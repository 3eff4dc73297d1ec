"""Shared test set-up: reference imports, backend marks, fixtures and helpers."""

import hashlib
import os

# timm pulls in triton, whose LLVM clashes with TensorFlow's if TensorFlow
# loads first; importing the reference implementations first avoids it.
try:
    import timm  # noqa: F401
except ImportError:
    pass

import keras
import numpy as np
import pytest

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
BACKEND = keras.backend.backend()


def fixture_path(*parts):
    """Path of a file under tests/fixtures."""
    return os.path.join(FIXTURES, *parts)


def to_numpy(x):
    return keras.ops.convert_to_numpy(x)


def max_abs_diff(a, b):
    return float(np.max(np.abs(np.asarray(a, "float64") - np.asarray(b, "float64"))))


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


def publish_locally(monkeypatch, tmp_path, table, weights_name, checkpoint, sha256, classes):
    """Serves ``checkpoint`` from a file:// URL as ``table[weights_name]``.

    ``table`` is one model's ``{name: WeightsFile}``; the Keras cache moves to
    ``tmp_path/cache`` so the download really happens, hash check included.
    ``sha256`` None publishes the file's own hash.
    """
    from keras_nest.weights import WeightsFile, loading

    if sha256 is None:
        with open(checkpoint, "rb") as file:
            sha256 = hashlib.sha256(file.read()).hexdigest()
    filename = f"test_{weights_name}_{os.path.basename(checkpoint)}"
    published = WeightsFile(
        url=f"file://{checkpoint}", filename=filename, sha256=sha256, classes=classes
    )
    monkeypatch.setitem(table, weights_name, published)
    (tmp_path / "cache").mkdir()
    monkeypatch.setattr(loading, "CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / loading.CACHE_SUBDIR / filename
