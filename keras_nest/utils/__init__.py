"""Tools around the models: counting their cost."""

from keras_nest.utils.flops import FlopCount, count_flops

__all__ = ["FlopCount", "count_flops"]
