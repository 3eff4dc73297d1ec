"""Shared test set-up: reference imports, backend marks, fixtures and helpers."""

import contextlib
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


def outputs_of(model, inputs):
    """``model(inputs)`` as numpy (a list of arrays for several outputs).

    On JAX through one compiled program (``predict_on_batch``): eager JAX compiles
    each op for each new shape, which made a NesT's first call 3-4x slower than
    compiling the model (Intel Xeon, 2 cores). TensorFlow and torch call it eagerly,
    which is faster there than tracing a function.
    """
    if BACKEND == "jax":
        return model.predict_on_batch(inputs)
    outputs = model(inputs)
    if isinstance(outputs, (list, tuple)):
        return [to_numpy(output) for output in outputs]
    return to_numpy(outputs)


def max_abs_diff(a, b):
    return float(np.max(np.abs(np.asarray(a, "float64") - np.asarray(b, "float64"))))


@pytest.fixture(autouse=True)
def _seed():
    keras.utils.set_random_seed(0)


@pytest.fixture(autouse=True, scope="module")
def _release_models_after_each_module():
    """Frees Keras's global state (traced functions, graphs) when a test module ends,
    so that a worker's memory does not grow over the suite."""
    yield
    keras.backend.clear_session()


@contextlib.contextmanager
def shapes_only():
    """Models built inside hold variables with shapes and no values: no memory, no
    initialisers run (ViT-H builds in about a second)."""
    try:
        with keras.StatelessScope(initialize_variables=False):
            yield
    finally:
        # Forget the variables left uninitialised (also after an error raised
        # inside), which the next StatelessScope to close would otherwise initialise.
        keras.backend.clear_session(free_memory=False)


def publish_locally(monkeypatch, tmp_path, table, weights_name, checkpoint, sha256, classes):
    """Serves ``checkpoint`` from a file:// URL as ``table[weights_name]``.

    ``table`` is one model's ``{name: WeightsFile}``; the Keras cache moves to
    ``tmp_path/cache`` so the download really happens, hash check included.
    ``sha256`` None publishes the file's own hash.
    """
    from keras_nest.presets import WeightsFile
    from keras_nest.weights import loading

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


def tree_of(flat):
    """``{"a/b": x} -> {"a": {"b": x}}``, as vit_jax's ``recover_tree``."""
    tree = {}
    for key, value in flat.items():
        *parents, leaf = key.split("/")
        node = tree
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return tree


def flax_msgpack(tree):
    """``tree`` (nested dicts of numpy arrays and scalars) as the bytes that
    ``flax.serialization.to_bytes`` (and so flax.training.checkpoints) writes,
    made without flax.

    Flax's format: msgpack maps for the dicts, in their own order; a numpy
    array is msgpack's extension type 1, a numpy scalar type 3, each holding
    the msgpack of ``(shape, dtype name, C-order bytes)``; Python numbers stay
    plain.
    """
    import msgpack

    def encode(value):
        if not isinstance(value, (np.ndarray, np.generic)):
            raise TypeError(f"not in a Flax checkpoint: {type(value).__name__}")
        array = np.asarray(value)
        payload = (array.shape, array.dtype.name, array.tobytes("C"))
        code = 1 if isinstance(value, np.ndarray) else 3
        return msgpack.ExtType(code, msgpack.packb(payload, use_bin_type=True))

    return msgpack.packb(tree, default=encode, strict_types=True)


def perturb_weights(model, seed=0, scale=0.1):
    """Adds seeded N(0, scale) noise to every variable of ``model``.

    Tokens, position embeddings and the zero-initialised head included, each
    variable gets noise of its own, so a weight lost or swapped on a reload shows.
    """
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        value = to_numpy(variable)
        variable.assign((value + scale * rng.normal(size=value.shape)).astype(value.dtype))
    return model


def assert_same_weights(model, other):
    """Two models hold equal weights, variable by variable."""
    assert len(model.weights) == len(other.weights)
    for variable, ours, theirs in zip(model.weights, model.get_weights(), other.get_weights()):
        np.testing.assert_array_equal(ours, theirs, variable.path)
