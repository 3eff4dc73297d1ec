"""DVT's feature and relation reuse: what a downstream exit takes from the one before it.

Both carry an upstream token grid of ``s_r x s_c`` patches (plus one class
token) to the downstream grid ``S_r x S_c`` with a constant per-axis
resampling matrix (:func:`resampling_matrix`), applied separably to the
patch tokens while the class token passes on its own. The matrix is the
authors' "nearest x2 upsample, then adaptive average pool" (their Fig. 5),
written out for any pair of grids, where their code knows 7 -> 10 and
10 -> 14 only.
"""

import keras
import numpy as np
from keras import ops

from keras_nest.layers import compute_paths
from keras_nest.layers.image_blocks import pair
from keras_nest.layers.initializers import SublayerInitializers
from keras_nest.layers.transformer import Mlp, check_gelu


def resampling_matrix(source, target):
    """The ``(target, source)`` matrix that resamples one grid axis of ``source`` cells.

    PyTorch's nearest upsampling to ``2 * source`` cells (cell ``i`` copies
    ``floor(i / 2)``) followed by its adaptive average pooling to ``target``
    cells (cell ``i`` averages ``[floor(i * 2s / t), ceil((i + 1) * 2s / t))``).
    For 7 -> 10: row 1 is ``(s0 + s1) / 2``, row 2 ``(2 s1 + s2) / 3``; equal
    sizes give the identity.
    """
    upsampled = 2 * source
    matrix = np.zeros((target, source), dtype=np.float64)
    for row in range(target):
        start = (row * upsampled) // target
        stop = -((-(row + 1) * upsampled) // target)
        for cell in range(start, stop):
            matrix[row, cell // 2] += 1.0 / (stop - start)
    return matrix.astype(np.float32)


def resample_tokens(x, axis, source, target):
    """Resamples the token axis ``axis`` of ``x`` from one grid to another.

    Args:
        x: a tensor whose axis ``axis`` holds ``1 + s_r * s_c`` tokens: a class
            token, then the patches of the ``source`` grid in row-major order.
        axis: the token axis (non-negative).
        source, target: ``(rows, cols)`` of the grids.

    Returns:
        ``x`` with ``1 + S_r * S_c`` tokens on ``axis``: the class token as it
        was, the patches resampled separably by :func:`resampling_matrix`.
    """
    (rows, cols), (new_rows, new_cols) = source, target
    moved = ops.moveaxis(x, axis, -1)
    leading = ops.shape(moved)[:-1]
    cls, patches = moved[..., :1], moved[..., 1:]
    patches = ops.reshape(patches, (*leading, rows, cols))
    col_matrix = ops.cast(resampling_matrix(cols, new_cols).T, x.dtype)
    row_matrix = ops.cast(resampling_matrix(rows, new_rows), x.dtype)
    patches = ops.matmul(row_matrix, ops.matmul(patches, col_matrix))
    patches = ops.reshape(patches, (*leading, new_rows * new_cols))
    return ops.moveaxis(ops.concatenate([cls, patches], axis=-1), -1, axis)


def _grid_tokens(grid):
    return 1 + grid[0] * grid[1]


def _check_tokens(layer, tokens, grid, what):
    if tokens is not None and tokens != _grid_tokens(grid):
        raise ValueError(
            f"{layer.name}: {what} has {tokens} tokens; a class token and a "
            f"{grid[0]}x{grid[1]} grid make {_grid_tokens(grid)}."
        )


@keras.saving.register_keras_serializable(package="keras_nest")
class FeatureReuse(SublayerInitializers, keras.layers.Layer):
    """DVT's feature reuse: upstream tokens made into extra MLP inputs downstream.

    ``LayerNorm -> Mlp(hidden_dim -> output_dim)`` on every upstream token
    (the authors' ``feature_resuse_mlp``), the class token dropped, the patch
    tokens resampled from ``source_grid`` to ``target_grid``, and a zero row
    put first in the class token's place. A ``TransformerBlock`` takes the
    result as ``reused_features``.

    Args:
        source_grid, target_grid: the upstream and downstream patch grids
            (an int for a square grid, or ``(rows, cols)``).
        hidden_dim, output_dim: widths of the MLP (the authors' 128 and 48).
        gelu, dropout: of the MLP.
        layer_norm_epsilon: of the LayerNorm.

    Input shape: ``(B, 1 + s_r * s_c, D)``, the upstream exit's last block
    output before its final norm.
    Output shape: ``(B, 1 + S_r * S_c, output_dim)``.
    """

    def __init__(
        self,
        source_grid,
        target_grid,
        hidden_dim=128,
        output_dim=48,
        gelu="exact",
        dropout=0.0,
        layer_norm_epsilon=1e-6,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.source_grid = pair(source_grid)
        self.target_grid = pair(target_grid)
        self.hidden_dim = hidden_dim
        self.output_dim = output_dim
        self.gelu = check_gelu(gelu)
        self.dropout = dropout
        self.layer_norm_epsilon = layer_norm_epsilon
        self.set_initializers(kernel_initializer, bias_initializer)

    def build(self, input_shape):
        _check_tokens(self, input_shape[1], self.source_grid, "the upstream sequence")
        self.norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, name="norm", dtype=self.dtype_policy
        )
        self.norm.build(input_shape)
        self.mlp = Mlp(
            self.hidden_dim,
            output_dim=self.output_dim,
            gelu=self.gelu,
            dropout=self.dropout,
            name="mlp",
            **self.sublayer_kwargs(),
        )
        self.mlp.build(input_shape)

    def call(self, inputs, training=None):
        normed = compute_paths.layer_norm(self.norm, inputs, training)
        features = self.mlp(normed, training=training)
        features = resample_tokens(features, 1, self.source_grid, self.target_grid)
        return ops.concatenate([ops.zeros_like(features[:, :1]), features[:, 1:]], axis=1)

    def count_macs(self, input_shape, counter):
        """The norm and the MLP; resampling is free, as pooling is."""
        counter.layer(self.norm, input_shape)
        counter.layer(self.mlp, input_shape)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], _grid_tokens(self.target_grid), self.output_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            source_grid=self.source_grid,
            target_grid=self.target_grid,
            hidden_dim=self.hidden_dim,
            output_dim=self.output_dim,
            gelu=self.gelu,
            dropout=self.dropout,
            layer_norm_epsilon=self.layer_norm_epsilon,
            **self.initializers_config(),
        )
        return config


@keras.saving.register_keras_serializable(package="keras_nest")
class RelationReuse(SublayerInitializers, keras.layers.Layer):
    """DVT's relation reuse: the upstream attention logits as a downstream bias.

    The upstream exit's logits of all its layers, stacked on the channel axis
    (channel ``l * heads + h``), pass a per-position channel MLP
    (``Dense(hidden_ratio * channels) -> GELU -> Dense(channels)``, the
    authors' 1x1 ``relation_reuse_conv``) and are then resampled on the query
    and the key axis from ``source_grid`` to ``target_grid`` (class rows and
    columns kept, the patch block resampled on both grids): ``P R Pᵀ`` per
    channel with ``P = blockdiag(1, M_r ⊗ M_c)``. Chunk ``l`` of ``heads``
    channels is then layer ``l``'s ``attention_bias``.

    Args:
        channels: output channels, ``layers * heads`` of the downstream exit.
        source_grid, target_grid: upstream and downstream patch grids.
        hidden_ratio: the MLP's hidden width over ``channels`` (3).
        gelu: of the MLP.

    Input shape: ``(B, C, 1 + s_r * s_c, 1 + s_r * s_c)``, any ``C``.
    Output shape: ``(B, channels, 1 + S_r * S_c, 1 + S_r * S_c)``.
    """

    def __init__(
        self,
        channels,
        source_grid,
        target_grid,
        hidden_ratio=3,
        gelu="exact",
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.channels = channels
        self.source_grid = pair(source_grid)
        self.target_grid = pair(target_grid)
        self.hidden_ratio = hidden_ratio
        self.gelu = check_gelu(gelu)
        self.set_initializers(kernel_initializer, bias_initializer)

    def build(self, input_shape):
        _check_tokens(self, input_shape[2], self.source_grid, "the upstream relation")
        positions = (input_shape[0], *input_shape[2:], input_shape[1])
        dense = self.sublayer_kwargs()
        self.fc1 = keras.layers.Dense(self.hidden_ratio * self.channels, name="fc1", **dense)
        self.fc1.build(positions)
        self.fc2 = keras.layers.Dense(self.channels, name="fc2", **dense)
        self.fc2.build((*positions[:-1], self.hidden_ratio * self.channels))

    def call(self, inputs, training=None):
        x = ops.transpose(inputs, (0, 2, 3, 1))  # channels last: (B, n, n, C)
        x = compute_paths.dense_gelu(self.fc1, x, training)
        x = compute_paths.dense(self.fc2, x, training)
        x = resample_tokens(x, 2, self.source_grid, self.target_grid)
        x = resample_tokens(x, 1, self.source_grid, self.target_grid)
        return ops.transpose(x, (0, 3, 1, 2))

    def count_macs(self, input_shape, counter):
        """The channel MLP at every (query, key) position; resampling is free."""
        positions = (input_shape[0], *input_shape[2:], input_shape[1])
        counter.layer(self.fc2, counter.layer(self.fc1, positions))

    def compute_output_shape(self, input_shape):
        tokens = _grid_tokens(self.target_grid)
        return (input_shape[0], self.channels, tokens, tokens)

    def get_config(self):
        config = super().get_config()
        config.update(
            channels=self.channels,
            source_grid=self.source_grid,
            target_grid=self.target_grid,
            hidden_ratio=self.hidden_ratio,
            gelu=self.gelu,
            **self.initializers_config(),
        )
        return config
