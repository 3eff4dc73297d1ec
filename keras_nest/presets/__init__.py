"""Every named model of keras_nest as plain data: one table of :class:`Preset` s a family.

The registry (``keras_nest.models.registry``) makes each model's constructor
from its preset; ``keras-nest models`` lists the names from here without
importing Keras. A new family's table joins :data:`PRESETS` below.
"""

from keras_nest.presets.compact import COMPACT
from keras_nest.presets.dvt import DVT_PRESETS
from keras_nest.presets.nest import NEST
from keras_nest.presets.records import Preset, WeightsFile, table
from keras_nest.presets.vit import VIT

PRESETS = table(*NEST.values(), *VIT.values(), *COMPACT.values(), *DVT_PRESETS.values())

__all__ = ["PRESETS", "Preset", "WeightsFile", "names", "public_names"]


def names(pattern=""):
    """Sorted names of every preset containing ``pattern``, as ``keras_nest.list_models``."""
    return sorted(name for name in PRESETS if pattern in name)


def public_names():
    """Sorted names of the public model functions: the family builders (``Nest``,
    ``CCT``) and the named constructors (``NestTiny``)."""
    builders = {preset.builder for preset in PRESETS.values()}
    return sorted(builders | {preset.title for preset in PRESETS.values() if preset.title})
