"""Which explanation fits which model, and the checks on what a user passes in."""

import re

import numpy as np

from keras_nest.layers import BlockAggregation, Deblockify, TransformerBlock

_LEVEL_BLOCK = re.compile(r"level_(\d+)_block_(\d+)$")


def nest_levels(model):
    """The names of the layers giving each NesT level's output, leaves first.

    A level's output is that of its last ``TransformerBlock``
    (``level_{l}_block_{i}``), ``(B, 4^(L-1-l), N, C_l)``. Empty for a model
    that is not a NesT.
    """
    if not any(isinstance(layer, (BlockAggregation, Deblockify)) for layer in model.layers):
        return []
    last = {}
    for layer in model.layers:
        match = _LEVEL_BLOCK.match(layer.name)
        if match and isinstance(layer, TransformerBlock):
            level, index = map(int, match.groups())
            last[level] = max(last.get(level, -1), index)
    return [f"level_{level}_block_{last[level]}" for level in sorted(last)]


def fitting_methods(model):
    """The explanation methods that apply to ``model``, as a tuple of names."""
    if nest_levels(model):
        return ("gradcat", "gradcam")
    if getattr(model, "exit_models", None) or any(
        isinstance(layer, TransformerBlock) for layer in model.layers
    ):
        return ("rollout",)
    return ()


def check_method(model, method):
    """Raises a ValueError unless ``method`` applies to ``model``, naming those that do."""
    methods = fitting_methods(model)
    if method in methods:
        return
    what = {
        "gradcat": "walks NesT's tree of image blocks",
        "gradcam": "takes NesT's final feature map",
        "rollout": "multiplies the attention maps of a token sequence",
    }[method]
    fits = f"use {' or '.join(methods)}" if methods else "no explanation method fits it"
    raise ValueError(f"{method} {what}; {model.name!r} is not such a model: {fits}.")


def check_images(model, images):
    """``images`` as a float32 numpy batch the model takes, or a ValueError."""
    images = np.asarray(images, dtype="float32")
    expected = tuple(model.input_shape[1:])
    if images.ndim == len(expected):
        raise ValueError(
            f"images must be a batch (n, {', '.join(map(str, expected))}); got one image of "
            f"shape {images.shape}: add a batch axis (images[None])."
        )
    if images.ndim != len(expected) + 1 or images.shape[0] < 1 or images.shape[1:] != expected:
        raise ValueError(
            f"{model.name} takes images of shape (n, {', '.join(map(str, expected))}); "
            f"got {images.shape}."
        )
    return images


def check_classes(class_index, count, classes):
    """``class_index`` (None, one int, or one per image) as None or ``(count,)`` int32."""
    if class_index is None:
        return None
    chosen = np.asarray(class_index)
    if chosen.ndim == 0:
        chosen = np.full(count, chosen)
    if chosen.shape != (count,) or not np.issubdtype(chosen.dtype, np.integer):
        raise ValueError(
            f"class_index must be None, an int or {count} ints (one per image); got {class_index!r}."
        )
    if chosen.min() < 0 or chosen.max() >= classes:
        raise ValueError(
            f"class_index must lie in [0, {classes - 1}] (the model has {classes} classes); "
            f"got {class_index!r}."
        )
    return chosen.astype("int32")
