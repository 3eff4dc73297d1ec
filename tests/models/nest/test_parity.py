"""Logit parity with the reference implementations, fp32, on identical weights."""

import numpy as np
import pytest

import keras_nest
from tests.conftest import BACKEND, outputs_of
from tests.models.nest.reference import FLAX_FIXTURES, flax_fixture
from tests.models.parity import assert_matches, assert_tells_apart, assert_torch_parity
from tests.torch_references import perturbed_timm, save_state_dict

pytestmark = pytest.mark.core
# Measured (jax, tensorflow, torch; AVX-512 and AVX2): 1.2e-6 to 2.9e-6 against
# timm, up to 1.7e-5 against the official code's logits of order 30 (float32
# resolves 2e-6 there; tensorflow's AVX-512 kernels, 7.6e-6 without them).
TOLERANCE = 3e-5


@pytest.mark.parametrize(
    "timm_name, constructor",
    [
        ("nest_tiny_jx", keras_nest.NestTiny),
        # The full size once, in the torch run (the shortest suite): 30-60 s a backend,
        # and NesT-T already checks the same code on every backend.
        pytest.param(
            "nest_base_jx",
            keras_nest.NestBase,
            marks=pytest.mark.skipif(BACKEND != "torch", reason="NesT-B: in the torch run"),
        ),
    ],
)
def test_timm_parity(timm_name, constructor, tmp_path):
    reference = perturbed_timm(timm_name)
    path = save_state_dict(reference, tmp_path / f"{timm_name}.safetensors")
    images = np.random.default_rng(0).random((2, 224, 224, 3), dtype=np.float32)
    model = constructor(weights=path, classifier_activation=None)
    # The comparison resolves a detail as small as the GELU's form.
    assert_torch_parity(timm_name, model, reference, images, TOLERANCE, 1.0)


@pytest.mark.parametrize("fixture", sorted(FLAX_FIXTURES))
@pytest.mark.parametrize("gelu", ["tanh", "exact"])
def test_official_flax_parity(fixture, gelu):
    path, arrays = flax_fixture(fixture)
    expected = arrays[f"logits_{gelu}_gelu"]
    other = arrays["logits_exact_gelu" if gelu == "tanh" else "logits_tanh_gelu"]

    model = keras_nest.Nest(
        **FLAX_FIXTURES[fixture], gelu=gelu, weights=path, classifier_activation=None
    )
    logits = outputs_of(model, arrays["input"])
    label = f"{fixture} ({gelu} GELU)"
    assert_matches(label, logits, expected, TOLERANCE)
    assert_tells_apart(label, logits, TOLERANCE, {"the other GELU": other})
