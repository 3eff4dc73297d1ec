"""The tokens-to-token (T2T) module's layers of T2T-ViT, as DVT uses them.

:class:`SoftSplit` cuts an image (or a re-structured token grid) into
overlapping patches as ``torch.nn.Unfold`` does; :class:`TokenPerformer` is
the single-head Performer attention (``Token_performer``) that re-weights
the patch features between two soft splits.
"""

import functools
import math

import keras
import numpy as np
from keras import ops

from keras_nest.layers import compute_paths
from keras_nest.layers.image_blocks import pair
from keras_nest.layers.initializers import SublayerInitializers, fresh
from keras_nest.layers.patching import stage_size


def unfold_indices(height, width, channels, kernel_size, strides, padding):
    """Where every output of :class:`SoftSplit` comes from in the flattened padded image.

    Returns an int32 table ``(L, C * kh * kw)``: entry ``[t, c*kh*kw + i*kw + j]``
    is the position, in the zero-padded image ``(H + 2ph, W + 2pw, C)``
    flattened row-major, of channel ``c`` at kernel offset ``(i, j)`` of the
    ``t``-th window (windows row-major over the output grid), as
    ``torch.nn.Unfold`` orders its outputs.
    """
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, strides, padding
    rows, cols = stage_size(height, kh, sh, ph), stage_size(width, kw, sw, pw)
    padded_width = width + 2 * pw
    # Each factor on its own axis of (rows, cols, C, kh, kw); they broadcast to the table.
    top = np.arange(rows)[:, None, None, None, None] * sh
    left = np.arange(cols)[None, :, None, None, None] * sw
    channel = np.arange(channels)[None, None, :, None, None]
    i = np.arange(kh)[None, None, None, :, None]
    j = np.arange(kw)[None, None, None, None, :]
    pixel = (top + i) * padded_width + (left + j)
    index = pixel * channels + channel  # (rows, cols, C, kh, kw)
    return index.reshape(rows * cols, channels * kh * kw).astype("int32")


@keras.saving.register_keras_serializable(package="keras_nest")
class SoftSplit(keras.layers.Layer):
    """Overlapping patches as tokens: ``torch.nn.Unfold`` on channels-last images.

    Every ``kh x kw`` window, moved by ``strides`` over the image zero-padded
    by ``padding`` pixels on every side, becomes one token of its pixels in
    PyTorch's channel-major order: feature ``c*kh*kw + i*kw + j`` is channel
    ``c`` at kernel row ``i``, column ``j``. Tokens run row-major over the
    output grid. T2T-ViT splits a 224 image by (7, 4, 2), (11, 6, 5) or
    (14, 8, 3) (kernel, stride, padding), then its token grids by (3, 2, 1).

    The whole layer is one gather from the flattened padded image with an
    index table computed once in NumPy (:func:`unfold_indices`): exact,
    with no multiply-adds and no weights.

    Args:
        kernel_size: window edge, an int or ``(kh, kw)``.
        strides: window step, an int or ``(sh, sw)``.
        padding: zeros on every side, an int or ``(ph, pw)``.

    Input shape: ``(B, H, W, C)`` with fixed ``H``, ``W`` and ``C``.
    Output shape: ``(B, h * w, C * kh * kw)`` with ``(h, w) = output_grid(H, W)``.
    """

    def __init__(self, kernel_size, strides=1, padding=0, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size = kernel_size if isinstance(kernel_size, int) else tuple(kernel_size)
        self.strides = strides if isinstance(strides, int) else tuple(strides)
        self.padding = padding if isinstance(padding, int) else tuple(padding)

    def output_grid(self, height, width):
        """The token grid ``(h, w)`` for an image of ``height x width``.

        Raises:
            ValueError: if the padded image is smaller than one window.
        """
        sizes = (pair(self.kernel_size), pair(self.strides), pair(self.padding))
        grid = tuple(stage_size(*window) for window in zip((height, width), *sizes))
        if min(grid) < 1:
            raise ValueError(
                f"{self.name}: a {height}x{width} image padded by {pair(self.padding)} is "
                f"smaller than one {pair(self.kernel_size)} window."
            )
        return grid

    def build(self, input_shape):
        _, height, width, channels = input_shape
        if None in (height, width, channels):
            raise ValueError(f"{self.name}: needs a fixed image size, got {input_shape}.")
        self.output_grid(height, width)
        sizes = (pair(self.kernel_size), pair(self.strides), pair(self.padding))
        self.indices = unfold_indices(height, width, channels, *sizes)
        self.padded_size = (height + 2 * sizes[2][0]) * (width + 2 * sizes[2][1]) * channels

    def call(self, inputs):
        ph, pw = pair(self.padding)
        x = inputs
        if ph or pw:
            x = ops.pad(x, [[0, 0], [ph, ph], [pw, pw], [0, 0]])
        return ops.take(ops.reshape(x, (-1, self.padded_size)), self.indices, axis=1)

    def count_macs(self, input_shape, counter):
        """Nothing to count: a gather, for ``keras_nest.utils.count_flops``."""

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        rows, cols = self.output_grid(height, width)
        kh, kw = pair(self.kernel_size)
        return (batch, rows * cols, channels * kh * kw)

    def get_config(self):
        config = super().get_config()
        config.update(kernel_size=self.kernel_size, strides=self.strides, padding=self.padding)
        return config


@keras.saving.register_keras_serializable(package="keras_nest")
class TokenPerformer(SublayerInitializers, keras.layers.Layer):
    """T2T-ViT's single-head Performer attention (``Token_performer``).

    With ``h = LN1(x)`` and ``k, q, v`` the three ``embed_dim`` parts, in that
    order, of ``kqv(h)``::

        phi(u) = exp(u wᵀ - |u|² / 2) / sqrt(m)        # positive random features
        y = phi(q) (phi(k)ᵀ v) / (phi(q) Σ_t phi(k) + 1e-8)
        y = v + dropout(proj(y))                       # the skip is v, not x
        out = y + dropout(fc2(gelu(fc1(LN2(y)))))      # exact GELU

    ``w`` ``(m, embed_dim)``, ``m = int(embed_dim * kernel_ratio)``, is a fixed
    (non-trainable) weight drawn with orthonormal rows times ``sqrt(m)``; the
    authors' checkpoints store it. The random features and the attention run
    in float32 (as the authors cast them), whatever the compute dtype. Linear
    in the number of tokens ``T``: no ``T x T`` matrix is formed.

    Args:
        embed_dim: width of ``k``, ``q``, ``v`` and of the output.
        kernel_ratio: ``m / embed_dim``, the share of random features.
        dropout: rate after the projection and at the end of the MLP.
        layer_norm_epsilon: epsilon of both LayerNorms.
        kernel_initializer, bias_initializer: for the four Dense sublayers.

    Input shape: ``(B, T, d_in)``. Output shape: ``(B, T, embed_dim)``.
    """

    def __init__(
        self,
        embed_dim=64,
        kernel_ratio=0.5,
        dropout=0.1,
        layer_norm_epsilon=1e-5,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.embed_dim = embed_dim
        self.kernel_ratio = kernel_ratio
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.features = int(embed_dim * kernel_ratio)
        if self.features < 1:
            raise ValueError(
                f"kernel_ratio {kernel_ratio} leaves no random features for embed_dim {embed_dim}."
            )
        self.set_initializers(kernel_initializer, bias_initializer)

    def build(self, input_shape):
        emb = self.embed_dim
        inner = (*input_shape[:-1], emb)
        norm = dict(epsilon=self.layer_norm_epsilon, dtype=self.dtype_policy)
        dense = self.sublayer_kwargs()
        self.norm1 = keras.layers.LayerNormalization(name="norm1", **norm)
        self.norm1.build(input_shape)
        self.kqv = keras.layers.Dense(3 * emb, name="kqv", **dense)
        self.kqv.build(input_shape)
        self.w = self.add_weight(
            shape=(self.features, emb),
            initializer=fresh(keras.initializers.Orthogonal(gain=math.sqrt(self.features))),
            trainable=False,
            autocast=False,  # float32 under mixed precision too
            name="w",
        )
        self.proj = keras.layers.Dense(emb, name="proj", **dense)
        self.proj.build(inner)
        self.norm2 = keras.layers.LayerNormalization(name="norm2", **norm)
        self.norm2.build(inner)
        self.fc1 = keras.layers.Dense(emb, name="fc1", **dense)
        self.fc1.build(inner)
        self.fc2 = keras.layers.Dense(emb, name="fc2", **dense)
        self.fc2.build(inner)
        self.proj_drop = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)
        self.mlp_drop = keras.layers.Dropout(self.dropout, dtype=self.dtype_policy)

    def _random_features(self, u):
        """``phi(u)``: float32 ``(..., T, emb) -> (..., T, m)``."""
        u = ops.cast(u, "float32")
        half_norm = ops.sum(u * u, axis=-1, keepdims=True) / 2
        projected = ops.matmul(u, ops.transpose(ops.cast(self.w, "float32")))
        return ops.exp(projected - half_norm) / math.sqrt(self.features)

    def _attention(self, k, q, v):
        """Performer attention of ``q`` over ``k`` and ``v``, in float32."""
        kp, qp = self._random_features(k), self._random_features(q)  # (B, T, m)
        normaliser = ops.matmul(qp, ops.sum(kp, axis=-2)[..., None])  # (B, T, 1)
        kptv = ops.matmul(ops.swapaxes(kp, -1, -2), ops.cast(v, "float32"))  # (B, m, emb)
        return ops.matmul(qp, kptv) / (normaliser + 1e-8)  # (B, T, emb)

    def call(self, inputs, training=None):
        dense = functools.partial(compute_paths.dense, training=training)
        layer_norm = functools.partial(compute_paths.layer_norm, training=training)
        k, q, v = ops.split(dense(self.kqv, layer_norm(self.norm1, inputs)), 3, axis=-1)
        y = ops.cast(self._attention(k, q, v), v.dtype)
        y = v + self.proj_drop(dense(self.proj, y), training=training)
        hidden = compute_paths.dense_gelu(self.fc1, layer_norm(self.norm2, y), training)
        return y + self.mlp_drop(dense(self.fc2, hidden), training=training)

    def count_macs(self, input_shape, counter):
        """Multiply-adds for ``keras_nest.utils.count_flops``, as fvcore counts the einsums.

        Besides the norms and Dense layers, ``T m emb`` for each of
        ``phi(k)`` and ``phi(q)``, ``T m`` for the normaliser, ``T emb m``
        each for ``phi(k)ᵀ v`` and the output, all counted as "attention".
        """
        tokens, emb, m = math.prod(input_shape[1:-1]), self.embed_dim, self.features
        inner = (*input_shape[:-1], emb)
        counter.layer(self.norm1, input_shape)
        counter.layer(self.kqv, input_shape)
        counter.add("attention", 4 * tokens * m * emb + tokens * m)
        for sublayer in (self.proj, self.norm2, self.fc1, self.fc2):
            counter.layer(sublayer, inner)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.embed_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            embed_dim=self.embed_dim,
            kernel_ratio=self.kernel_ratio,
            dropout=self.dropout,
            layer_norm_epsilon=self.layer_norm_epsilon,
            **self.initializers_config(),
        )
        return config
