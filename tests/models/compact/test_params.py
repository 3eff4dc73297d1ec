"""Parameter counts: the authors' figures (spec table A6) and vit-pytorch's."""

import pytest

import keras_nest
from tests.models.compact.reference import reference_model

# The authors' counts (README and our spec's table A6); a sine embedding holds
# no weights, so the `_sine` counts leave it out, as the authors' README does.
PUBLISHED = {
    "cct_2_3x2_32": 283_723,
    "cct_2_3x2_32_sine": 275_531,
    "cct_4_3x2_32": 482_123,
    "cct_4_3x2_32_sine": 473_931,
    "cct_6_3x1_32": 3_233_803,
    "cct_6_3x1_32_sine": 3_168_267,
    "cct_6_3x2_32": 3_326_923,
    "cct_6_3x2_32_sine": 3_310_539,
    "cct_7_3x1_32": 3_760_139,
    "cct_7_3x1_32_sine": 3_694_603,
    "cct_7_3x2_32": 3_853_259,
    "cct_7_3x2_32_sine": 3_836_875,
    "cct_7_7x2_224": 4_573_735,
    "cct_7_7x2_224_sine": 4_523_559,
    "cct_14_7x2_224": 22_367_273,
    "cct_14_7x2_384": 22_513_193,
    "vit_lite_7_4_32": 3_716_874,
    "cvt_7_4_32": 3_716_619,
    "vit_lite_6_4_32": 3_190_538,
    "cvt_6_4_32": 3_190_283,
}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_parameter_count_equals_the_authors(name):
    assert keras_nest.create_model(name).count_params() == PUBLISHED[name]


# Variants without a published count: vit-pytorch's trainable parameters.
UNPUBLISHED = {
    "vit_lite_2_4_32": ("vit_lite", 2, "learnable"),
    "vit_lite_4_4_32_sine": ("vit_lite", 4, "sine"),
    "cvt_2_4_32_sine": ("cvt", 2, "sine"),
    "cvt_4_4_32": ("cvt", 4, "learnable"),
}


@pytest.mark.parametrize("name", sorted(UNPUBLISHED))
def test_parameter_count_equals_vit_pytorch(name):
    reference = reference_model(*UNPUBLISHED[name])
    trainable = sum(p.numel() for p in reference.parameters() if p.requires_grad)
    assert keras_nest.create_model(name).count_params() == trainable
