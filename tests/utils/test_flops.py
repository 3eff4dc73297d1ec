"""count_flops against the published tables and against PyTorch's own flop counter."""

import math

import keras
import pytest

import keras_nest
from keras_nest.utils import count_flops, flops
from tests.conftest import BACKEND, shapes_only

pytestmark = pytest.mark.skipif(
    BACKEND != "tensorflow", reason="counts come from shapes and do not depend on the backend"
)

# GMACs per image as timm's benchmark table gives them (fvcore: attention and norms included).
TIMM_GMACS = {
    "nest_tiny": 5.83,
    "nest_small": 10.35,
    "nest_base": 17.96,
    "vit_base_patch16_224": 17.58,
}
# GMACs in the Compact Transformers' README (spec A6; ptflops: no attention matmuls).
CCT_README_GMACS = {
    "cct_2_3x2_32": 0.033,
    "cct_4_3x2_32": 0.046,
    "cct_6_3x1_32": 0.813,
    "cct_6_3x2_32": 0.241,
    "cct_7_3x1_32": 0.947,
    "cct_7_3x2_32": 0.275,
    "cct_14_7x2_224": 5.11,
    "cct_14_7x2_384": 15.02,
    "vit_lite_7_4_32": 0.239,
    "cvt_7_4_32": 0.236,
}


def count(name, **kwargs):
    with shapes_only():
        return count_flops(keras_nest.create_model(name, **kwargs))


@pytest.mark.parametrize("name", sorted(TIMM_GMACS))
def test_timm_table(name):
    assert round(count(name).macs / 1e9, 2) == TIMM_GMACS[name]


@pytest.mark.parametrize("name", sorted(CCT_README_GMACS))
def test_compact_transformers_readme(name):
    digits = 2 if CCT_README_GMACS[name] > 5 else 3
    assert round(count(name).ptflops_macs / 1e9, digits) == CCT_README_GMACS[name]


@pytest.mark.parametrize(
    "name, timm_name", [("nest_tiny", "nest_tiny_jx"), ("vit_tiny_patch16_224", None)]
)
def test_equals_torch_flop_counter(name, timm_name):
    """PyTorch counts every matmul and convolution of timm's model, attention included."""
    import timm
    import torch
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    ours = count(name)
    reference = timm.create_model(timm_name or name, pretrained=False)
    counter = FlopCounterMode(display=False)
    # The math kernel: on some CPUs (a Xeon with AMX) torch picks its CPU flash-attention
    # kernel, whose matmuls the flop counter does not see.
    with counter, torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        reference(torch.zeros(1, 3, 224, 224))
    assert counter.get_total_flops() == 2 * (ours.linear + ours.conv + ours.attention)


def test_attention_matmuls_per_block():
    cct = count("cct_7_3x1_32")
    tokens, width = 256, 256
    assert cct.attention == 7 * 2 * tokens**2 * width
    assert cct.macs - cct.macs_without_attention == cct.attention
    nest = count("nest_tiny")
    # (blocks, width) per level; every block has 196 tokens.
    levels = [(2, 16, 96), (2, 4, 192), (8, 1, 384)]
    assert nest.attention == sum(d * 2 * t * 196**2 * c for d, t, c in levels)


def test_layers_by_hand():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, strides=2, padding="same", name="conv")(inputs)  # 4x4x4
    x = keras.layers.LayerNormalization(name="norm")(x)
    x = keras.layers.Reshape((16, 4))(x)
    outputs = keras.layers.Dense(5, name="dense")(x)
    result = count_flops(keras.Model(inputs, outputs))
    assert result.conv == 4 * 4 * (3 * 3 * 3) * 4
    assert result.norm == 16 * 4 * 5
    assert result.linear == 16 * 4 * 5
    assert result.layers == {"conv": 1728, "norm": 320, "dense": 320}
    assert "0.00 GMACs" in str(result)


def test_unknown_layer_and_dynamic_size_are_errors():
    inputs = keras.Input((8, 3))
    model = keras.Model(inputs, keras.layers.Conv1D(4, 3)(inputs))
    with pytest.raises(ValueError, match="no rule for Conv1D"):
        count_flops(model)
    inputs = keras.Input((None, None, 3))
    model = keras.Model(inputs, keras.layers.Conv2D(4, 3)(inputs))
    with pytest.raises(ValueError, match="fixed input size"):
        count_flops(model)


class Doubler(keras.layers.Layer):
    """A layer of this test's: one Dense applied twice (a rule registered for it counts both)."""

    def build(self, input_shape):
        self.dense = keras.layers.Dense(input_shape[-1], name="dense")
        self.dense.build(input_shape)

    def call(self, inputs):
        return self.dense(self.dense(inputs))


class Scorer(keras.layers.Layer):
    """A layer that declares its own count through ``count_macs``."""

    def build(self, input_shape):
        self.score = keras.layers.Dense(1, name="score")
        self.score.build(input_shape)

    def call(self, inputs):
        return inputs * self.score(inputs)

    def count_macs(self, input_shape, counter):
        counter.layer(self.score, input_shape)
        counter.add("linear", math.prod(input_shape[1:]))  # the product


def test_a_new_layer_registers_its_rule(monkeypatch):
    monkeypatch.setattr(flops, "RULES", dict(flops.RULES))  # the registration ends with the test
    inputs = keras.Input((6, 4))
    model = keras.Model(inputs, Scorer(name="scorer")(Doubler(name="doubler")(inputs)))
    with pytest.raises(ValueError, match="no rule for Doubler .*register_rule"):
        count_flops(model)

    @flops.register_rule(Doubler)
    def _doubler(layer, input_shape, counter):
        for _ in range(2):
            input_shape = counter.layer(layer.dense, input_shape)

    result = count_flops(model)
    assert result.layers == {"doubler": 2 * 6 * 4 * 4, "scorer": 6 * 4 + 6 * 4}
    assert result.linear == result.macs == 2 * 6 * 4 * 4 + 2 * 6 * 4
