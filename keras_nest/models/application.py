"""The keras.applications plumbing shared by every model family.

Input handling (``input_tensor`` / ``input_shape``), the head (``include_top``,
``pooling``, ``classes``, ``classifier_activation``) and the checks that turn
bad arguments into clear errors before anything is built.
"""

import os

import keras

from keras_nest.layers.initializers import fresh

POOLINGS = (None, "avg", "max")


def check_weights_argument(weights, model_name, named_weights):
    """Raises a ValueError unless ``weights`` is None, a known name or a file."""
    if weights is None or weights in named_weights:
        return
    if isinstance(weights, (str, os.PathLike)) and os.path.isfile(weights):
        return
    known = sorted(named_weights) or "none published"
    raise ValueError(
        f"{model_name}: weights must be None, the name of published weights "
        f"({known}) or the path of an existing file; got {weights!r}."
    )


def check_head_arguments(pooling, classes, poolings=POOLINGS):
    """Raises a ValueError for an unknown pooling mode or a bad class count."""
    if pooling not in poolings:
        raise ValueError(f"pooling must be one of {poolings}, got {pooling!r}.")
    if not isinstance(classes, int) or classes < 1:
        raise ValueError(f"classes must be a positive integer, got {classes!r}.")


def default_classes(classes, weights, named_weights, default):
    """``classes``, or where it is None the class count of the named ``weights``
    (``weights="cifar100"`` gives 100 classes), else ``default``."""
    if classes is not None:
        return classes
    if isinstance(weights, str) and weights in named_weights:
        return named_weights[weights].classes
    return default


def variant_constructor(title, variant, builder, arch, named_weights, classes, doc):
    """A keras.applications-style constructor of one named variant of ``builder``.

    Args:
        title: the constructor's ``__name__`` (``NestTiny``, ``cct_7_3x1_32``).
        variant: the registered name, also the default model name.
        builder: the family builder, called with ``arch`` and the arguments.
        arch: the variant's architecture arguments (overridable by keyword).
        named_weights: ``{name: WeightsFile}`` of its published weights.
        classes: its default class count, used when ``classes`` is None and
            ``weights`` names no published checkpoint.
        doc: the constructor's docstring.
    """
    default = classes

    def build(
        include_top=True,
        weights=None,
        input_tensor=None,
        input_shape=None,
        pooling=None,
        classes=None,
        classifier_activation="softmax",
        name=variant,
        **kwargs,
    ):
        return builder(
            include_top=include_top,
            weights=weights,
            input_tensor=input_tensor,
            input_shape=input_shape,
            pooling=pooling,
            classes=default_classes(classes, weights, named_weights, default),
            classifier_activation=classifier_activation,
            name=name,
            named_weights=named_weights,
            **{**arch, **kwargs},
        )

    build.__name__ = build.__qualname__ = title
    build.__doc__ = doc
    return build


def image_input(input_tensor, input_shape, default_size, pretrained):
    """Returns ``(image_input, model_inputs)`` for a channels-last image model.

    ``input_shape`` defaults to ``(default_size, default_size, 3)`` or to the
    shape of ``input_tensor``. Height and width must be known. Pretrained
    weights need 3 channels.
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
    if pretrained and input_shape[-1] != 3:
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
