"""DVT's layers: reuse resampling against PyTorch's ops, the attention bias, ExitHead."""

import numpy as np
import pytest

from keras_nest.layers import (
    ExitHead,
    FeatureReuse,
    MultiHeadSelfAttention,
    RelationReuse,
    TransformerBlock,
)
from keras_nest.layers.reuse import resample_tokens, resampling_matrix
from tests.conftest import max_abs_diff, to_numpy
from tests.layers.test_layers import randomize

pytestmark = pytest.mark.core


@pytest.mark.parametrize("source, target", [(7, 10), (10, 14), (7, 14), (14, 7), (5, 9), (4, 4)])
def test_resampling_matrix_is_nearest_x2_then_adaptive_pool(source, target):
    torch = pytest.importorskip("torch")
    grid = torch.eye(source, dtype=torch.float64).reshape(source, 1, source, 1)
    upsampled = torch.nn.functional.interpolate(grid, (2 * source, 1), mode="nearest")
    pooled = torch.nn.functional.adaptive_avg_pool2d(upsampled, (target, 1))
    expected = pooled.reshape(source, target).T.numpy()
    np.testing.assert_allclose(resampling_matrix(source, target), expected, atol=1e-7)


def test_resample_tokens_keeps_the_class_token_and_resamples_both_grid_axes():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 1 + 7 * 7, 5)).astype("float32")
    out = to_numpy(resample_tokens(x, 1, (7, 7), (10, 10)))
    grid = torch.from_numpy(x[:, 1:].reshape(2, 7, 7, 5)).permute(0, 3, 1, 2)
    grid = torch.nn.functional.interpolate(grid, (14, 14), mode="nearest")
    grid = torch.nn.functional.adaptive_avg_pool2d(grid, (10, 10))
    expected = grid.permute(0, 2, 3, 1).reshape(2, 100, 5).numpy()
    np.testing.assert_array_equal(out[:, 0], x[:, 0])
    assert max_abs_diff(out[:, 1:], expected) < 1e-6


def test_feature_reuse_puts_a_zero_class_row_first():
    rng = np.random.default_rng(0)
    layer = FeatureReuse(2, 3, hidden_dim=6, output_dim=4)
    x = rng.normal(size=(2, 5, 8)).astype("float32")
    layer(x)
    randomize(layer, rng)
    out = to_numpy(layer(x))
    assert out.shape == (2, 10, 4)
    np.testing.assert_array_equal(out[:, 0], 0.0)
    assert np.abs(out[:, 1:]).min() > 0


def test_relation_reuse_is_p_r_pt_after_the_channel_mlp():
    rng = np.random.default_rng(1)
    layer = RelationReuse(4, 2, 3)
    x = rng.normal(size=(2, 6, 5, 5)).astype("float32")
    layer(x)
    randomize(layer, rng)
    out = to_numpy(layer(x))
    # The channel MLP in NumPy (exact GELU), then P R P^T with P = blockdiag(1, M kron M).
    from scipy.special import erf

    hidden = np.einsum("bcqk,cd->bqkd", x, to_numpy(layer.fc1.kernel)) + to_numpy(layer.fc1.bias)
    hidden = 0.5 * hidden * (1 + erf(hidden / np.sqrt(2)))
    mixed = hidden @ to_numpy(layer.fc2.kernel) + to_numpy(layer.fc2.bias)
    matrix = resampling_matrix(2, 3)
    p = np.zeros((10, 5))
    p[0, 0] = 1
    p[1:, 1:] = np.kron(matrix, matrix)
    expected = np.einsum("Qq,bqkc,Kk->bcQK", p, mixed, p)
    assert out.shape == (2, 4, 10, 10)
    assert max_abs_diff(out, expected) < 1e-5
    # Training (its MLP's kernel gradients rewritten on JAX's CPU) gives the same value.
    assert max_abs_diff(to_numpy(layer(x, training=True)), expected) < 1e-5


def test_attention_bias_is_added_to_the_logits_it_returns():
    rng = np.random.default_rng(2)
    layer = MultiHeadSelfAttention(2)
    x = rng.normal(size=(2, 5, 8)).astype("float32")
    bias = rng.normal(size=(2, 2, 5, 5)).astype("float32")
    _, plain = layer(x, return_attention_logits=True)
    out, logits = layer(x, attention_bias=bias, return_attention_logits=True)
    assert max_abs_diff(to_numpy(logits), to_numpy(plain) + bias) < 1e-5
    # Every compute path (the fused one included, without logits asked for) agrees.
    assert max_abs_diff(to_numpy(layer(x, attention_bias=bias)), to_numpy(out)) < 1e-5


def test_transformer_block_feeds_reused_features_to_its_mlp():
    rng = np.random.default_rng(3)
    block = TransformerBlock(2, mlp_ratio=2.0)
    x = rng.normal(size=(2, 5, 8)).astype("float32")
    features = rng.normal(size=(2, 5, 3)).astype("float32")
    out = block(x, reused_features=features)
    assert tuple(block.norm2.gamma.shape) == (11,) and tuple(block.mlp.fc1.kernel.shape) == (11, 16)
    assert tuple(block.mlp.fc2.kernel.shape) == (16, 8) and tuple(out.shape) == (2, 5, 8)
    changed = block(x, reused_features=features + 1.0)
    assert max_abs_diff(to_numpy(out), to_numpy(changed)) > 1e-3


def test_exit_head_confidence_is_the_largest_softmax_probability():
    rng = np.random.default_rng(4)
    head = ExitHead(6, activation=None)
    x = rng.normal(size=(3, 5, 8)).astype("float32")
    logits, confidence = (to_numpy(t) for t in head(x, return_confidence=True))
    shifted = np.exp(logits - logits.max(-1, keepdims=True))
    probabilities = shifted / shifted.sum(-1, keepdims=True)
    np.testing.assert_allclose(confidence, probabilities.max(-1), rtol=1e-6)
    assert logits.shape == (3, 6) and confidence.shape == (3,)
