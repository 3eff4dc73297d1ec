"""Position embeddings."""

import keras


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
            initializer=self.initializer,
            name="embedding",
        )

    def call(self, inputs):
        return inputs + keras.ops.cast(self.embedding, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(initializer=keras.initializers.serialize(self.initializer))
        return config
