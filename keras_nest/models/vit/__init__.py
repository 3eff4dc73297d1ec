"""ViT (the original Vision Transformer): builder, converter, preprocessing, .npz export.

Its named models are the presets of ``keras_nest.presets.vit``.
"""

from keras_nest.models.registry import Family
from keras_nest.models.vit.convert import convert
from keras_nest.models.vit.vit import ViT, decode_predictions, preprocess_input, save_npz
from keras_nest.presets.vit import VIT

FAMILY = Family(VIT, builders=(ViT,), convert=convert)

__all__ = ["FAMILY", "ViT", "decode_predictions", "preprocess_input", "save_npz"]
