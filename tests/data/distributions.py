"""Two-sample Kolmogorov-Smirnov distance, for comparing augmented outcomes with Keras's."""

import numpy as np


def ks_limit(count):
    """The distance at which two samples of ``count`` differ with p < 0.001."""
    return 1.95 * np.sqrt(2 / count)


def ks_distance(a, b):
    """The largest gap between the empirical distribution functions of ``a`` and ``b``."""
    values = np.sort(np.concatenate([a, b]))
    cdf_a = np.searchsorted(np.sort(a), values, side="right") / len(a)
    cdf_b = np.searchsorted(np.sort(b), values, side="right") / len(b)
    return float(np.max(np.abs(cdf_a - cdf_b)))
