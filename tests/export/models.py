"""Small models of every family for the export tests: random weights, perturbed so that
every output depends on every weight, 32 x 32 inputs, 10 classes."""

import keras
import numpy as np

import keras_nest
from tests.conftest import perturb_weights

SIZE, CLASSES = 32, 10

SMALL_MODELS = {
    "nest": lambda: keras_nest.Nest(
        depths=(1, 1), embed_dims=(16, 32), num_heads=2, patch_size=4, block_size=2,
        input_shape=(SIZE, SIZE, 3), classes=CLASSES,
    ),
    "cct": lambda: keras_nest.create_model(
        "cct_2_3x2_32", input_shape=(SIZE, SIZE, 3), classes=CLASSES
    ),
    "vit": lambda: keras_nest.ViT(
        patch_size=8, embed_dim=16, num_layers=1, num_heads=2, input_shape=(SIZE, SIZE, 3),
        classes=CLASSES,
    ),
    "dvt": lambda: keras_nest.DVT(
        token_grids=(2, 4), embed_dim=16, depth=1, num_heads=2, mlp_ratio=1.0,
        input_shape=(SIZE, SIZE, 3), classes=CLASSES,
    ),
}  # fmt: skip


def small_model(family, seed=0):
    """``SMALL_MODELS[family]()`` with seeded, perturbed weights."""
    keras.utils.set_random_seed(seed)
    model = SMALL_MODELS[family]()
    perturb_weights(model, seed)
    return model


def mixed_precision_model():
    """The small ViT built under the mixed_float16 policy (exports refuse it)."""
    keras.mixed_precision.set_dtype_policy("mixed_float16")
    try:
        return SMALL_MODELS["vit"]()
    finally:
        keras.mixed_precision.set_dtype_policy("float32")


def images(count=3, seed=0):
    """``(count, SIZE, SIZE, 3)`` float32 preprocessed-range images."""
    return np.random.default_rng(seed).uniform(-2, 2, (count, SIZE, SIZE, 3)).astype("float32")
