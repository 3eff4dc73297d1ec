"""Data sets: scikit-learn's digits (shipped, the embedded default)."""

from keras_nest.data.digits import load_digits

__all__ = ["load_digits"]
