"""Parameter counts equal the official code's (1000 classes ImageNet, 10 CIFAR)."""

import pytest

import keras_nest

COUNTS = {
    "NestTiny": 17_057_608,
    "NestSmall": 38_351_176,
    "NestBase": 67_723_368,
    "NestTinyCifar": 6_006_730,
    "NestSmallCifar": 22_849_930,
    "NestBaseCifar": 89_050_378,
}


@pytest.mark.parametrize("constructor, count", COUNTS.items())
def test_parameter_count(constructor, count):
    assert getattr(keras_nest, constructor)().count_params() == count
