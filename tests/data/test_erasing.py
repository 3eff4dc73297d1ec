"""Erasing: Keras's RandomErasing outcomes (box sizes, places, noise), by Kolmogorov-Smirnov,
on the share of images asked for."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_nest.data.erasing import Erasing
from tests.conftest import BACKEND
from tests.data.distributions import ks_distance, ks_limit

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="tf.data ops: the tensorflow run")

COUNT, SIZE, GREY = 512, 40, 128.0
KS_LIMIT = ks_limit(COUNT)


def erased_boxes(layer):
    """Per image of COUNT grey (SIZE, SIZE + 8) images erased in batches of 32: the box's
    height, width, top, left and its noise (all erased values)."""
    images = np.full((COUNT, SIZE, SIZE + 8, 3), GREY, "float32")
    data = tf.data.Dataset.from_tensor_slices(images).batch(32).map(layer)
    out = np.concatenate([batch.numpy() for batch in data])
    erased = np.any(out != GREY, axis=3)  # noise is never exactly grey
    rows, columns = erased.any(axis=2), erased.any(axis=1)
    boxes = {
        "height": rows.sum(1),
        "width": columns.sum(1),
        "top": rows.argmax(1),
        "left": columns.argmax(1),
    }
    # A box: every pixel in its rows and columns erased, none outside.
    assert np.array_equal(erased, rows[:, :, None] & columns[:, None, :])
    return boxes, out[np.broadcast_to(erased[..., None], out.shape)]


def test_erasing_draws_keras_boxes_and_noise():
    keras_layer = keras.layers.RandomErasing((1.0, 1.0), value_range=(0, 255), seed=5)
    ours, ours_noise = erased_boxes(Erasing(1.0, value_range=(0, 255), seed=6))
    theirs, keras_noise = erased_boxes(lambda images: keras_layer(images, training=True))
    assert ours["height"].min() >= 1 and ours["width"].max() <= SIZE + 8
    for key in ours:
        assert ks_distance(ours[key], theirs[key]) < KS_LIMIT, key
    # The noise: N(0, 1) * 255 per pixel and channel clipped to [0, 255], as Keras's: half
    # of it 0, a sixth 255.
    sample = np.random.default_rng(0).choice(ours_noise, 20000)
    assert ks_distance(sample, np.random.default_rng(1).choice(keras_noise, 20000)) < 0.02
    assert abs((sample == 0).mean() - 0.5) < 0.02 and abs((sample == 255).mean() - 0.1587) < 0.02


def test_erasing_draws_new_boxes_and_noise_each_batch():
    images = tf.fill((2, 32, 32, 3), GREY)
    data = tf.data.Dataset.from_tensors(images).repeat(2).map(Erasing(1.0, seed=1))
    first, second = (batch.numpy() for batch in data)
    assert not np.array_equal(first != GREY, second != GREY)
    assert not np.array_equal(first[first != GREY][:10], second[second != GREY][:10])


def test_erasing_erases_the_share_of_images_it_is_given():
    """1 in 4 images of 512, within 4 standard deviations; the others untouched."""
    images = np.full((512, 16, 16, 3), GREY, "float32")
    data = tf.data.Dataset.from_tensor_slices(images).batch(64).map(Erasing(0.25, seed=4))
    out = np.concatenate([batch.numpy() for batch in data])
    erased = np.any(out != GREY, axis=(1, 2, 3))
    assert abs(erased.mean() - 0.25) < 4 * np.sqrt(0.25 * 0.75 / 512), erased.mean()
