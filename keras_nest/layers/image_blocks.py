"""NesT's image blocks: splitting a map into blocks, merging it back, aggregating."""

import math

import keras
from keras import ops

from keras_nest.layers import compute_paths
from keras_nest.layers.initializers import SublayerInitializers


def pair(value):
    """``7 -> (7, 7)``; a pair stays a pair."""
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def check_split(name, shape, size, whole="map", parts="blocks"):
    """Raises a ValueError unless ``size`` ``(h, w)`` divides the map ``shape`` ``(B, H, W, C)``."""
    if shape[1] is None or shape[2] is None:
        raise ValueError(
            f"{name}: needs the {whole}'s height and width to split it into {parts}, "
            f"got shape {tuple(shape)}."
        )
    if shape[1] % size[0] or shape[2] % size[1]:
        raise ValueError(
            f"{name}: a {shape[1]}x{shape[2]} {whole} does not split into "
            f"{size[0]}x{size[1]} {parts}."
        )


def blockify(x, block_size):
    """Splits a map into non-overlapping blocks.

    ``(B, H, W, C) -> (B, T, N, C)`` with ``T = (H/bh)(W/bw)`` blocks in
    row-major order over the block grid and ``N = bh*bw`` tokens in row-major
    order inside each block: pixel ``(y, x)`` lands in block
    ``(y // bh) * (W / bw) + x // bw`` at token ``(y % bh) * bw + x % bw``.
    """
    bh, bw = block_size
    _, height, width, channels = x.shape
    x = ops.reshape(x, (-1, height // bh, bh, width // bw, bw, channels))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (-1, (height // bh) * (width // bw), bh * bw, channels))


def deblockify(x, block_size):
    """Inverse of :func:`blockify` for a square block grid.

    ``(B, T, N, C) -> (B, sqrt(T) * bh, sqrt(T) * bw, C)``.
    """
    bh, bw = block_size
    _, blocks, _, channels = x.shape
    grid = math.isqrt(blocks)
    x = ops.reshape(x, (-1, grid, grid, bh, bw, channels))
    x = ops.transpose(x, (0, 1, 3, 2, 4, 5))
    return ops.reshape(x, (-1, grid * bh, grid * bw, channels))


def deblockified_shape(shape, block_size):
    """The map shape :func:`deblockify` makes of blocks of ``shape`` ``(B, T, N, C)``."""
    bh, bw = block_size
    grid = math.isqrt(shape[1])
    return (shape[0], grid * bh, grid * bw, shape[3])


def check_blocks(name, shape, block_size):
    """Raises a ValueError unless ``shape`` (B, T, N, C) is a square grid of blocks."""
    bh, bw = block_size
    blocks, tokens = shape[1], shape[2]
    if math.isqrt(blocks) ** 2 != blocks or tokens != bh * bw:
        raise ValueError(
            f"{name}: expected (batch, T, {bh * bw}, C) with T a square number of "
            f"{bh}x{bw} blocks, got {tuple(shape)}."
        )


class _BlockSized(keras.layers.Layer):
    """A layer configured by its ``block_size`` ``(bh, bw)`` alone."""

    def __init__(self, block_size, **kwargs):
        super().__init__(**kwargs)
        self.block_size = pair(block_size)

    def get_config(self):
        config = super().get_config()
        config.update(block_size=self.block_size)
        return config


@keras.saving.register_keras_serializable(package="keras_nest")
class Blockify(_BlockSized):
    """Splits a feature map into blocks (see :func:`blockify` for the order).

    Input shape: ``(B, H, W, C)`` with ``bh | H`` and ``bw | W``.
    Output shape: ``(B, (H/bh)(W/bw), bh*bw, C)``.
    """

    def build(self, input_shape):
        check_split(self.name, input_shape, self.block_size)

    def call(self, inputs):
        return blockify(inputs, self.block_size)

    def compute_output_shape(self, input_shape):
        bh, bw = self.block_size
        blocks = (input_shape[1] // bh) * (input_shape[2] // bw)
        return (input_shape[0], blocks, bh * bw, input_shape[3])


@keras.saving.register_keras_serializable(package="keras_nest")
class Deblockify(_BlockSized):
    """Merges a square grid of blocks back into a feature map.

    Input shape: ``(B, T, bh*bw, C)`` with ``T`` a square number.
    Output shape: ``(B, sqrt(T)*bh, sqrt(T)*bw, C)``.
    """

    def build(self, input_shape):
        check_blocks(self.name, input_shape, self.block_size)

    def call(self, inputs):
        return deblockify(inputs, self.block_size)

    def compute_output_shape(self, input_shape):
        return deblockified_shape(input_shape, self.block_size)


@keras.saving.register_keras_serializable(package="keras_nest")
class BlockAggregation(SublayerInitializers, keras.layers.Layer):
    """NesT's block aggregation: merges every 2x2 group of blocks into one.

    On blockified input: deblockify, 3x3 conv ('same', with bias), LayerNorm
    over channels, 3x3 stride-2 max-pool with TF-style 'same' padding (a
    one-pixel pad at the bottom and right on even sizes, as the official Flax
    code), then blockify again with the same block size.

    Input shape: ``(B, T, bh*bw, C)`` with ``T`` a square number.
    Output shape: ``(B, T/4, bh*bw, filters)``.
    """

    def __init__(
        self,
        filters,
        block_size,
        layer_norm_epsilon=1e-6,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = filters
        self.block_size = pair(block_size)
        self.layer_norm_epsilon = layer_norm_epsilon
        self.set_initializers(kernel_initializer, bias_initializer)

    def build(self, input_shape):
        check_blocks(self.name, input_shape, self.block_size)
        grid = math.isqrt(input_shape[1])
        if grid % 2:
            raise ValueError(
                f"{self.name}: needs an even block grid to merge 2x2 blocks, got {grid}x{grid}."
            )
        map_shape = deblockified_shape(input_shape, self.block_size)
        self.conv = keras.layers.Conv2D(
            self.filters,
            3,
            padding="same",
            name="conv",
            **self.sublayer_kwargs(),
        )
        self.conv.build(map_shape)
        self.norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, name="norm", dtype=self.dtype_policy
        )
        self.norm.build((*map_shape[:3], self.filters))

    def call(self, inputs, training=None):
        x = deblockify(inputs, self.block_size)
        x = compute_paths.conv2d(self.conv, x, training=training)
        x = compute_paths.max_pool(
            compute_paths.layer_norm(self.norm, x, training), 3, 2, "same", training=training
        )
        return blockify(x, self.block_size)

    def count_macs(self, input_shape, counter):
        """Multiply-adds for ``keras_nest.utils.count_flops``: conv and norm.

        Plus (for ptflops) one per max-pool input element.
        """
        map_shape = counter.layer(self.conv, deblockified_shape(input_shape, self.block_size))
        counter.layer(self.norm, map_shape)
        counter.add("relu_and_pool", math.prod(map_shape[1:]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[1] // 4, input_shape[2], self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            block_size=self.block_size,
            layer_norm_epsilon=self.layer_norm_epsilon,
            **self.initializers_config(),
        )
        return config
