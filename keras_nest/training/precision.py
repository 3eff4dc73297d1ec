"""Mixed precision by one switch: the Keras dtype policy of a run."""

import contextlib

import keras

# A recipe's ``precision`` -> the Keras dtype policy its model is built under.
PRECISIONS = {"float32": "float32", "bfloat16": "mixed_bfloat16", "float16": "mixed_float16"}


@contextlib.contextmanager
def precision_scope(precision):
    """Builds models inside under ``precision``'s dtype policy, then restores the global one.

    "bfloat16" and "float16" keep float32 weights and compute in the lower
    precision; keras_nest classifiers stay float32 (see
    ``keras_nest.models.application.classifier``), and ``compile`` adds loss
    scaling for float16. Layers remember their policy, so a model saved
    under it reloads with it.

    Raises:
        ValueError: for an unknown precision.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"Unknown precision {precision!r}; known: {sorted(PRECISIONS)}.")
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(PRECISIONS[precision])
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
