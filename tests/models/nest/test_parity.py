"""Logit parity with the reference implementations, fp32, on identical weights."""

import numpy as np
import pytest

import keras_nest
from tests.conftest import max_abs_diff, to_numpy
from tests.models.nest.reference import FLAX_FIXTURES, flax_fixture
from tests.torch_references import perturbed_timm, save_state_dict, torch_logits

pytestmark = pytest.mark.core
TOLERANCE = 1e-4


@pytest.mark.parametrize(
    "timm_name, constructor, suffix",
    [
        ("nest_tiny_jx", keras_nest.NestTiny, ".safetensors"),
        ("nest_tiny_jx", keras_nest.NestTiny, ".pth"),
        ("nest_base_jx", keras_nest.NestBase, ".safetensors"),
    ],
)
def test_timm_parity(timm_name, constructor, suffix, tmp_path):
    reference = perturbed_timm(timm_name)
    path = save_state_dict(reference, tmp_path / f"{timm_name}{suffix}")
    images = np.random.default_rng(0).random((2, 224, 224, 3), dtype=np.float32)
    expected = torch_logits(reference, images)
    assert expected.std() > 1.0  # the perturbed weights give logits that tell models apart

    model = constructor(weights=path, classifier_activation=None)
    logits = to_numpy(model.predict(images, verbose=0))
    assert max_abs_diff(logits, expected) < TOLERANCE


@pytest.mark.parametrize("fixture", sorted(FLAX_FIXTURES))
@pytest.mark.parametrize("gelu", ["tanh", "exact"])
def test_official_flax_parity(fixture, gelu):
    path, arrays = flax_fixture(fixture)
    expected = arrays[f"logits_{gelu}_gelu"]
    other = arrays["logits_exact_gelu" if gelu == "tanh" else "logits_tanh_gelu"]
    # The two GELUs differ by far more than the tolerance, so a wrong one fails.
    assert max_abs_diff(expected, other) > 10 * TOLERANCE

    model = keras_nest.Nest(
        **FLAX_FIXTURES[fixture], gelu=gelu, weights=path, classifier_activation=None
    )
    logits = to_numpy(model(arrays["input"]))
    assert max_abs_diff(logits, expected) < TOLERANCE
