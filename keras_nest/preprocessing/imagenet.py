"""ImageNet-1k's class names, and predictions decoded into them.

The 1000 class names (WordNet ids and short names, in the standard class
order) ship with the package in ``imagenet_classes.json``: no download.
"""

import functools
import json
import os

import numpy as np

_CLASSES_FILE = os.path.join(os.path.dirname(__file__), "imagenet_classes.json")


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
    from keras import ops

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
