"""Shared test set-up: reference imports, backend marks, fixtures and helpers."""

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
