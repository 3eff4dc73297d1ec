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


EXIT_POOLS = ("token", "avg")


@keras.saving.register_keras_serializable(package="keras_nest")
class ExitHead(SublayerInitializers, keras.layers.Layer):
    """An early exit of a cascade (DVT): LayerNorm, pooling, classifier.

    The final LayerNorm over every token (sublayer ``norm``), the class token
    (``pool="token"``) or the mean of the tokens (``"avg"``), then
    ``Dense(classes)`` (sublayer ``predictions``) and ``activation``. With
    ``classes=None`` there is no classifier and the pooled vector comes out.

    ``call(tokens, return_confidence=True)`` also returns the exit's
    confidence, the largest softmax probability of its logits, whatever the
    activation; a dynamic cascade compares it with the exit's threshold.
    Under a mixed-precision policy the classifier computes in float32.

    Input shape: ``(B, N, D)``, the last block's output before its norm.
    Output shape: ``(B, classes)`` (``(B, D)`` without a classifier); the
    confidence is ``(B,)``.
    """

    def __init__(
        self,
        classes,
        pool="token",
        activation=None,
        layer_norm_epsilon=1e-6,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if pool not in EXIT_POOLS:
            raise ValueError(f"pool must be one of {EXIT_POOLS}, got {pool!r}.")
        self.classes = classes
        self.pool = pool
        self.activation = keras.activations.get(activation)
        self.layer_norm_epsilon = layer_norm_epsilon
        self.set_initializers(kernel_initializer, bias_initializer)

    def build(self, input_shape):
        self.norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, name="norm", dtype=self.dtype_policy
        )
        self.norm.build(input_shape)
        if self.classes is not None:
            dense = self.sublayer_kwargs()
            if dense["dtype"].compute_dtype != dense["dtype"].variable_dtype:
                dense["dtype"] = "float32"  # mixed precision: logits in full precision
            self.predictions = keras.layers.Dense(self.classes, name="predictions", **dense)
            self.predictions.build((input_shape[0], input_shape[-1]))

    def call(self, inputs, return_confidence=False):
        x = self.norm(inputs)
        x = x[:, 0] if self.pool == "token" else ops.mean(x, axis=1)
        if self.classes is None:
            return x
        logits = self.predictions(x)
        outputs = self.activation(logits)
        if not return_confidence:
            return outputs
        confidence = ops.max(ops.softmax(ops.cast(logits, "float32"), axis=-1), axis=-1)
        return outputs, confidence

    def count_macs(self, input_shape, counter):
        """The norm and the classifier, for ``keras_nest.utils.count_flops``."""
        counter.layer(self.norm, input_shape)
        if self.classes is not None:
            counter.layer(self.predictions, (input_shape[0], input_shape[-1]))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1] if self.classes is None else self.classes)

    def compute_output_spec(self, inputs, return_confidence=False):
        width = inputs.shape[-1] if self.classes is None else self.classes
        dtype = self.compute_dtype if self.classes is None else self.predictions.compute_dtype
        outputs = keras.KerasTensor((inputs.shape[0], width), dtype=dtype)
        if not return_confidence or self.classes is None:
            return outputs
        return outputs, keras.KerasTensor((inputs.shape[0],), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(
            classes=self.classes,
            pool=self.pool,
            activation=keras.activations.serialize(self.activation),
            layer_norm_epsilon=self.layer_norm_epsilon,
            **self.initializers_config(),
        )
        return config
