"""Parameter counts of every named ViT equal timm's for the same name, and the
published figures where there are some."""

import pytest

import keras_nest
from keras_nest.models.registry import model_record
from tests.conftest import BACKEND, shapes_only

VARIANTS = [name for name in keras_nest.list_models() if model_record(name).preset.family == "vit"]
# torchvision's weights tables (ViT_B_16_Weights.IMAGENET1K_V1 ... ,
# meta["num_params"]), 1000 classes, no pre-logits; the 384 one is
# IMAGENET1K_SWAG_E2E_V1, the huge one IMAGENET1K_SWAG_LINEAR_V1 (at 224).
PUBLISHED = {
    "vit_base_patch16_224": 86_567_656,
    "vit_base_patch16_384": 86_859_496,
    "vit_base_patch32_224": 88_224_232,
    "vit_large_patch16_224": 304_326_632,
    "vit_large_patch32_224": 306_535_400,
    "vit_huge_patch14_224": 632_045_800,
}
pytestmark = pytest.mark.skipif(
    BACKEND != "tensorflow", reason="counts do not depend on the backend"
)


def timm_count(name):
    import timm
    import torch

    with torch.device("meta"):
        model = timm.create_model(name, pretrained=False, num_classes=1000)
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize("name", VARIANTS)
def test_parameter_count_equals_timm(name):
    with shapes_only():
        ours = keras_nest.create_model(name).count_params()
    assert ours == timm_count(name)


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_timm_count_is_the_published_figure(name):
    # With the test above: ours equals timm's equals the published figure.
    assert timm_count(name) == PUBLISHED[name]


def test_every_size_is_registered_at_224_and_384():
    assert len(VARIANTS) == 15
    for constructor in ("ViTTiny16", "ViTSmall32", "ViTLarge32", "ViTHuge14"):
        assert getattr(keras_nest, constructor).__name__ == constructor
    assert "vit_large_patch32_384" in VARIANTS
