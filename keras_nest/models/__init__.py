"""Model families, each a functional-model builder plus its named variants.

Each family registers below in one line; the named constructors (``NestTiny``)
and the builders (``Nest``, ``CCT``) are made from the registry, and so is
``__all__``.
"""

from keras_nest.models import compact, dvt, nest, registry, vit
from keras_nest.models.dvt import DVTModel
from keras_nest.models.registry import create_model, list_models
from keras_nest.models.transformer_model import TransformerModel, attention_model

registry.register(nest.FAMILY, vit.FAMILY, compact.FAMILY, dvt.FAMILY)
globals().update(registry.public_functions())

_OTHERS = ["DVTModel", "TransformerModel", "attention_model", "create_model", "list_models"]
__all__ = sorted([*registry.public_functions(), *_OTHERS])
