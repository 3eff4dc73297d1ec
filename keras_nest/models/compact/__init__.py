"""Compact Transformers (ViT-Lite, CVT, CCT): builders, converter, preprocessing.

Their named models are the presets of ``keras_nest.presets.compact``.
"""

from keras_nest.models.compact.compact import (
    CCT,
    CVT,
    ViTLite,
    decode_predictions,
    preprocess_input,
)
from keras_nest.models.compact.convert import convert
from keras_nest.models.registry import Family
from keras_nest.presets.compact import COMPACT

FAMILY = Family(COMPACT, builders=(CCT, CVT, ViTLite), convert=convert)

__all__ = ["CCT", "CVT", "FAMILY", "ViTLite", "decode_predictions", "preprocess_input"]
