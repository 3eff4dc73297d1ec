"""Data: tf.data pipelines for model.fit (digits, tensorflow-datasets, image folders)."""

from keras_nest.data.augment import NO_AUGMENTATION, Augmentation
from keras_nest.data.digits import load_digits
from keras_nest.data.pipeline import load_dataset
from keras_nest.preprocessing.normalization import NORMALIZATIONS

__all__ = ["NO_AUGMENTATION", "NORMALIZATIONS", "Augmentation", "load_dataset", "load_digits"]
