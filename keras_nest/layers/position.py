"""Position embeddings (learned and sinusoidal) and the class token."""

import keras
import numpy as np
from keras import ops

from keras_nest.layers import compute_paths
from keras_nest.layers.initializers import fresh


@keras.saving.register_keras_serializable(package="keras_nest")
class PositionEmbedding(keras.layers.Layer):
    """A learned tensor of the input's shape (batch axis 1), added to the input.

    NesT keeps one per level, shaped ``(1, T, N, C)``, so every token of every
    block has its own embedding. Initialised with a truncated normal of
    standard deviation 0.02 (truncated at two deviations, as the official code).

    Input shape: ``(B, *S)``. Output shape: ``(B, *S)``; the weight is
    ``(1, *S)``.
    """

    def __init__(self, initializer=None, **kwargs):
        super().__init__(**kwargs)
        self.initializer = keras.initializers.get(
            initializer or keras.initializers.TruncatedNormal(stddev=0.02)
        )

    def build(self, input_shape):
        self.embedding = self.add_weight(
            shape=(1, *input_shape[1:]),
            initializer=fresh(self.initializer),
            name="embedding",
        )

    def call(self, inputs, training=None):
        return compute_paths.add_shared(inputs, self.embedding, training)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(initializer=keras.initializers.serialize(self.initializer))
        return config


def sinusoid_table(length, dim):
    """The fixed sinusoidal embedding ``(length, dim)`` of the Compact Transformers.

    ``angle[p, i] = p / 10000^(2 * (i // 2) / dim)``; even channels take its
    sine, odd channels its cosine. As the authors' code, the angle is computed
    in double precision and rounded to float32 before the sine and cosine.
    """
    positions = np.arange(length, dtype=np.float64)[:, None]
    exponents = 2 * (np.arange(dim) // 2) / dim
    angles = (positions / 10000.0**exponents).astype(np.float32)
    return np.where(np.arange(dim) % 2 == 0, np.sin(angles), np.cos(angles)).astype(np.float32)


@keras.saving.register_keras_serializable(package="keras_nest")
class SinePositionEmbedding(keras.layers.Layer):
    """Adds the fixed sinusoidal embedding of :func:`sinusoid_table` to tokens.

    By default it holds no weights: the table is computed for the input's
    length, so it follows any input size. With ``stored=True`` the table is a
    non-trainable weight ``embedding`` ``(1, N, C)``, as in checkpoints that
    keep it (T2T-ViT's and DVT's frozen ``pos_embed``): it loads from them
    and counts among the parameters.

    Input shape: ``(B, N, C)``. Output shape: ``(B, N, C)``.
    """

    def __init__(self, stored=False, **kwargs):
        super().__init__(**kwargs)
        self.stored = stored

    def build(self, input_shape):
        table = sinusoid_table(*input_shape[1:])
        if self.stored:
            table = self.add_weight(
                shape=(1, *input_shape[1:]),
                initializer=lambda shape, dtype=None: ops.cast(table[None], dtype),
                trainable=False,
                name="embedding",
            )
        self.table = table

    def call(self, inputs):
        return inputs + ops.cast(self.table, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(stored=self.stored)
        return config


@keras.saving.register_keras_serializable(package="keras_nest")
class ClassToken(keras.layers.Layer):
    """Prepends one learned token to the sequence (ViT's class token).

    The weight ``token`` is ``(1, 1, C)``, zeros by default as in the
    original ViT and the Compact Transformers.

    Input shape: ``(B, N, C)``. Output shape: ``(B, N + 1, C)``.
    """

    def __init__(self, initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        self.initializer = keras.initializers.get(initializer)

    def build(self, input_shape):
        self.token = self.add_weight(
            shape=(1, 1, input_shape[-1]), initializer=fresh(self.initializer), name="token"
        )

    def call(self, inputs):
        batch = ops.shape(inputs)[0]
        token = ops.cast(self.token, inputs.dtype)
        token = ops.broadcast_to(token, (batch, 1, ops.shape(inputs)[-1]))
        return ops.concatenate([token, inputs], axis=1)

    def compute_output_shape(self, input_shape):
        tokens = None if input_shape[1] is None else input_shape[1] + 1
        return (input_shape[0], tokens, input_shape[2])

    def get_config(self):
        config = super().get_config()
        config.update(initializer=keras.initializers.serialize(self.initializer))
        return config
