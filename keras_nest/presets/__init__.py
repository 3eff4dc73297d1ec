"""Every named model of keras_nest as plain data, one table per family.

The family modules (``keras_nest.models.nest``, ``.vit``, ``.compact``) build
and register their constructors from these tables; ``keras-nest models``
lists the names from them without importing Keras.
"""

from keras_nest.presets.compact import COMPACT
from keras_nest.presets.nest import NEST
from keras_nest.presets.vit import VIT


def names(pattern=""):
    """Sorted names of every preset containing ``pattern``, as ``keras_nest.list_models``."""
    return sorted(name for table in (NEST, VIT, COMPACT) for name in table if pattern in name)
