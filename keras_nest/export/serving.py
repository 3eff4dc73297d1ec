"""What a served model needs around it: how its images are prepared and what its classes are.

    serving = serving_config(model)                        # a registry model: all known
    serving = serving_config(model, normalization="unit", class_names=digits)

A model made by a named constructor (``keras_nest.NestTiny()``, whose name is
its registry name) brings its normalisation and, with 1000 classes on
ImageNet's 1000 classes, their names; any other model says its
``normalization``. A ``keras-nest train`` work folder brings its recipe's
(:func:`serving_config_for_recipe`).
"""

import dataclasses

from keras_nest.preprocessing import imagenet_classes, normalization_constants

TOP = 5  # classes ranked per image


@dataclasses.dataclass(frozen=True)
class ServingConfig:
    """How the uint8 serving signature prepares an image, as evaluation does.

    Attributes:
        image_size: the model's input edge.
        mean, std: per-channel statistics of [0, 1] pixels; inputs become
            ``(x / 255 - mean) / std``.
        crop_ratio: the shorter side is resized to ``image_size / crop_ratio``
            and the centre square cut (1.0: the whole shorter side).
        interpolation: ``tf.image.resize`` method ("bicubic", "bilinear", ...).
        class_names: a name per class, or None where none is known.
        top: how many classes each image ranks.
    """

    image_size: int
    mean: tuple
    std: tuple
    crop_ratio: float = 0.875
    interpolation: str = "bicubic"
    class_names: tuple | None = None
    top: int = TOP


def serving_config(
    model,
    normalization=None,
    crop_ratio=None,
    interpolation=None,
    class_names=None,
    top=TOP,
):
    """The :class:`ServingConfig` of ``model``, from its registry record where it has one.

    Args:
        model: a keras_nest classifier (square ``(size, size, 3)`` input).
        normalization: a name of ``keras_nest.preprocessing.NORMALIZATIONS``
            or a ``(mean, std)`` pair; default: its registry record's.
        crop_ratio: default 0.875 at 224 px and up, else 1.0 (the whole image).
        interpolation: default "bicubic".
        class_names: ``classes`` strings; default ImageNet's for a registry
            model of ImageNet's 1000 classes, else none.
        top: classes ranked per image (at most the class count).

    Raises:
        ValueError: a model whose normalisation is unknown and not given, a
            non-square or non-RGB input, class names of the wrong count.
    """
    from keras_nest.models.registry import list_models, model_record

    outputs_probabilities(model)  # a classifier, softmax or linear
    _, height, width, channels = model.input_shape
    if height is None or height != width or channels != 3:
        raise ValueError(
            f"Export needs a fixed square RGB input (size, size, 3); {model.name!r} takes "
            f"{model.input_shape[1:]}. Build it with input_shape=(size, size, 3)."
        )
    record = model_record(model.name) if model.name in list_models() else None
    if normalization is None:
        if record is None:
            raise ValueError(
                f"{model.name!r} is no registry model: give normalization= (a name such as "
                "'imagenet' or 'unit', or a (mean, std) pair) so the serving signature "
                "prepares images as in training."
            )
        normalization = record.preset.preprocessing
    mean, std = normalization_constants(normalization)
    classes = _class_count(model)
    if class_names is None and record is not None and classes == record.preset.classes == 1000:
        class_names = tuple(name for _, name in imagenet_classes())
    if class_names is not None:
        class_names = tuple(str(name) for name in class_names)
        if len(class_names) != classes:
            raise ValueError(
                f"{len(class_names)} class names for a model of {classes} classes."
            )
    return ServingConfig(
        image_size=height,
        mean=tuple(float(m) for m in mean),
        std=tuple(float(s) for s in std),
        crop_ratio=(0.875 if height >= 224 else 1.0) if crop_ratio is None else float(crop_ratio),
        interpolation=interpolation or "bicubic",
        class_names=class_names,
        top=min(int(top), classes),
    )


def serving_config_for_recipe(model, recipe, class_names=None):
    """The :class:`ServingConfig` a training recipe's evaluation implies."""
    return serving_config(
        model,
        normalization=recipe.normalization,
        crop_ratio=recipe.crop_ratio,
        interpolation=recipe.interpolation,
        class_names=class_names,
    )


def outputs_probabilities(model):
    """Whether ``model``'s classifiers end in softmax: its ``ExitHead`` s' activation (DVT), or
    else its Dense layers named ``predictions``."""
    import keras

    from keras_nest.layers import ExitHead

    layers = list(_nested_layers(model))
    heads = [layer for layer in layers if isinstance(layer, ExitHead)] or [
        layer
        for layer in layers
        if isinstance(layer, keras.layers.Dense) and layer.name == "predictions"
    ]
    names = {getattr(head.activation, "__name__", "") for head in heads}
    if names == {"softmax"}:
        return True
    if names == {"linear"}:
        return False
    raise ValueError(
        f"Export serves classifiers with a softmax or linear head; {model.name!r} has "
        f"{sorted(names) or 'no classifier'}. Build it with include_top=True."
    )


def _nested_layers(model):
    """Every layer of ``model`` and of the models nested in it (a DVT's exits)."""
    import keras

    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _nested_layers(layer)


def _class_count(model):
    """The class count of ``model``'s (last) output; a ValueError for a model without a head."""
    shapes = model.output_shape if isinstance(model.output_shape, list) else [model.output_shape]
    shape = shapes[-1]
    if not isinstance(shape, tuple) or len(shape) != 2 or not shape[-1]:
        raise ValueError(
            f"Export serves classifiers: {model.name!r} outputs {model.output_shape}. "
            "Build it with include_top=True."
        )
    return shape[-1]
