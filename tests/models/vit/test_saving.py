"""Saving ViTs: .keras round trips, .weights.h5 across backends."""

import keras
import numpy as np
import pytest

import keras_nest
from tests.backends import outputs_on_every_backend
from tests.conftest import BACKEND, assert_same_weights, max_abs_diff, outputs_of, perturb_weights
from tests.models.vit.test_parity import TOLERANCE
from tests.torch_references import perturbed_timm, save_state_dict, torch_logits

pytestmark = pytest.mark.core

SMALL = dict(num_layers=2, input_shape=(64, 64, 3), classes=10)
ROUND_TRIP = {
    "token": dict(SMALL),
    "gap_pre_logits": dict(SMALL, pooling_mode="gap", representation_size=32, gelu="tanh"),
    "headless": dict(SMALL, include_top=False, pooling="token"),
}


@pytest.mark.parametrize("case", sorted(ROUND_TRIP))
def test_keras_file_round_trip(case, tmp_path):
    model = perturb_weights(keras_nest.ViTTiny16(**ROUND_TRIP[case]))
    images = np.random.default_rng(1).random((2, 64, 64, 3), dtype=np.float32)
    expected = outputs_of(model, images)
    path = str(tmp_path / f"{case}.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert isinstance(reloaded, keras_nest.TransformerModel)
    assert reloaded.name == model.name and reloaded.count_params() == model.count_params()
    assert_same_weights(reloaded, model)
    np.testing.assert_allclose(outputs_of(reloaded, images), expected, atol=1e-6)


@pytest.mark.skipif(
    BACKEND != "jax", reason="runs once, in the jax run: it starts every backend itself"
)
def test_weights_file_gives_same_logits_on_every_backend(tmp_path):
    reference = perturbed_timm("vit_tiny_patch16_224", img_size=64, depth=2, num_classes=10)
    checkpoint = save_state_dict(reference, tmp_path / "reference.safetensors")
    arguments = dict(num_layers=2, input_shape=(64, 64, 3), classes=10, classifier_activation=None)
    model = keras_nest.ViTTiny16(weights=checkpoint, **arguments)
    args = ", ".join(f"{key}={value!r}" for key, value in arguments.items())
    weights = str(tmp_path / "model.weights.h5")
    model.save_weights(weights)
    images = np.random.default_rng(3).normal(size=(2, 64, 64, 3)).astype("float32")
    logits = outputs_on_every_backend(
        f"keras_nest.ViTTiny16({args})", weights, images, str(tmp_path)
    )
    # The reference's logits, so a file that loaded nothing would fail too.
    assert max_abs_diff(logits["jax"], torch_logits(reference, images)) < TOLERANCE
    for backend in ("tensorflow", "torch"):
        assert max_abs_diff(logits[backend], logits["jax"]) < 1e-5, backend
