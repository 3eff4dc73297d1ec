"""Per-data-set pixel statistics, and scaling images by them.

What each family's checkpoints expect as input. Below both
``keras_nest.models`` and ``keras_nest.data``; Keras is imported only to
scale tensors, so the tables import without it.
"""

import numpy as np

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# name: (mean, std) of pixels scaled to [0, 1].
NORMALIZATIONS = {
    "imagenet": (IMAGENET_MEAN, IMAGENET_STD),
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4867, 0.4408), (0.2675, 0.2565, 0.2761)),
    "flowers102": ((0.4353, 0.3773, 0.2872), (0.2966, 0.2455, 0.2698)),
    "inception": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),  # [-1, 1], as ViT's original code
    "unit": ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)),  # [0, 1]
}


def normalization_constants(normalization):
    """``(mean, std)`` for a name in :data:`NORMALIZATIONS` or a ``(mean, std)`` pair.

    Raises:
        ValueError: for an unknown name.
    """
    if isinstance(normalization, str):
        if normalization not in NORMALIZATIONS:
            raise ValueError(
                f"normalization must be one of {sorted(NORMALIZATIONS)} or a (mean, std) "
                f"pair, got {normalization!r}."
            )
        return NORMALIZATIONS[normalization]
    mean, std = normalization
    return tuple(mean), tuple(std)


def normalize(x, mean, std, data_format=None):
    """``(x / 255 - mean) / std`` per channel for images with values in [0, 255].

    Takes numpy arrays (returned as float32 numpy) or tensors (returned as
    tensors). ``data_format`` "channels_first" puts channels on axis 1.
    """
    shape = (-1, 1, 1) if data_format == "channels_first" else (-1,)
    mean = np.reshape(np.asarray(mean, "float32"), shape)
    std = np.reshape(np.asarray(std, "float32"), shape)
    if isinstance(x, (np.ndarray, list, tuple)):
        return (np.asarray(x, "float32") / 255.0 - mean) / std
    from keras import ops

    return (ops.cast(x, "float32") / 255.0 - mean) / std


def preprocess_input(x, normalization, data_format=None):
    """Scales uint8-range images as the checkpoints of ``normalization`` expect.

    Args:
        x: images with values in [0, 255], numpy or tensors, ``(..., H, W, 3)``
            (``(..., 3, H, W)`` with ``data_format="channels_first"``).
        normalization: a name in :data:`NORMALIZATIONS` ("imagenet",
            "cifar10", "cifar100", "flowers102", "inception" for [-1, 1],
            "unit" for [0, 1]) or a ``(mean, std)`` pair of [0, 1] pixels.
        data_format: "channels_last" (None) or "channels_first".

    Returns:
        ``(x / 255 - mean) / std``: float32 numpy for numpy input, else a tensor.

    Raises:
        ValueError: for an unknown normalization name.
    """
    mean, std = normalization_constants(normalization)
    return normalize(x, mean, std, data_format)
