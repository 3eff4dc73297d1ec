"""Model families, each a functional-model builder plus its named variants."""

from keras_nest.models.attention_maps import TransformerModel, attention_model
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
from keras_nest.models.vit import (
    ViT,
    ViTBase16,
    ViTBase32,
    ViTHuge14,
    ViTLarge16,
    ViTLarge32,
    ViTSmall16,
    ViTSmall32,
    ViTTiny16,
)

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
    "TransformerModel",
    "ViT",
    "ViTBase16",
    "ViTBase32",
    "ViTHuge14",
    "ViTLarge16",
    "ViTLarge32",
    "ViTLite",
    "ViTSmall16",
    "ViTSmall32",
    "ViTTiny16",
    "attention_model",
    "create_model",
    "list_models",
]
