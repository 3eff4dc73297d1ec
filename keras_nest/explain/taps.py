"""A classifier rebuilt with taps: zero inputs added to chosen layers' outputs.

The gradient of a class logit with respect to a tap is its gradient with
respect to the tapped layer's output, which every backend can then take as a
gradient with respect to a model input (``jax.grad`` has no other way to reach
an intermediate tensor).
"""

import keras
from keras import ops


class _Logits(keras.layers.Layer):
    """The pre-activation output of a ``Dense`` classifier, sharing its weights."""

    def __init__(self, dense, **kwargs):
        super().__init__(name=f"{dense.name}_logits", dtype=dense.dtype_policy, **kwargs)
        self.dense = dense

    def call(self, inputs):
        logits = ops.matmul(inputs, self.dense.kernel)
        return logits + self.dense.bias if self.dense.use_bias else logits

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.dense.units)


def classifier_layer(model):
    """The model's ``Dense`` classifier named ``predictions``, or a ValueError."""
    try:
        dense = model.get_layer("predictions")
    except ValueError:
        dense = None
    if not isinstance(dense, keras.layers.Dense) or dense.output is not model.outputs[-1]:
        raise ValueError(
            f"{model.name} has no classifier to explain (a Dense layer named 'predictions' "
            "giving the output): build it with include_top=True."
        )
    return dense


def tapped_model(model, layer_names):
    """``model`` with a tap after each named layer, returning class logits.

    The named layers must lie on one chain, in forward order: everything
    between two of them depends only on the earlier one's output (as NesT's
    levels). Shares ``model``'s weights.

    Args:
        model: a functional classifier whose output is its ``predictions``
            ``Dense`` layer (any activation).
        layer_names: names of the layers to tap, in forward order.

    Returns:
        A ``keras.Model`` from ``[images, tap_1, ..., tap_k]`` (each tap
        shaped as its layer's output, zeros leave the model unchanged) to
        ``[logits (B, classes), output_1, ..., output_k]``, the outputs taken
        before their taps are added.
    """
    dense = classifier_layer(model)
    tapped = [model.get_layer(name).output for name in layer_names]
    images = keras.Input(batch_shape=model.input.shape, dtype=model.input.dtype, name="images")
    taps, features = [], []
    x, previous = images, model.input
    for name, tensor in zip(layer_names, tapped):
        x = keras.Model(previous, tensor, name=f"to_{name}")(x)
        features.append(x)
        tap = keras.Input(batch_shape=tensor.shape, dtype=tensor.dtype, name=f"{name}_tap")
        taps.append(tap)
        x, previous = keras.layers.Add(name=f"{name}_tapped")([x, tap]), tensor
    x = keras.Model(previous, dense.input, name="to_classifier")(x)
    logits = _Logits(dense)(x)
    return keras.Model([images, *taps], [logits, *features], name=f"{model.name}_tapped")
