"""Turning images into tokens."""

import math

import keras
from keras import ops

from keras_nest.layers import compute_paths
from keras_nest.layers.image_blocks import check_split, pair
from keras_nest.layers.initializers import SublayerInitializers


@keras.saving.register_keras_serializable(package="keras_nest")
class PatchEmbedding(SublayerInitializers, keras.layers.Layer):
    """Non-overlapping patches projected to ``embed_dim`` by one convolution.

    A Conv2D with kernel = stride = ``patch_size``, a bias and no padding.

    Input shape: ``(B, H, W, channels)`` with ``patch_size`` dividing H and W.
    Output shape: ``(B, H/p, W/p, embed_dim)``.
    """

    def __init__(
        self,
        embed_dim,
        patch_size,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.embed_dim = embed_dim
        self.patch_size = pair(patch_size)
        self.set_initializers(kernel_initializer, bias_initializer)

    def build(self, input_shape):
        check_split(self.name, input_shape, self.patch_size, "image", "patches")
        self.proj = keras.layers.Conv2D(
            self.embed_dim,
            self.patch_size,
            strides=self.patch_size,
            padding="valid",
            name="proj",
            **self.sublayer_kwargs(),
        )
        self.proj.build(input_shape)

    def call(self, inputs, training=None):
        return compute_paths.conv2d(self.proj, inputs, training)

    def count_macs(self, input_shape, counter):
        """The convolution's multiply-adds, for ``keras_nest.utils.count_flops``."""
        counter.layer(self.proj, input_shape)

    def compute_output_shape(self, input_shape):
        ph, pw = self.patch_size
        return (input_shape[0], input_shape[1] // ph, input_shape[2] // pw, self.embed_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            embed_dim=self.embed_dim,
            patch_size=self.patch_size,
            **self.initializers_config(),
        )
        return config


def stage_size(size, kernel, stride, padding):
    """Output edge of a conv or pool as PyTorch computes it (floor)."""
    return (size + 2 * padding - kernel) // stride + 1


@keras.saving.register_keras_serializable(package="keras_nest")
class ConvTokenizer(SublayerInitializers, keras.layers.Layer):
    """Convolutional tokenizer of the Compact Transformers: image -> token sequence.

    ``conv_layers`` stages, each::

        zero-pad ``padding`` -> Conv2D(kernel_size, strides) -> activation
          -> [max-pool ``pool_size``, ``pool_strides``, padded ``pool_padding``]

    with ``hidden_dim`` channels out of every stage but the last, which gives
    ``embed_dim``. Paddings are symmetric, as PyTorch pads; the pool pads with
    -inf. The feature map is then flattened row by row into tokens. CCT uses
    ReLU, no bias and the pool (defaults); ViT-Lite and CVT use one stage with
    ``kernel_size = strides = patch``, ``padding=0``, a bias, no activation
    and no pool.

    Args:
        embed_dim: channels of the last stage (the token width).
        kernel_size: convolution kernel edge.
        strides: convolution stride; None for CCT's ``max(1, k // 2 - 1)``.
        padding: symmetric zero padding; None for CCT's ``max(1, k // 2)``.
        conv_layers: number of stages.
        hidden_dim: channels between stages.
        use_bias: whether the convolutions have a bias.
        activation: after every convolution (None for none).
        max_pool: whether every stage ends with the max-pool.
        pool_size, pool_strides, pool_padding: that pool.

    Input shape: ``(B, H, W, C)``. Output shape: ``(B, h * w, embed_dim)``
    with ``(h, w) = output_grid(H, W)``.
    """

    def __init__(
        self,
        embed_dim,
        kernel_size=3,
        strides=None,
        padding=None,
        conv_layers=1,
        hidden_dim=64,
        use_bias=False,
        activation="relu",
        max_pool=True,
        pool_size=3,
        pool_strides=2,
        pool_padding=1,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if conv_layers < 1:
            raise ValueError(f"conv_layers must be at least 1, got {conv_layers}.")
        self.embed_dim = embed_dim
        self.kernel_size = kernel_size
        self.strides = max(1, kernel_size // 2 - 1) if strides is None else strides
        self.padding = max(1, kernel_size // 2) if padding is None else padding
        self.conv_layers = conv_layers
        self.hidden_dim = hidden_dim
        self.use_bias = use_bias
        self.activation = keras.activations.get(activation)
        self.max_pool = max_pool
        self.pool_size = pool_size
        self.pool_strides = pool_strides
        self.pool_padding = pool_padding
        self.set_initializers(kernel_initializer, bias_initializer)

    def output_grid(self, height, width):
        """The token grid ``(h, w)`` for an image of ``height x width``.

        Raises:
            ValueError: if a stage would have no output, or if non-overlapping
                patches (kernel = stride, no padding or pool) would drop pixels.
        """
        patches = self.kernel_size == self.strides and self.padding == 0 and not self.max_pool
        if patches and (height % self.kernel_size or width % self.kernel_size):
            raise ValueError(
                f"{self.name}: a {height}x{width} image does not split into "
                f"{self.kernel_size}x{self.kernel_size} patches."
            )
        size = [height, width]
        for _ in range(self.conv_layers):
            size = [stage_size(s, self.kernel_size, self.strides, self.padding) for s in size]
            if self.max_pool:
                size = [
                    stage_size(s, self.pool_size, self.pool_strides, self.pool_padding)
                    for s in size
                ]
            if min(size) < 1:
                raise ValueError(
                    f"{self.name}: a {height}x{width} image is too small for "
                    f"{self.conv_layers} stage(s) of kernel {self.kernel_size}, stride "
                    f"{self.strides}, padding {self.padding}"
                    + (" and a stride-2 pool." if self.max_pool else ".")
                )
        return tuple(size)

    @property
    def same_padding(self):
        """Whether every stage's padding is Keras's "same" (stride 1, padded by (k - 1) / 2).

        Then the convolutions pad; otherwise the layer zero-pads before them.
        """
        return self.strides == 1 and 2 * self.padding == self.kernel_size - 1

    def build(self, input_shape):
        self.output_grid(*input_shape[1:3])
        self.convs = []
        channels = input_shape[-1]
        for index in range(self.conv_layers):
            conv = keras.layers.Conv2D(
                self.embed_dim if index == self.conv_layers - 1 else self.hidden_dim,
                self.kernel_size,
                strides=self.strides,
                padding="same" if self.same_padding else "valid",
                use_bias=self.use_bias,
                activation=self.activation,
                name=f"conv_{index}",
                **self.sublayer_kwargs(),
            )
            conv.build((None, None, None, channels))
            channels = conv.filters
            self.convs.append(conv)

    def _pad(self, x, padding, value):
        if not padding:
            return x
        pad = [[0, 0], [padding, padding], [padding, padding], [0, 0]]
        return ops.pad(x, pad, constant_values=value)

    def call(self, inputs, training=None):
        x = inputs
        for conv in self.convs:
            if not self.same_padding:
                x = self._pad(x, self.padding, 0)
            x = conv(x)
            if self.max_pool:
                x = self._pad(x, self.pool_padding, float("-inf"))
                x = compute_paths.max_pool(
                    x, self.pool_size, self.pool_strides, "valid", training=training
                )
        _, height, width, channels = ops.shape(x)
        return ops.reshape(x, (-1, height * width, channels))

    def count_macs(self, input_shape, counter):
        """Multiply-adds for ``keras_nest.utils.count_flops``.

        The convolutions, plus (for ptflops) one per ReLU output and one per
        max-pool input element.
        """
        shape = input_shape
        for conv in self.convs:
            if not self.same_padding:
                pad = 2 * self.padding
                shape = (shape[0], shape[1] + pad, shape[2] + pad, shape[3])
            shape = counter.layer(conv, shape)
            if conv.activation is keras.activations.relu:
                counter.add("relu_and_pool", math.prod(shape[1:]))
            if self.max_pool:
                counter.add("relu_and_pool", math.prod(shape[1:]))
                pool = (self.pool_size, self.pool_strides, self.pool_padding)
                edges = (stage_size(edge, *pool) for edge in shape[1:3])
                shape = (shape[0], *edges, shape[3])

    def compute_output_shape(self, input_shape):
        height, width = self.output_grid(*input_shape[1:3])
        return (input_shape[0], height * width, self.embed_dim)

    def get_config(self):
        config = super().get_config()
        config.update(
            embed_dim=self.embed_dim,
            kernel_size=self.kernel_size,
            strides=self.strides,
            padding=self.padding,
            conv_layers=self.conv_layers,
            hidden_dim=self.hidden_dim,
            use_bias=self.use_bias,
            activation=keras.activations.serialize(self.activation),
            max_pool=self.max_pool,
            pool_size=self.pool_size,
            pool_strides=self.pool_strides,
            pool_padding=self.pool_padding,
            **self.initializers_config(),
        )
        return config
