"""Parity with timm's VisionTransformer on identical perturbed random weights, fp32."""

import numpy as np
import pytest

import keras_nest
from tests.models.parity import assert_torch_parity
from tests.torch_references import perturbed_timm, save_state_dict

pytestmark = pytest.mark.core
# Measured (jax, tensorflow, torch; AVX-512 and AVX2): up to 5.5e-6 here, 9.5e-6
# for save_npz's file read by timm (tests/models/vit/test_npz.py).
TOLERANCE = 2e-5

# (keras_nest name and arguments, timm name and arguments). The gap model is
# the original "gap" classifier: no class token, the final norm before the
# mean (timm's fc_norm off), 32x32 patches at 64x64 to keep it small.
CASES = {
    "vit_tiny_patch16_224": (dict(), "vit_tiny_patch16_224", dict()),
    "vit_small_patch16_224": (dict(), "vit_small_patch16_224", dict()),
    "vit_small_patch32_gap": (
        dict(pooling_mode="gap", input_shape=(64, 64, 3), classes=10),
        "vit_small_patch32_224",
        dict(img_size=64, class_token=False, global_pool="avg", fc_norm=False, num_classes=10),
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_logits_match_timm(case, tmp_path):
    ours, timm_name, timm_args = CASES[case]
    reference = perturbed_timm(timm_name, **timm_args)
    path = save_state_dict(reference, tmp_path / "reference.safetensors")
    name = case if case in keras_nest.list_models() else timm_name
    model = keras_nest.create_model(name, weights=path, classifier_activation=None, **ours)
    size = model.input_shape[1]
    images = np.random.default_rng(1).normal(size=(2, size, size, 3)).astype("float32")
    # The comparison resolves the GELU's form, and a class token left out.
    token = None if reference.cls_token is None else "cls_token"
    assert_torch_parity(case, model, reference, images, TOLERANCE, 0.5, token)
