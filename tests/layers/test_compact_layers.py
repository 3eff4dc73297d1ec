"""The Compact Transformers' layers against vit-pytorch's modules and NumPy."""

import numpy as np
import pytest

from keras_nest.layers import (
    ClassToken,
    ConvTokenizer,
    SequencePooling,
    SinePositionEmbedding,
    TransformerBlock,
)
from tests.conftest import max_abs_diff, to_numpy
from tests.layers.test_layers import randomize

pytestmark = pytest.mark.core


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(kernel_size=3, conv_layers=2),  # CCT-x/3x2: "same" convolutions
        dict(kernel_size=7, conv_layers=2),  # CCT-x/7x2: stride 2, padding 3
        dict(kernel_size=5, conv_layers=1, activation=None),  # pool on negative values
        dict(
            kernel_size=4, strides=4, padding=0, use_bias=True, activation=None, max_pool=False
        ),  # ViT-Lite / CVT patches
    ],
)
def test_conv_tokenizer_matches_vit_pytorch(kwargs):
    torch = pytest.importorskip("torch")
    cct = pytest.importorskip("vit_pytorch.cct")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 36, 28, 3)).astype("float32")
    layer = ConvTokenizer(16, hidden_dim=8, **kwargs)
    out = to_numpy(layer(x))
    randomize(layer, rng)
    out = to_numpy(layer(x))

    reference = cct.Tokenizer(
        kernel_size=layer.kernel_size,
        stride=layer.strides,
        padding=layer.padding,
        n_conv_layers=layer.conv_layers,
        n_output_channels=16,
        in_planes=8,
        activation=torch.nn.ReLU if kwargs.get("activation", "relu") else None,
        max_pool=layer.max_pool,
        conv_bias=layer.use_bias,
    )
    with torch.no_grad():
        for stage, conv in zip(reference.conv_layers, layer.convs):
            stage[0].weight.copy_(torch.from_numpy(to_numpy(conv.kernel).transpose(3, 2, 0, 1)))
            if layer.use_bias:
                stage[0].bias.copy_(torch.from_numpy(to_numpy(conv.bias)))
        expected = reference(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy()
    grid = layer.output_grid(36, 28)
    assert out.shape == expected.shape == (2, grid[0] * grid[1], 16)
    # Two 7x7 convolutions of N(0, 0.3) weights give outputs of order 100.
    assert max_abs_diff(out, expected) < 1e-6 * max(10.0, np.abs(expected).max())


def test_conv_tokenizer_defaults_are_the_authors():
    # stride max(1, k // 2 - 1) and padding max(1, k // 2), as _cct computes them.
    assert [(ConvTokenizer(8, k).strides, ConvTokenizer(8, k).padding) for k in (3, 5, 7)] == [
        (1, 1),
        (1, 2),
        (2, 3),
    ]
    assert ConvTokenizer(8, 7, conv_layers=2).output_grid(224, 224) == (14, 14)
    assert ConvTokenizer(8, 7, conv_layers=2).output_grid(384, 384) == (24, 24)
    assert ConvTokenizer(8, 3, conv_layers=1).output_grid(32, 32) == (16, 16)


def test_sequence_pooling_is_a_softmax_weighted_sum():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 7, 8)).astype("float32")
    layer = SequencePooling()
    layer.build(x.shape)
    randomize(layer, rng)
    kernel, bias = (to_numpy(w).astype("float64") for w in layer.attention_pool.weights)
    scores = (x @ kernel + bias)[..., 0]
    weights = np.exp(scores - scores.max(1, keepdims=True))
    weights /= weights.sum(1, keepdims=True)
    expected = np.einsum("bn,bnc->bc", weights, x)
    assert max_abs_diff(to_numpy(layer(x)), expected) < 1e-5


def test_class_token_is_prepended():
    x = np.ones((2, 5, 4), "float32")
    layer = ClassToken()
    out = to_numpy(layer(x))
    assert out.shape == (2, 6, 4) and not out[:, 0].any() and out[:, 1:].all()
    layer.token.assign(np.full((1, 1, 4), 3.0, "float32"))
    assert (to_numpy(layer(x))[:, 0] == 3.0).all()


def test_sine_embedding_adds_a_fixed_table():
    layer = SinePositionEmbedding()
    out = to_numpy(layer(np.zeros((2, 10, 6), "float32")))
    assert not layer.weights and out.shape == (2, 10, 6)
    positions = np.arange(10)[:, None]
    angles = positions / 10000 ** (2 * (np.arange(6) // 2) / 6)
    expected = np.where(np.arange(6) % 2 == 0, np.sin(angles), np.cos(angles))
    assert max_abs_diff(out[1], expected) < 1e-6


def test_transformer_block_norm_residual_is_the_authors_block():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 8)).astype("float32")
    block = TransformerBlock(2, norm_residual=True)
    block.build(x.shape)
    randomize(block, rng)
    # x += attn(LN(x)); x = LN(x); x += mlp(x)
    stream = to_numpy(block.norm2(x + to_numpy(block.attn(block.norm1(x)))))
    expected = stream + to_numpy(block.mlp(stream))
    assert max_abs_diff(to_numpy(block(x)), expected) < 1e-5
