"""Saving Compact Transformers: .keras round trips, .weights.h5 across backends."""

import keras
import numpy as np
import pytest

import keras_nest
from tests.backends import outputs_on_every_backend
from tests.conftest import BACKEND, assert_same_weights, max_abs_diff, outputs_of, perturb_weights
from tests.models.compact.reference import perturb, reference_model
from tests.models.compact.test_parity import TOLERANCE
from tests.torch_references import save_state_dict, torch_logits

pytestmark = pytest.mark.core

# One of each kind: 2-conv and 1-conv tokenizers, the three embeddings, the
# patch tokenizers, the class token and the 224 layout.
ROUND_TRIP = {
    "cct_2_3x2_32": {},
    "cct_2_3x2_32_sine": {},
    "cct_6_3x1_32": dict(positional_embedding="none"),
    "cvt_2_4_32": {},
    "vit_lite_2_4_32": {},
    "cct_7_7x2_224_sine": {},
}


@pytest.mark.parametrize("name", sorted(ROUND_TRIP))
def test_keras_file_round_trip(name, tmp_path):
    model = perturb_weights(keras_nest.create_model(name, **ROUND_TRIP[name]))
    size = model.input_shape[1]
    images = np.random.default_rng(0).random((2, size, size, 3), dtype=np.float32)
    expected = outputs_of(model, images)
    path = str(tmp_path / f"{name}.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert reloaded.name == name and reloaded.count_params() == model.count_params()
    assert_same_weights(reloaded, model)
    np.testing.assert_allclose(outputs_of(reloaded, images), expected, atol=1e-6)


@pytest.mark.skipif(
    BACKEND != "jax", reason="runs once, in the jax run: it starts every backend itself"
)
@pytest.mark.parametrize(
    "name, reference_args",
    [
        ("cct_2_3x2_32_sine", ("cct", 2, "sine")),
        ("vit_lite_2_4_32", ("vit_lite", 2, "learnable")),
    ],
)
def test_weights_file_gives_same_logits_on_every_backend(name, reference_args, tmp_path):
    convs = 2 if "x2" in name else 1
    reference = perturb(reference_model(*reference_args, conv_layers=convs))
    checkpoint = save_state_dict(reference, tmp_path / "reference.pth")
    model = keras_nest.create_model(name, weights=checkpoint, classifier_activation=None)
    weights = str(tmp_path / "model.weights.h5")
    model.save_weights(weights)
    images = np.random.default_rng(3).normal(size=(2, 32, 32, 3)).astype("float32")
    build = f"keras_nest.create_model({name!r}, classifier_activation=None)"
    logits = outputs_on_every_backend(build, weights, images, str(tmp_path))
    # The reference's logits, so a file that loaded nothing would fail too.
    assert max_abs_diff(logits["jax"], torch_logits(reference, images)) < TOLERANCE
    for backend in ("tensorflow", "torch"):
        assert max_abs_diff(logits[backend], logits["jax"]) < 1e-5, backend
