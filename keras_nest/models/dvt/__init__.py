"""DVT (the Dynamic Vision Transformer): builder, model class and converter.

Its named models are the presets of ``keras_nest.presets.dvt``.
"""

from keras_nest.models.dvt.checkpoint import checkpoint_operating_points
from keras_nest.models.dvt.convert import convert
from keras_nest.models.dvt.dvt import DVT
from keras_nest.models.dvt.model import DVTModel
from keras_nest.models.registry import Family
from keras_nest.presets.dvt import DVT_PRESETS

FAMILY = Family(DVT_PRESETS, builders=(DVT,), convert=convert)

__all__ = ["DVT", "DVTModel", "FAMILY", "checkpoint_operating_points", "convert"]
