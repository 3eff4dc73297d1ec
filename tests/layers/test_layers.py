"""Layer behaviour against NumPy and timm references."""

import contextlib
import math

import keras
import numpy as np
import pytest

from keras_nest.layers import (
    BlockAggregation,
    Blockify,
    Deblockify,
    MultiHeadSelfAttention,
    PatchEmbedding,
    PositionEmbedding,
    StochasticDepth,
    TransformerBlock,
    compute_paths,
)
from tests.conftest import BACKEND, max_abs_diff, to_numpy

pytestmark = pytest.mark.core


def reference_attention(x, qkv_kernel, qkv_bias, proj_kernel, proj_bias, heads, kv_heads):
    """Softmax attention over axis -2 of ``x`` in float64 NumPy."""
    x = x.astype("float64")
    channels = x.shape[-1]
    head_dim = channels // heads
    qkv = x @ qkv_kernel + qkv_bias
    q = qkv[..., : heads * head_dim].reshape(*x.shape[:-1], heads, head_dim)
    k = qkv[..., heads * head_dim : (heads + kv_heads) * head_dim]
    v = qkv[..., (heads + kv_heads) * head_dim :]
    k = np.repeat(k.reshape(*x.shape[:-1], kv_heads, head_dim), heads // kv_heads, -2)
    v = np.repeat(v.reshape(*x.shape[:-1], kv_heads, head_dim), heads // kv_heads, -2)
    logits = np.einsum("...qhd,...khd->...hqk", q, k) / np.sqrt(head_dim)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    weights /= weights.sum(-1, keepdims=True)
    out = np.einsum("...hqk,...khd->...qhd", weights, v).reshape(x.shape)
    return out @ proj_kernel + proj_bias, weights


def randomize(layer, rng):
    for variable in layer.weights:
        variable.assign(rng.normal(0, 0.3, variable.shape).astype("float32"))


def count_calls(monkeypatch, name):
    """``compute_paths.<name>``, counted: returns the list its calls' arguments go to."""
    calls = []
    computed = getattr(compute_paths, name)
    monkeypatch.setattr(compute_paths, name, lambda *args: calls.append(args) or computed(*args))
    return calls


def training_gradients(call, layer, x, weights, training):
    """JAX's gradients of ``sum(call(layer, x, training) * weights)`` with respect to the
    layer's trainable variables, then ``x``: a list of arrays."""
    import jax

    def loss(values, x):
        mapping = list(zip(layer.trainable_variables, values))
        with keras.StatelessScope(state_mapping=mapping):
            return (call(layer, x, training) * weights).sum()

    values = [variable.value for variable in layer.trainable_variables]
    gradients = jax.jit(jax.grad(loss, argnums=(0, 1)))(values, x)
    return [np.asarray(gradient) for gradient in jax.tree_util.tree_leaves(gradients)]


def test_blockify_index_order():
    height, width, bh, bw = 8, 12, 2, 3
    ys, xs = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
    image = np.stack([ys, xs], -1)[None].astype("float32")  # each pixel holds (y, x)
    blocks = to_numpy(Blockify((bh, bw))(image))
    assert blocks.shape == (1, (height // bh) * (width // bw), bh * bw, 2)
    for y in range(height):
        for x in range(width):
            t = (y // bh) * (width // bw) + x // bw
            n = (y % bh) * bw + x % bw
            assert tuple(blocks[0, t, n]) == (y, x)


def test_deblockify_inverts_blockify():
    image = np.random.default_rng(0).random((2, 12, 18, 5), dtype=np.float32)
    blocks = Blockify((3, 6))(image)  # a 4x3 grid of blocks: not square
    with pytest.raises(ValueError, match="square"):
        Deblockify((3, 6))(blocks)
    square = np.random.default_rng(0).random((2, 12, 24, 5), dtype=np.float32)
    restored = Deblockify((3, 6))(Blockify((3, 6))(square))
    np.testing.assert_array_equal(to_numpy(restored), square)


def test_block_aggregation_matches_timm_conv_pool():
    torch = pytest.importorskip("torch")
    timm_nest = pytest.importorskip("timm.models.nest")
    rng = np.random.default_rng(0)
    block, channels, filters = 4, 6, 10
    x = rng.normal(size=(2, 16, block * block, channels)).astype("float32")
    layer = BlockAggregation(filters, block)
    layer.build(x.shape)
    randomize(layer, rng)

    reference = timm_nest.ConvPool(channels, filters, torch.nn.LayerNorm, pad_type="same")
    reference.norm.eps = 1e-6
    with torch.no_grad():
        reference.conv.weight.copy_(
            torch.from_numpy(to_numpy(layer.conv.kernel).transpose(3, 2, 0, 1))
        )
        reference.conv.bias.copy_(torch.from_numpy(to_numpy(layer.conv.bias)))
        reference.norm.weight.copy_(torch.from_numpy(to_numpy(layer.norm.gamma)))
        reference.norm.bias.copy_(torch.from_numpy(to_numpy(layer.norm.beta)))
        image = timm_nest.deblockify(torch.from_numpy(x), block).permute(0, 3, 1, 2)
        expected = timm_nest.blockify(reference(image).permute(0, 2, 3, 1), block).numpy()
    assert max_abs_diff(to_numpy(layer(x)), expected) < 1e-5


@pytest.mark.parametrize("path", compute_paths.ATTENTION_PATHS)
@pytest.mark.parametrize("multi_query", [False, True])
def test_attention_matches_reference_over_blocks(multi_query, path, monkeypatch):
    monkeypatch.setattr(compute_paths, "attention_path", lambda training: path)
    rng = np.random.default_rng(0)
    heads = 4
    x = rng.normal(size=(2, 3, 5, 16)).astype("float32")  # (B, T, N, C)
    layer = MultiHeadSelfAttention(heads, multi_query=multi_query)
    layer.build(x.shape)
    randomize(layer, rng)
    params = [to_numpy(v).astype("float64") for v in layer.qkv.weights + layer.proj.weights]
    expected, expected_scores = reference_attention(
        x, *params, heads=heads, kv_heads=1 if multi_query else heads
    )
    assert max_abs_diff(to_numpy(layer(x)), expected) < 1e-4
    assert max_abs_diff(to_numpy(layer(x, training=True)), expected) < 1e-4
    out, scores = layer(x, return_attention_scores=True)
    assert scores.shape == (2, 3, heads, 5, 5)
    assert max_abs_diff(to_numpy(out), expected) < 1e-4
    assert max_abs_diff(to_numpy(scores), expected_scores) < 1e-5


def test_transformer_block_is_pre_norm_residual():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 8)).astype("float32")
    block = TransformerBlock(2, gelu="tanh")
    block.build(x.shape)
    randomize(block, rng)
    y = to_numpy(block.attn(block.norm1(x)))
    expected = x + y
    expected = expected + to_numpy(block.mlp(block.norm2(expected)))
    assert max_abs_diff(to_numpy(block(x)), expected) < 1e-5
    assert block.norm1.epsilon == 1e-6


def test_stochastic_depth_drops_whole_samples():
    x = np.ones((64, 3, 2), "float32")
    layer = StochasticDepth(0.5, seed=1)
    np.testing.assert_array_equal(to_numpy(layer(x)), x)
    dropped = to_numpy(layer(x, training=True))
    per_sample = dropped.reshape(64, -1)
    assert set(np.unique(per_sample)) <= {0.0, 2.0}
    assert (per_sample.min(1) == per_sample.max(1)).all()
    assert 0 < (per_sample[:, 0] == 0).sum() < 64


def test_position_embedding_shape_and_init():
    layer = PositionEmbedding()
    x = np.zeros((2, 16, 196, 32), "float32")
    out = to_numpy(layer(x))
    weight = to_numpy(layer.embedding)
    assert weight.shape == (1, 16, 196, 32)
    np.testing.assert_allclose(out, np.broadcast_to(weight, out.shape))
    # Truncated at two deviations (an untruncated normal puts 4.6% outside).
    # Keras's torch backend redraws only 4 times, so a few in a million escape.
    assert np.mean(np.abs(weight) > 0.04 + 1e-6) < 1e-4
    assert 0.015 < weight.std() < 0.02


def test_position_embedding_while_training_has_its_gradients(monkeypatch):
    """Training adds the embedding through ``compute_paths.add_shared`` (on JAX's CPU its
    gradient is a product with a row of ones): the same value and gradients as ``x + weight``."""
    layer = PositionEmbedding()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 5, 6)).astype("float32")
    expected = to_numpy(layer(x))
    calls = count_calls(monkeypatch, "add_shared")
    assert max_abs_diff(to_numpy(layer(x, training=True)), expected) < 1e-6
    assert len(calls) == 1
    if BACKEND == "jax":
        weights = rng.normal(size=x.shape).astype("float32")

        def call(layer, x, training):
            return layer(x, training=training)

        rewritten_path, layer_path = (
            training_gradients(call, layer, x, weights, t) for t in (True, False)
        )
        for found, wanted in zip(rewritten_path, layer_path):
            assert max_abs_diff(found, wanted) < 1e-5


@pytest.mark.parametrize("arguments, rewritten", [
    (dict(epsilon=1e-6), True),
    (dict(axis=2), True),
    (dict(axis=(1, 2)), False),
    (dict(center=False), False),
])  # fmt: skip
def test_layer_norm_while_training_has_its_gradients(arguments, rewritten, monkeypatch):
    """On JAX's CPU a training affine LayerNormalization over the last axis computes its
    gradients from the normalised input: the layer's value and gradients (input, gamma, beta);
    other axes, layers without an offset, and every other backend call the layer."""
    layer = keras.layers.LayerNormalization(**arguments)
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(2, 3, 8)) * 3 + 1).astype("float32")
    layer.build(x.shape)
    for variable in layer.trainable_variables:
        variable.assign(rng.normal(size=variable.shape).astype("float32"))
    calls = count_calls(monkeypatch, "_normalize")
    expected = to_numpy(layer(x))
    assert max_abs_diff(to_numpy(compute_paths.layer_norm(layer, x, True)), expected) < 1e-5
    assert len(calls) == (rewritten and BACKEND == "jax")
    if BACKEND == "jax":
        weights = rng.normal(size=x.shape).astype("float32")
        call = compute_paths.layer_norm
        rewritten_path, layer_path = (
            training_gradients(call, layer, x, weights, t) for t in (True, False)
        )
        for found, wanted in zip(rewritten_path, layer_path):
            assert max_abs_diff(found, wanted) < 1e-4


def test_patch_embedding_shape_and_size_check():
    layer = PatchEmbedding(8, 4)
    assert layer(np.zeros((1, 16, 24, 3), "float32")).shape == (1, 4, 6, 8)
    with pytest.raises(ValueError, match="4x4 patches"):
        PatchEmbedding(8, 4)(np.zeros((1, 18, 16, 3), "float32"))
    with pytest.raises(ValueError, match="needs the image's height and width"):
        PatchEmbedding(8, 4)(keras.Input((None, None, 3)))


def test_gelu_exact_and_tanh():
    x = np.linspace(-8, 8, 161).astype("float32")
    erf = np.vectorize(math.erf)(x.astype("float64") / math.sqrt(2))
    assert max_abs_diff(to_numpy(compute_paths.gelu(x)), x * 0.5 * (1 + erf)) < 1e-6
    tanh = (
        0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x.astype("float64") ** 3)))
    )
    assert max_abs_diff(to_numpy(compute_paths.gelu(x, approximate=True)), tanh) < 1e-5


@pytest.mark.parametrize("approximate, use_bias", [(False, True), (True, False)])
def test_dense_gelu_equals_the_layer_then_gelu(approximate, use_bias):
    """``dense_gelu`` is ``gelu(layer(x))``; on TensorFlow as a 2-D ``MatMul``, a ``BiasAdd``
    and ``tf.nn.gelu`` (the form its graph optimiser fuses), but not while exporting."""
    layer = keras.layers.Dense(7, use_bias=use_bias)
    x = np.random.default_rng(0).normal(size=(2, 3, 5, 6)).astype("float32")
    layer.build(x.shape)
    randomize(layer, np.random.default_rng(1))
    expected = to_numpy(compute_paths.gelu(layer(x), approximate=approximate))
    found = compute_paths.dense_gelu(layer, x, approximate=approximate)
    assert found.shape == (2, 3, 5, 7)
    assert max_abs_diff(to_numpy(found), expected) < 1e-5
    if BACKEND == "tensorflow":
        import tensorflow as tf

        def graph_ops(exporting):
            with compute_paths.exporting() if exporting else contextlib.nullcontext():
                call = tf.function(lambda x: compute_paths.dense_gelu(layer, x), autograph=False)
                graph = call.get_concrete_function(tf.TensorSpec((None, 3, 5, 6))).graph
            return graph.get_operations()

        fast = graph_ops(False)
        after_product = {op.type for op in fast for i in op.inputs if i.op.type == "MatMul"}
        assert ("BiasAdd" in after_product) == use_bias and "Reshape" not in after_product
        assert "Erfc" in {op.type for op in fast} or approximate
        # tf2onnx writes no Erfc: exports keep the Erf form of compute_paths.gelu.
        assert "Erfc" not in {op.type for op in graph_ops(True)}


def test_attention_path_per_backend_and_device():
    expected = {"tensorflow": ("softmax", "softmax")}
    if BACKEND == "jax":
        import jax

        if jax.default_backend() == "cpu":  # JAX's fused attention is only fast on accelerators
            expected["jax"] = ("deferred", "softmax")
    infer, train = expected.get(BACKEND, ("fused", "fused"))
    paths = (compute_paths.attention_path(False), compute_paths.attention_path(True))
    assert paths == (infer, train)


def test_dropout_keeps_each_element_with_its_probability():
    import keras

    layer = keras.layers.Dropout(0.25, seed=3)
    x = np.full((8, 4, 64, 64), 2.0, "float32")
    first = to_numpy(compute_paths.dropout(layer, x, training=True))
    second = to_numpy(compute_paths.dropout(layer, x, training=True))
    assert set(np.unique(first)) == {0.0, np.float32(2.0 / 0.75)}
    kept = first != 0
    assert abs(kept.mean() - 0.75) < 0.006, kept.mean()  # 131,072 draws: standard error 0.0012
    # Independent of its neighbours (last axis, rows, images) and of the next call's mask.
    for both in (kept[..., 1:] & kept[..., :-1], kept[:, :, 1:] & kept[:, :, :-1]):
        assert abs(both.mean() - 0.75**2) < 0.007, both.mean()
    assert abs((kept[1:] & kept[:-1]).mean() - 0.75**2) < 0.008
    assert abs((first != second).mean() - 2 * 0.75 * 0.25) < 0.007
    assert (to_numpy(compute_paths.dropout(layer, x, training=False)) == x).all()


@pytest.mark.parametrize("size, strides, padding", [(3, 2, "same"), (3, 2, "valid"),
                                                    (2, 2, "valid"), (3, 1, "same"),
                                                    (5, 2, "same")])  # fmt: skip
def test_max_pool_while_training_equals_inference(size, strides, padding):
    """On JAX's CPU training pools from strided slices with a gradient of its own: the same
    values, and the same gradient as ``reduce_window``'s, ties (to the first maximum) included."""
    rng = np.random.default_rng(0)
    for x in (rng.normal(size=(2, 9, 10, 4)), rng.integers(0, 3, (2, 9, 10, 4))):
        x = x.astype("float32")
        pooled = to_numpy(compute_paths.max_pool(x, size, strides, padding))
        assert (to_numpy(compute_paths.max_pool(x, size, strides, padding, True)) == pooled).all()
        if BACKEND == "jax":
            import jax

            weights = rng.normal(size=pooled.shape).astype("float32")

            def gradient(training):
                def loss(x):
                    output = compute_paths.max_pool(x, size, strides, padding, training)
                    return (output * weights).sum()

                return np.asarray(jax.jit(jax.grad(loss))(x))

            assert max_abs_diff(gradient(True), gradient(False)) < 1e-6


CONV = "Conv2D", "conv2d", "_conv_with_sliced_kernel_gradient", (2, 9, 10, 6)
DENSE = "Dense", "dense", "_matmul_with_input_transposed_gradient", (2, 3, 7, 6)
PATCHES = "Conv2D", "conv2d", "_matmul_with_input_transposed_gradient", (2, 9, 10, 6)


@pytest.mark.parametrize("kind, arguments, rewritten", [
    (CONV, dict(kernel_size=3, padding="same"), True),
    (CONV, dict(kernel_size=(3, 5), padding="valid", use_bias=False), True),
    (CONV, dict(kernel_size=2, padding="same"), False),
    (PATCHES, dict(kernel_size=(2, 3), strides=(2, 3)), True),  # a row and a column dropped
    (PATCHES, dict(kernel_size=1, use_bias=False), True),
    (PATCHES, dict(kernel_size=3, strides=2), False),
    (DENSE, dict(), True),
    (DENSE, dict(use_bias=False), True),
])  # fmt: skip
def test_layers_while_training_have_their_gradients(kind, arguments, rewritten, monkeypatch):
    """On JAX's CPU a training conv (stride 1, odd kernel for "same"; or patches: strides equal
    to the kernel) or dense layer computes its kernel gradient its own way: the layer's value
    and gradients (input, kernel, bias); an even "same" kernel, overlapping strided windows,
    and every other backend call the layer."""
    layer_name, path, rewrite, shape = kind
    layer = getattr(keras.layers, layer_name)(5, activation="relu", **arguments)
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    layer.build(x.shape)
    randomize(layer, np.random.default_rng(1))
    calls = count_calls(monkeypatch, rewrite)
    call = getattr(compute_paths, path)
    expected = to_numpy(layer(x))
    assert max_abs_diff(to_numpy(call(layer, x, training=True)), expected) < 1e-5
    assert len(calls) == (rewritten and BACKEND == "jax")
    if BACKEND == "jax":
        weights = np.random.default_rng(2).normal(size=expected.shape).astype("float32")
        rewritten_path, layer_path = (
            training_gradients(call, layer, x, weights, t) for t in (True, False)
        )
        for found, wanted in zip(rewritten_path, layer_path):
            assert max_abs_diff(found, wanted) < 1e-4
