"""Preprocessing shared by every model family and the data pipelines.

Below both ``keras_nest.models`` and ``keras_nest.data`` (it imports neither):
the normalisation tables, ``preprocess_input`` and ImageNet's class names.
"""

from keras_nest.preprocessing.imagenet import decode_predictions, imagenet_classes
from keras_nest.preprocessing.normalization import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    NORMALIZATIONS,
    normalization_constants,
    normalize,
    preprocess_input,
)

__all__ = [
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "NORMALIZATIONS",
    "decode_predictions",
    "imagenet_classes",
    "normalization_constants",
    "normalize",
    "preprocess_input",
]
