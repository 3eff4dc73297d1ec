"""Reading checkpoints of any format and fitting them into models."""

from keras_nest.weights.loading import assign_weights, fetch, load_weights
from keras_nest.weights.readers import read_checkpoint
from keras_nest.weights.source import WeightsSource, resolve_weights

__all__ = [
    "WeightsSource",
    "assign_weights",
    "fetch",
    "load_weights",
    "read_checkpoint",
    "resolve_weights",
]
