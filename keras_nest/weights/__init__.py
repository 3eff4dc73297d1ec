"""Reading checkpoints of any format and fitting them into models."""

from keras_nest.weights.loading import WeightsFile, assign_weights, fetch, load_weights
from keras_nest.weights.readers import read_checkpoint

__all__ = ["WeightsFile", "assign_weights", "fetch", "load_weights", "read_checkpoint"]
