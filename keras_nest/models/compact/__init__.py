"""Compact Transformers (ViT-Lite, CVT, CCT): builders, variants, preprocessing."""

from keras_nest.models.compact.compact import (
    CCT,
    CVT,
    ViTLite,
    decode_predictions,
    preprocess_input,
)

__all__ = ["CCT", "CVT", "ViTLite", "decode_predictions", "preprocess_input"]
