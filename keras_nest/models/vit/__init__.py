"""ViT (the original Vision Transformer): builder, variants, preprocessing, .npz export."""

from keras_nest.models.vit.vit import (
    ViT,
    ViTBase16,
    ViTBase32,
    ViTHuge14,
    ViTLarge16,
    ViTLarge32,
    ViTSmall16,
    ViTSmall32,
    ViTTiny16,
    decode_predictions,
    preprocess_input,
    save_npz,
)

__all__ = [
    "ViT",
    "ViTBase16",
    "ViTBase32",
    "ViTHuge14",
    "ViTLarge16",
    "ViTLarge32",
    "ViTSmall16",
    "ViTSmall32",
    "ViTTiny16",
    "decode_predictions",
    "preprocess_input",
    "save_npz",
]
