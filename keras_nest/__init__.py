"""keras_nest: data-efficient vision transformers for Keras 3 (JAX, TensorFlow, PyTorch)."""

from keras_nest import layers, models
from keras_nest.models import (
    CCT,
    CVT,
    Nest,
    NestBase,
    NestBaseCifar,
    NestSmall,
    NestSmallCifar,
    NestTiny,
    NestTinyCifar,
    ViTLite,
    create_model,
    list_models,
)
from keras_nest.version import __version__

__all__ = [
    "CCT",
    "CVT",
    "Nest",
    "NestBase",
    "NestBaseCifar",
    "NestSmall",
    "NestSmallCifar",
    "NestTiny",
    "NestTinyCifar",
    "ViTLite",
    "__version__",
    "create_model",
    "layers",
    "list_models",
    "models",
]
