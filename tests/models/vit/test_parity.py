"""Parity with timm's VisionTransformer on identical perturbed random weights, fp32."""

import numpy as np
import pytest

import keras_nest
from tests.conftest import BACKEND, max_abs_diff, to_numpy
from tests.torch_references import perturbed_timm, save_state_dict, torch_logits

pytestmark = pytest.mark.core

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
    expected = torch_logits(reference, images)
    assert expected.std() > 0.5, "logits too small to tell models apart"
    error = max_abs_diff(to_numpy(model(images)), expected)
    print(f"{case} on {BACKEND}: max logit error {error:.2e}")
    assert error < 1e-4
