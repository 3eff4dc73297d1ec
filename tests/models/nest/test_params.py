"""Parameter counts equal the official code's (1000 classes ImageNet, 10 CIFAR),
timm's for the ImageNet models, and the official code's parameter tree for the
fixtures' models."""

import json

import numpy as np
import pytest

import keras_nest
from tests.conftest import fixture_path, shapes_only
from tests.models.nest.reference import FLAX_FIXTURES

COUNTS = {
    "NestTiny": 17_057_608,
    "NestSmall": 38_351_176,
    "NestBase": 67_723_368,
    "NestTinyCifar": 6_006_730,
    "NestSmallCifar": 22_849_930,
    "NestBaseCifar": 89_050_378,
}
TIMM_NAMES = {"NestTiny": "nest_tiny_jx", "NestSmall": "nest_small_jx", "NestBase": "nest_base_jx"}


def count(build):
    with shapes_only():
        return build().count_params()


@pytest.mark.parametrize("constructor", sorted(COUNTS))
def test_parameter_count(constructor):
    assert count(getattr(keras_nest, constructor)) == COUNTS[constructor]


@pytest.mark.parametrize("constructor", sorted(TIMM_NAMES))
def test_parameter_count_equals_timm(constructor):
    import timm
    import torch

    with torch.device("meta"):
        reference = timm.create_model(TIMM_NAMES[constructor], num_classes=1000)
    assert COUNTS[constructor] == sum(p.numel() for p in reference.parameters())


@pytest.mark.parametrize("fixture", sorted(FLAX_FIXTURES))
def test_parameter_count_equals_the_official_tree(fixture):
    # The fixtures' .json lists every weight of the official code's model.
    with open(fixture_path("nest", f"{fixture}.json")) as file:
        shapes = json.load(file)["param_keys"].values()
    expected = sum(int(np.prod(shape)) for shape in shapes)
    assert count(lambda: keras_nest.Nest(**FLAX_FIXTURES[fixture])) == expected
