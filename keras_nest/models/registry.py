"""Model names: ``register``, ``create_model`` and ``list_models``."""

import difflib

_MODELS = {}


def register(name):
    """Decorator that makes a model constructor reachable as ``create_model(name)``."""

    def add(constructor):
        if name in _MODELS:
            raise ValueError(f"Model name {name!r} is registered twice.")
        _MODELS[name] = constructor
        return constructor

    return add


def list_models(pattern=""):
    """Sorted names of every registered model containing ``pattern``."""
    return sorted(name for name in _MODELS if pattern in name)


def create_model(name, **kwargs):
    """Builds the registered model ``name``; keyword arguments go to its constructor.

    Raises:
        ValueError: if no model has that name (the message suggests close ones).
    """
    if name not in _MODELS:
        close = difflib.get_close_matches(name, _MODELS, n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise ValueError(f"Unknown model {name!r}.{hint} Known models: {list_models()}.")
    return _MODELS[name](**kwargs)
