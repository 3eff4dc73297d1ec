"""Tiny NesTs for the explanation tests: 16x16 images, 3 levels, a 4x4 grid of 4x4-pixel leaves."""

import keras
import numpy as np

import keras_nest
from tests.conftest import perturb_weights

SIZE, CLASSES = 16, 3
LEAF = 4  # pixels a side of a leaf block


def tiny_nest(seed=0, channels=3):
    """Random, perturbed weights (every output depends on every weight)."""
    keras.utils.set_random_seed(seed)
    model = keras_nest.Nest(
        depths=(1, 1, 1), embed_dims=(8, 8, 16), num_heads=2, patch_size=1, block_size=LEAF,
        input_shape=(SIZE, SIZE, channels), classes=CLASSES, name="tiny_nest",
    )  # fmt: skip
    perturb_weights(model, seed)
    return model


def blank_preserving_nest(seed=0):
    """A tiny NesT in which an image region of zeros stays zero at every level.

    Random weights, then every bias, LayerNorm offset and position embedding
    zeroed (zero features stay zero through patch embedding, norms, attention
    and MLP), the leaf level's attention output cut (it would carry a leaf's
    evidence to its border tokens) and the aggregation convolutions cut to
    their centre tap, so that features reach the pooling where they were
    drawn. Evidence drawn inside a leaf, off its border, then reaches no other
    leaf and, through the 3x3 max-pooling, no other parent: every block off
    its path scores exactly zero.
    """
    model = tiny_nest(seed, channels=1)
    for weight in model.weights:
        value = keras.ops.convert_to_numpy(weight)
        if weight.path.endswith(("bias", "beta", "embedding", "level_0_block_0/attn/proj/kernel")):
            value = np.zeros_like(value)
        elif "_pool/conv/kernel" in weight.path:
            centre = np.zeros_like(value)
            centre[1, 1] = value[1, 1]
            value = centre
        weight.assign(value)
    return model


def evidence_images(leaves, seed=0):
    """``(len(leaves), SIZE, SIZE, 1)`` zeros but for random values in the inner
    2x2 pixels of one leaf ``(row, column)`` per image."""
    rng = np.random.default_rng(seed)
    images = np.zeros((len(leaves), SIZE, SIZE, 1), "float32")
    for image, (row, col) in zip(images, leaves):
        top, left = row * LEAF + 1, col * LEAF + 1
        image[top : top + 2, left : left + 2] = rng.uniform(0.5, 1.5, (2, 2, 1))
    return images


def images(count=3, seed=0, channels=3):
    return np.random.default_rng(seed).uniform(-1, 1, (count, SIZE, SIZE, channels)).astype("float32")
