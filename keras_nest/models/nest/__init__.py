"""NesT (Nested Hierarchical Transformer): builder, converter, preprocessing.

Its named models are the presets of ``keras_nest.presets.nest``.
"""

from keras_nest.models.nest.convert import convert
from keras_nest.models.nest.nest import Nest, decode_predictions, preprocess_input
from keras_nest.models.registry import Family
from keras_nest.presets.nest import NEST

FAMILY = Family(NEST, builders=(Nest,), convert=convert)

__all__ = ["FAMILY", "Nest", "decode_predictions", "preprocess_input"]
