"""The keras.applications plumbing shared by every model family.

Input handling (``input_tensor`` / ``input_shape``), the head (``include_top``,
``pooling``, ``classes``, ``classifier_activation``) and the checks that turn
bad arguments into clear errors before anything is built. ``weights=`` is
resolved by :func:`keras_nest.weights.resolve_weights`.
"""

import keras

from keras_nest.layers.initializers import fresh

POOLINGS = (None, "avg", "max")


def check_head_arguments(pooling, classes, poolings=POOLINGS):
    """Raises a ValueError for an unknown pooling mode or a bad class count."""
    if pooling not in poolings:
        raise ValueError(f"pooling must be one of {poolings}, got {pooling!r}.")
    if not isinstance(classes, int) or classes < 1:
        raise ValueError(f"classes must be a positive integer, got {classes!r}.")


def image_input(input_tensor, input_shape, default_size, weights):
    """Returns ``(image_input, model_inputs)`` for a channels-last image model.

    ``input_shape`` defaults to ``(default_size, default_size, 3)`` or to the
    shape of ``input_tensor``. Height and width must be known. Pretrained
    ``weights`` (a resolved :class:`~keras_nest.weights.WeightsSource`) need
    3 channels.
    """
    if keras.config.image_data_format() != "channels_last":
        raise ValueError("keras_nest models are channels_last only.")
    if input_shape is None and input_tensor is not None:
        input_shape = tuple(input_tensor.shape[1:])
    if input_shape is None:
        input_shape = (default_size, default_size, 3)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3 or any(d is None for d in input_shape):
        raise ValueError(
            "input_shape must be (height, width, channels) with every size known, "
            f"got {input_shape}."
        )
    if weights.pretrained and input_shape[-1] != 3:
        raise ValueError(
            f"Pretrained weights take 3 input channels, got input_shape={input_shape}."
        )
    if input_tensor is None:
        inputs = keras.Input(shape=input_shape, name="images")
        return inputs, inputs
    if not keras.backend.is_keras_tensor(input_tensor):
        input_tensor = keras.Input(tensor=input_tensor, shape=input_shape)
    sources = keras.utils.get_source_inputs(input_tensor)
    return input_tensor, sources[0] if len(sources) == 1 else sources


def classification_head(
    feature_map, include_top, pooling, classes, classifier_activation, kernel_initializer
):
    """Global pooling and the classifier on a ``(B, H, W, C)`` feature map.

    ``include_top=True``: average pool then ``Dense(classes)`` named
    ``predictions``. Otherwise ``pooling`` None returns the map, "avg" or
    "max" a ``(B, C)`` vector.
    """
    if include_top:
        x = keras.layers.GlobalAveragePooling2D(name="avg_pool")(feature_map)
        return classifier(classes, classifier_activation, kernel_initializer)(x)
    if pooling == "avg":
        return keras.layers.GlobalAveragePooling2D(name="avg_pool")(feature_map)
    if pooling == "max":
        return keras.layers.GlobalMaxPooling2D(name="max_pool")(feature_map)
    return feature_map


def classifier(classes, activation, kernel_initializer):
    """The ``Dense(classes)`` head named ``predictions``.

    Under a mixed-precision policy (``mixed_bfloat16``, ``mixed_float16``)
    it computes in float32, so logits and probabilities keep full precision.
    """
    policy = keras.config.dtype_policy()
    mixed = policy.compute_dtype != policy.variable_dtype
    return keras.layers.Dense(
        classes,
        activation=activation,
        kernel_initializer=fresh(kernel_initializer),
        dtype="float32" if mixed else None,
        name="predictions",
    )


def pool_tokens(tokens, pool):
    """Pools a ``(B, N, D)`` token sequence to ``(B, D)``.

    ``pool``: "token" (the first token, a class token), "avg" or "max"; None
    returns the sequence unchanged.
    """
    if pool == "token":
        return tokens[:, 0]
    if pool == "avg":
        return keras.layers.GlobalAveragePooling1D(name="avg_pool")(tokens)
    if pool == "max":
        return keras.layers.GlobalMaxPooling1D(name="max_pool")(tokens)
    return tokens
