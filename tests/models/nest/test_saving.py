"""Saving NesT: .keras round trips for every model, .weights.h5 across backends."""

import os

import keras
import numpy as np
import pytest

import keras_nest
from tests.backends import outputs_on_every_backend
from tests.conftest import BACKEND, assert_same_weights, max_abs_diff, outputs_of, perturb_weights
from tests.models.nest.reference import FLAX_FIXTURES, flax_fixture
from tests.models.nest.test_parity import TOLERANCE

pytestmark = pytest.mark.core
HEAD_SCALE = 10.0


# Both layouts (ImageNet: multi-head attention; CIFAR: multi-query, 1x1
# patches, four levels); the other sizes save through the same code.
@pytest.mark.parametrize("name", ["nest_tiny", "nest_tiny_cifar"])
def test_keras_file_round_trip(name, tmp_path):
    model = perturb_weights(keras_nest.create_model(name))
    size = model.input_shape[1]
    images = np.random.default_rng(0).random((1, size, size, 3), dtype=np.float32)
    expected = outputs_of(model, images)
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.name == name
    assert_same_weights(reloaded, model)
    np.testing.assert_allclose(outputs_of(reloaded, images), expected, atol=1e-6)
    os.remove(path)


@pytest.mark.skipif(
    BACKEND != "jax", reason="runs once, in the jax run: it starts every backend itself"
)
@pytest.mark.parametrize("fixture", sorted(FLAX_FIXTURES))
def test_weights_file_gives_same_logits_on_every_backend(fixture, tmp_path):
    path, arrays = flax_fixture(fixture)
    config = dict(FLAX_FIXTURES[fixture], classifier_activation=None)
    model = keras_nest.Nest(**config, weights=path)
    # The fixtures' classifier is scaled up to give logits of order 30, where
    # float32 itself resolves only ~2e-6; scaled back to a trained model's
    # logit range, 1e-5 measures the backends and not the last bit.
    head = model.get_layer("predictions")
    head.set_weights([w / HEAD_SCALE for w in head.get_weights()])
    weights = str(tmp_path / "model.weights.h5")
    model.save_weights(weights)
    build = f"keras_nest.Nest(**{config!r})"
    logits = outputs_on_every_backend(build, weights, arrays["input"], str(tmp_path))
    # The official code's logits, so a file that loaded nothing would fail too.
    expected = arrays["logits_exact_gelu"] / HEAD_SCALE
    assert max_abs_diff(logits["jax"], expected) < TOLERANCE / HEAD_SCALE
    for backend in ("tensorflow", "torch"):
        assert max_abs_diff(logits[backend], logits["jax"]) < 1e-5, backend
