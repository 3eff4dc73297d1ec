"""Pooling a token sequence into one vector."""

import math

import keras
from keras import ops

from keras_nest.layers.initializers import SublayerInitializers


@keras.saving.register_keras_serializable(package="keras_nest")
class SequencePooling(SublayerInitializers, keras.layers.Layer):
    """Attention pooling of the Compact Transformers (SeqPool).

    A ``Dense(1)`` (sublayer ``attention_pool``) scores every token, a softmax
    over the tokens turns the scores into weights, and the output is the
    weighted sum of the tokens.

    Input shape: ``(B, N, C)``. Output shape: ``(B, C)``.
    """

    def __init__(self, kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.set_initializers(kernel_initializer, bias_initializer)

    def build(self, input_shape):
        self.attention_pool = keras.layers.Dense(1, name="attention_pool", **self.sublayer_kwargs())
        self.attention_pool.build(input_shape)

    def call(self, inputs):
        scores = self.attention_pool(inputs)[..., 0]
        weights = ops.cast(ops.softmax(ops.cast(scores, "float32"), axis=1), inputs.dtype)
        return ops.einsum("bn,bnc->bc", weights, inputs)

    def count_macs(self, input_shape, counter):
        """The scores and the weighted sum, for ``keras_nest.utils.count_flops``."""
        counter.layer(self.attention_pool, input_shape)
        counter.add("linear", math.prod(input_shape[1:]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1])

    def get_config(self):
        config = super().get_config()
        config.update(self.initializers_config())
        return config
