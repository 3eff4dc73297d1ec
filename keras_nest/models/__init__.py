"""Model families, each a functional-model builder plus its named variants."""

from keras_nest.models.compact import CCT, CVT, ViTLite
from keras_nest.models.nest import (
    Nest,
    NestBase,
    NestBaseCifar,
    NestSmall,
    NestSmallCifar,
    NestTiny,
    NestTinyCifar,
)
from keras_nest.models.registry import create_model, list_models

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
    "create_model",
    "list_models",
]
