"""The tokens-to-token layers of T2T-ViT (DVT) against torch.nn.Unfold and a PyTorch reference."""

import math

import keras
import numpy as np
import pytest

from keras_nest.layers import SoftSplit, TokenPerformer
from keras_nest.utils import count_flops
from tests.conftest import max_abs_diff, to_numpy

pytestmark = pytest.mark.core


@pytest.mark.parametrize(
    "shape, kernel_size, strides, padding, grid",
    [
        ((2, 224, 224, 3), 14, 8, 3, (28, 28)),  # T2T performer_less_less_token, first split
        ((2, 224, 224, 3), 11, 6, 5, (38, 38)),  # performer_less_token
        ((2, 224, 224, 3), 7, 4, 2, (56, 56)),  # performer
        ((2, 28, 28, 64), 3, 2, 1, (14, 14)),  # the later splits of a token grid
        ((2, 30, 23, 5), 4, 3, 1, (10, 8)),  # not square
        ((2, 30, 23, 5), (5, 3), (3, 2), (2, 0), (10, 11)),  # pairs
    ],
)
def test_soft_split_matches_torch_unfold(shape, kernel_size, strides, padding, grid):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    layer = SoftSplit(kernel_size, strides, padding)
    out = to_numpy(layer(x))
    assert layer.output_grid(*shape[1:3]) == grid
    unfold = torch.nn.Unfold(kernel_size, padding=padding, stride=strides)
    with torch.no_grad():
        expected = unfold(torch.from_numpy(x.transpose(0, 3, 1, 2))).numpy().transpose(0, 2, 1)
    assert out.shape == expected.shape == layer.compute_output_shape(shape)
    np.testing.assert_array_equal(out, expected)


def test_soft_split_feature_order_and_errors():
    # Channel-major features: channel c at kernel offset (i, j) is feature c*k*k + i*k + j.
    ys, xs = np.meshgrid(np.arange(6), np.arange(6), indexing="ij")
    image = np.stack([ys, xs, 100 + ys], -1)[None].astype("float32")  # (1, 6, 6, 3)
    tokens = to_numpy(SoftSplit(3, 3, 0)(image))
    assert tokens.shape == (1, 4, 27)
    token = 1  # the window at grid (0, 1): pixels y 0..2, x 3..5
    for c, i, j in np.ndindex(3, 3, 3):
        assert tokens[0, token, c * 9 + i * 3 + j] == image[0, i, 3 + j, c]

    inputs = keras.Input((14, 10, 4))
    outputs = SoftSplit(3, 2, 1, name="split")(inputs)
    assert tuple(outputs.shape) == (None, 7 * 5, 36)
    with pytest.raises(ValueError, match="split: a 4x9 image padded by .* smaller than one"):
        SoftSplit(7, 4, 1, name="split").output_grid(4, 9)


def authors_state(layer):
    """``layer``'s weights under the authors' ``Token_performer`` names, torch layouts."""
    state = {"w": layer.w}
    for torch_name, dense in (("kqv", layer.kqv), ("proj", layer.proj)):
        state[f"{torch_name}.weight"] = to_numpy(dense.kernel).T
        state[f"{torch_name}.bias"] = dense.bias
    for torch_name, dense in (("mlp.0", layer.fc1), ("mlp.2", layer.fc2)):
        state[f"{torch_name}.weight"] = to_numpy(dense.kernel).T
        state[f"{torch_name}.bias"] = dense.bias
    for name, norm in (("norm1", layer.norm1), ("norm2", layer.norm2)):
        state[f"{name}.weight"], state[f"{name}.bias"] = norm.gamma, norm.beta
    return {key: np.asarray(to_numpy(value), "float64") for key, value in state.items()}


def reference_token_performer(x, state, epsilon=1e-5, swap_kq=False, skip="v", swap_norms=False):
    """T2T-ViT's ``Token_performer`` in eval mode, in float64 PyTorch, from its equations.

    The keywords break it on purpose: k and q swapped, the attention skip from
    ``"x"`` or ``"h"`` (``LN1(x)``) instead of v, the two norms' parameters
    swapped (for the tests that show each would be caught).
    """
    import torch
    import torch.nn.functional as F

    p = {key: torch.from_numpy(value) for key, value in state.items()}
    norm1, norm2 = ("norm2", "norm1") if swap_norms else ("norm1", "norm2")
    x = torch.from_numpy(np.asarray(x, "float64"))
    h = F.layer_norm(x, x.shape[-1:], p[f"{norm1}.weight"], p[f"{norm1}.bias"], epsilon)
    k, q, v = torch.chunk(F.linear(h, p["kqv.weight"], p["kqv.bias"]), 3, dim=-1)
    if swap_kq:
        k, q = q, k
    m = p["w"].shape[0]

    def phi(u):
        return torch.exp(u @ p["w"].T - (u * u).sum(-1, keepdim=True) / 2) / math.sqrt(m)

    kp, qp = phi(k), phi(q)
    normaliser = torch.einsum("btm,bm->bt", qp, kp.sum(1))[..., None]
    kptv = torch.einsum("bte,btm->bem", v, kp)
    y = torch.einsum("btm,bem->bte", qp, kptv) / (normaliser + 1e-8)
    y = {"v": v, "x": x, "h": h}[skip] + F.linear(y, p["proj.weight"], p["proj.bias"])
    hidden = F.layer_norm(y, y.shape[-1:], p[f"{norm2}.weight"], p[f"{norm2}.bias"], epsilon)
    hidden = F.gelu(F.linear(hidden, p["mlp.0.weight"], p["mlp.0.bias"]))
    return (y + F.linear(hidden, p["mlp.2.weight"], p["mlp.2.bias"])).numpy()


def perturbed_performer(in_dim, rng, **kwargs):
    """A built TokenPerformer with every weight drawn anew (``w`` kept), so every detail shows.

    Kernels N(0, 1/fan_in) (kqv's half that, so ``|k|²`` stays in exp's range),
    biases N(0, 0.1), norm scales 1 +- 0.2.
    """
    layer = TokenPerformer(**kwargs, name="attention1")
    layer.build((None, None, in_dim))
    for variable in layer.trainable_weights:
        shape = variable.shape
        if variable.path.endswith("/kernel"):
            scale = (0.5 if "kqv" in variable.path else 1.0) / math.sqrt(shape[0])
            value = rng.normal(0, scale, shape)
        elif variable.path.endswith("/gamma"):
            value = 1 + 0.2 * rng.normal(size=shape)
        else:
            value = 0.1 * rng.normal(size=shape)
        variable.assign(value.astype("float32"))
    return layer


@pytest.mark.parametrize("in_dim, tokens", [(147, 50), (576, 20)])  # 3 * 7 * 7, 64 * 3 * 3
def test_token_performer_matches_reference(in_dim, tokens):
    pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    layer = perturbed_performer(in_dim, rng)
    x = rng.normal(0.3, 1.5, (2, tokens, in_dim)).astype("float32")
    out = to_numpy(layer(x))
    expected = reference_token_performer(x, authors_state(layer))
    assert out.shape == expected.shape == (2, tokens, 64)
    assert max_abs_diff(out, expected) < 1e-5 * max(1.0, np.abs(expected).max())
    # Dropout (0.1 by default) acts only while training.
    assert max_abs_diff(to_numpy(layer(x, training=True)), expected) > 1e-2


def test_token_performer_reference_catches_mistakes():
    """Each plausible slip (k and q swapped, skip from x, norms swapped) moves the output
    far beyond the parity tolerance: input width = embed_dim, so all are well-formed."""
    pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    layer = perturbed_performer(64, rng)
    x = rng.normal(0.3, 1.5, (2, 30, 64)).astype("float32")
    state = authors_state(layer)
    out = to_numpy(layer(x))
    expected = reference_token_performer(x, state)
    tolerance = 1e-5 * max(1.0, np.abs(expected).max())
    assert max_abs_diff(out, expected) < tolerance
    for mistake in (dict(swap_kq=True), dict(skip="x"), dict(skip="h"), dict(swap_norms=True)):
        wrong = reference_token_performer(x, state, **mistake)
        assert max_abs_diff(out, wrong) > 100 * tolerance, mistake


def test_token_performer_weights():
    layer = TokenPerformer(name="attention1")
    layer.build((None, 49, 576))
    assert sorted(v.path for v in layer.weights) == [
        "attention1/fc1/bias",
        "attention1/fc1/kernel",
        "attention1/fc2/bias",
        "attention1/fc2/kernel",
        "attention1/kqv/bias",
        "attention1/kqv/kernel",
        "attention1/norm1/beta",
        "attention1/norm1/gamma",
        "attention1/norm2/beta",
        "attention1/norm2/gamma",
        "attention1/proj/bias",
        "attention1/proj/kernel",
        "attention1/w",
    ]
    assert [v.path for v in layer.non_trainable_weights] == ["attention1/w"]
    assert not layer.w.trainable and tuple(layer.w.shape) == (32, 64)
    assert tuple(layer.kqv.kernel.shape) == (576, 192)
    w = to_numpy(layer.w).astype("float64")
    np.testing.assert_allclose(w @ w.T, 32 * np.eye(32), atol=1e-4)  # orthogonal rows * sqrt(m)
    # The authors' parameter count of attention2 of T2T-ViT-7 (w included).
    assert layer.count_params() == 576 * 2 + 576 * 192 + 192 + 32 * 64 + 3 * (64 * 64 + 64) + 128
    other = TokenPerformer(name="attention2")
    other.build((None, 49, 576))
    # Each layer draws its own random features.
    assert max_abs_diff(to_numpy(other.w), to_numpy(layer.w)) > 1.0


def test_token_performer_mixed_precision():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 16, 27)).astype("float32")
    full = TokenPerformer(32, dropout=0.0)
    expected = to_numpy(full(x))
    half = TokenPerformer(32, dropout=0.0, dtype="mixed_bfloat16")
    half.build(x.shape)
    half.set_weights(full.get_weights())
    out = half(x)
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    assert keras.backend.standardize_dtype(half.w.dtype) == "float32"
    assert max_abs_diff(to_numpy(keras.ops.cast(out, "float32")), expected) < 0.1 * max(
        1.0, np.abs(expected).max()
    )


def test_count_flops_of_the_t2t_layers():
    height, width, channels, emb, m = 14, 10, 4, 32, 16
    inputs = keras.Input((height, width, channels))
    x = SoftSplit(3, 2, 1, name="soft_split")(inputs)  # 7 x 5 tokens of 36
    outputs = TokenPerformer(emb, kernel_ratio=0.5, name="attention1")(x)
    result = count_flops(keras.Model(inputs, outputs))
    tokens, in_dim = 35, 36
    norms = 5 * tokens * in_dim + 5 * tokens * emb
    linear = tokens * in_dim * 3 * emb + 3 * tokens * emb * emb  # kqv; proj, fc1, fc2
    # phi(k) and phi(q); the normaliser D; phi(k)ᵀ v and the output.
    attention = 2 * tokens * m * emb + tokens * m + 2 * tokens * emb * m
    assert (result.norm, result.linear, result.attention) == (norms, linear, attention)
    assert result.conv == 0
    assert result.layers == {"attention1": norms + linear + attention}
