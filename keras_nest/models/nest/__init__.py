"""NesT (Nested Hierarchical Transformer): builder, variants, preprocessing."""

from keras_nest.models.nest.nest import (
    Nest,
    NestBase,
    NestBaseCifar,
    NestSmall,
    NestSmallCifar,
    NestTiny,
    NestTinyCifar,
    decode_predictions,
    preprocess_input,
)

__all__ = [
    "Nest",
    "NestBase",
    "NestBaseCifar",
    "NestSmall",
    "NestSmallCifar",
    "NestTiny",
    "NestTinyCifar",
    "decode_predictions",
    "preprocess_input",
]
