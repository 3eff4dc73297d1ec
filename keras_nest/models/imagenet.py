"""ImageNet-1k conventions shared by the families: normalisation and class names.

The 1000 class names (WordNet ids and short names, in the standard class
order) ship with the package in ``imagenet_classes.json``: no download.
"""

import functools
import json
import os

import numpy as np
from keras import ops

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
_CLASSES_FILE = os.path.join(os.path.dirname(__file__), "imagenet_classes.json")


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
    return (ops.cast(x, "float32") / 255.0 - mean) / std


@functools.cache
def imagenet_classes():
    """``[(wordnet_id, name), ...]`` for the 1000 ImageNet-1k classes, in order."""
    with open(_CLASSES_FILE) as file:
        return [tuple(entry) for entry in json.load(file)]


def decode_predictions(preds, top=5):
    """The ``top`` ImageNet classes of each row of ``preds``.

    Args:
        preds: ``(batch, 1000)`` scores or probabilities.
        top: how many classes per row.

    Returns:
        One list per row of ``(wordnet_id, name, score)``, best first, as
        ``keras.applications`` returns them.
    """
    preds = np.asarray(ops.convert_to_numpy(preds))
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError(
            "decode_predictions expects ImageNet predictions of shape "
            f"(batch, 1000), got {preds.shape}."
        )
    classes = imagenet_classes()
    results = []
    for row in preds:
        best = np.argsort(row)[::-1][:top]
        results.append([(*classes[i], float(row[i])) for i in best])
    return results
