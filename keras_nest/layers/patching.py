"""Turning images into tokens."""

import keras

from keras_nest.layers.blocks import pair
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
        ph, pw = self.patch_size
        if input_shape[1] % ph or input_shape[2] % pw:
            raise ValueError(
                f"{self.name}: a {input_shape[1]}x{input_shape[2]} image does not "
                f"split into {ph}x{pw} patches."
            )
        self.proj = keras.layers.Conv2D(
            self.embed_dim,
            self.patch_size,
            strides=self.patch_size,
            padding="valid",
            name="proj",
            **self.sublayer_kwargs(),
        )
        self.proj.build(input_shape)

    def call(self, inputs):
        return self.proj(inputs)

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
