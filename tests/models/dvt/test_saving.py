"""Saving DVT cascades: .keras round trips, .weights.h5 across backends."""

import keras
import numpy as np
import pytest

import keras_nest
from tests.backends import outputs_on_every_backend
from tests.conftest import BACKEND, assert_same_weights, max_abs_diff, outputs_of, perturb_weights

pytestmark = pytest.mark.core

TINY = (
    "keras_nest.DVT(token_grids=(2, 3, 4), embed_dim=32, depth=2, num_heads=2, mlp_ratio=2.0, "
    "classes=10, input_shape=(32, 32, 3), classifier_activation=None{})"
)
CASES = {
    "deit, both reuses": TINY.format(""),
    "deit, relations only": TINY.format(", feature_reuse=False"),
    "t2t, features only": (
        "keras_nest.DVT(token_grids=(7, 14), backbone='t2t', embed_dim=32, depth=1, "
        "num_heads=2, token_dim=16, qkv_bias=False, classes=10, relation_reuse=False)"
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_file_round_trip(case, tmp_path):
    if case != "deit, both reuses" and BACKEND != "tensorflow":
        pytest.skip("the other cases run once, in the tensorflow run")
    model = perturb_weights(eval(CASES[case]))
    size = model.input_shape[1]
    images = np.random.default_rng(0).random((2, size, size, 3), dtype=np.float32)
    expected = outputs_of(model, images)
    path = str(tmp_path / "dvt.keras")
    model.save(path)
    reloaded = keras.saving.load_model(path)
    assert isinstance(reloaded, keras_nest.DVTModel)
    assert [m.name for m in reloaded.exit_models] == [m.name for m in model.exit_models]
    assert reloaded.count_params() == model.count_params()
    assert_same_weights(reloaded, model)
    for ours, theirs in zip(outputs_of(reloaded, images), expected):
        np.testing.assert_allclose(ours, theirs, atol=1e-5)


def test_weights_file_round_trip(tmp_path):
    model = perturb_weights(eval(CASES["deit, both reuses"]))
    path = str(tmp_path / "dvt.weights.h5")
    model.save_weights(path)
    other = eval(CASES["deit, both reuses"])
    other.load_weights(path)
    assert_same_weights(other, model)


@pytest.mark.skipif(
    BACKEND != "jax", reason="runs once, in the jax run: it starts every backend itself"
)
def test_weights_file_gives_same_logits_on_every_backend(tmp_path):
    model = perturb_weights(eval(CASES["deit, both reuses"]))
    weights = str(tmp_path / "model.weights.h5")
    model.save_weights(weights)
    images = np.random.default_rng(1).random((2, 32, 32, 3), dtype=np.float32)
    expected = outputs_of(model, images)
    logits = outputs_on_every_backend(CASES["deit, both reuses"], weights, images, str(tmp_path))
    for backend, outputs in logits.items():
        for index, (ours, theirs) in enumerate(zip(outputs, expected), start=1):
            assert max_abs_diff(ours, theirs) < 1e-5, f"{backend} exit {index}"
