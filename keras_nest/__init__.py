"""keras_nest: data-efficient vision transformers for Keras 3 (JAX, TensorFlow, PyTorch).

``import keras_nest`` imports every layer and model, which registers them with
Keras (``keras.saving.load_model`` then reloads saved models). The
``keras-nest`` command is the exception: it starts without Keras, imports
what each subcommand needs, and finds these names here only when used.
"""

import importlib
import os
import sys

from keras_nest import allocator, presets, xla_cpu  # plain Python: no Keras
from keras_nest.version import __version__

allocator.keep_cpu_memory_for_reuse()  # before any TensorFlow op (allocator.py says why)


def _is_command_line(argv, orig_argv):
    """Whether ``argv`` / ``orig_argv`` (``sys``'s) are those of the ``keras-nest`` command.

    The console script runs as ``.../keras-nest``; ``python -m keras_nest``
    imports this package while ``argv[0]`` is still "-m" (``runpy``), with
    ``-m keras_nest`` among the interpreter's own arguments.
    """
    program = os.path.basename(argv[0]) if argv else ""
    if program.removesuffix(".exe") == "keras-nest":
        return True
    if program != "-m":
        return False
    for index, argument in enumerate(orig_argv[1:], start=1):
        if argument == "-m":
            return orig_argv[index + 1 : index + 2] == ["keras_nest"]
        if argument.startswith("-m"):
            return argument == "-mkeras_nest"
    return False


_SUBPACKAGES = (
    "data",
    "distribute",
    "dynamic",
    "explain",
    "export",
    "hub",
    "layers",
    "models",
    "training",
    "utils",
)
_DYNAMIC_NAMES = ("DynamicPredictor", "calibrate_thresholds")  # from keras_nest.dynamic
_HUB_NAMES = ("from_preset", "save_to_preset")  # from keras_nest.hub

if _is_command_line(sys.argv, getattr(sys, "orig_argv", [])):
    # Keras comes later, with the backend KERAS_BACKEND names (xla_cpu.py says why).
    xla_cpu.prefer_xla_dots(os.environ.get("KERAS_BACKEND", ""))

    def __getattr__(name):
        """The public API, imported when first used (PEP 562)."""
        if name in _SUBPACKAGES:
            return importlib.import_module(f"keras_nest.{name}")
        if name in _DYNAMIC_NAMES:
            return getattr(importlib.import_module("keras_nest.dynamic"), name)
        if name in _HUB_NAMES:
            return getattr(importlib.import_module("keras_nest.hub"), name)
        if name in __all__:
            return getattr(importlib.import_module("keras_nest.models"), name)
        raise AttributeError(f"module 'keras_nest' has no attribute {name!r}")

else:
    # Before any JAX computation: the subpackages' imports make none.
    xla_cpu.prefer_xla_dots(importlib.import_module("keras").config.backend())
    # training also registers its learning-rate schedule, which saved models may hold.
    from keras_nest import data, distribute, dynamic, explain, export, hub, layers, models
    from keras_nest import training, utils
    from keras_nest.dynamic import DynamicPredictor, calibrate_thresholds
    from keras_nest.hub import from_preset, save_to_preset
    from keras_nest.models import *  # noqa: F403 (every name of keras_nest.models.__all__)

# The model functions follow from the preset tables, which need no Keras.
__all__ = sorted(
    [
        *presets.public_names(),
        *_SUBPACKAGES,
        *_DYNAMIC_NAMES,
        *_HUB_NAMES,
        "DVTModel",
        "TransformerModel",
        "__version__",
        "attention_model",
        "create_model",
        "list_models",
    ]
)
