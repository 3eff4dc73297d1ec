"""Parameter counts of every named ViT equal timm's for the same name."""

import keras
import pytest

import keras_nest
from tests.conftest import BACKEND

VARIANTS = [name for name in keras_nest.list_models("vit_") if not name.startswith("vit_lite")]
# Counts timm and the ViT paper's table 1 agree on (1000 classes, no pre-logits).
KNOWN = {
    "vit_base_patch16_224": 86_567_656,
    "vit_large_patch16_224": 304_326_632,
    "vit_huge_patch14_224": 632_045_800,
}


def timm_count(name):
    import timm
    import torch

    with torch.device("meta"):
        model = timm.create_model(name, pretrained=False, num_classes=1000)
    return sum(p.numel() for p in model.parameters())


@pytest.mark.skipif(BACKEND != "tensorflow", reason="counts do not depend on the backend")
@pytest.mark.parametrize("name", VARIANTS)
def test_parameter_count_equals_timm(name):
    with keras.StatelessScope():
        ours = keras_nest.create_model(name).count_params()
    assert ours == timm_count(name)
    assert ours == KNOWN.get(name, ours)


def test_every_size_is_registered_at_224_and_384():
    assert len(VARIANTS) == 15
    for constructor in ("ViTTiny16", "ViTSmall32", "ViTLarge32", "ViTHuge14"):
        assert getattr(keras_nest, constructor).__name__ == constructor
    assert "vit_large_patch32_384" in VARIANTS
