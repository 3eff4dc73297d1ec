"""PerImageRandAugment: whole batches, with the outcomes of Keras's RandAugment image by image.

The RandAugment is the papers' (``papers_randaugment``: Keras's layer, its geometric
operations filling with grey 128 instead of reflecting).

The statistics of augmented digits are compared: Keras's ``RandAugment`` applied
to one image at a time (what ``load_dataset`` did before it augmented whole
batches) against ``PerImageRandAugment`` on batches of 32, by a two-sample
Kolmogorov-Smirnov distance between per-image statistics. A batch given to
Keras's layer in one call (one draw of operations for all its images) serves as
the control that the within-batch check catches.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_nest.data.digits import load_digits
from keras_nest.data.per_image import apply_by_group
from keras_nest.data.randaugment import (
    GEOMETRIC_OPERATIONS,
    PerImageRandAugment,
    auto_contrast,
    equalize,
    papers_randaugment,
)
from tests.conftest import BACKEND
from tests.data.distributions import ks_distance, ks_limit

# The augmentation is TensorFlow ops in tf.data under every backend, so it is checked
# in the tensorflow run: there Keras's own layers, the reference, run as TensorFlow
# does (under JAX, Keras's Equalization in tf.data unrolls a loop over its 256 bins).
pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="tf.data ops: the tensorflow run")

COUNT, BATCH = 512, 32
KS_LIMIT = ks_limit(COUNT)


def digits_at_32():
    """COUNT digits, 32 x 32 x 3 float32 pixels in [0, 255] (nearest-neighbour upscaled)."""
    (images, _), _ = load_digits(image_size=32)
    return images[:COUNT] * 255.0


def randaugment(seed, magnitude=9):
    return papers_randaugment(num_ops=2, magnitude=magnitude, seed=seed)


def image_by_image(images, seed):
    layer = randaugment(seed)
    data = tf.data.Dataset.from_tensor_slices(images).map(lambda x: layer(x, training=True))
    return np.stack([image.numpy() for image in data])


def batch_by_batch(images, augment):
    data = tf.data.Dataset.from_tensor_slices(images).batch(BATCH).map(augment)
    return np.concatenate([batch.numpy() for batch in data])


def per_image_statistics(images, augmented):
    """Per image: mean absolute change, mean pixel, and share of pixels unchanged."""
    change = np.abs(augmented - images)
    return {
        "change": change.mean(axis=(1, 2, 3)),
        "brightness": augmented.mean(axis=(1, 2, 3)),
        "unchanged": (change < 0.5).mean(axis=(1, 2, 3)),
    }


def within_batch_spread(changes):
    """Mean within-batch standard deviation of the change, over its overall deviation."""
    return float(changes.reshape(-1, BATCH).std(axis=1).mean() / changes.std())


@pytest.fixture(scope="module")
def images_and_reference():
    """The digits and the statistics of Keras's RandAugment applied to them one by one."""
    images = digits_at_32()
    return images, per_image_statistics(images, image_by_image(images, seed=1))


def test_batches_keep_the_outcomes_of_image_by_image_randaugment(images_and_reference):
    images, reference = images_and_reference
    batched = batch_by_batch(images, PerImageRandAugment(randaugment(seed=2), seed=2))
    assert batched.shape == images.shape and batched.dtype == np.float32
    assert 0.0 <= batched.min() and batched.max() <= 255.001  # Keras rounds within float32
    ours = per_image_statistics(images, batched)
    for name in reference:
        assert ks_distance(reference[name], ours[name]) < KS_LIMIT, name
    # Each image drew its own operations: a batch varies as much as the whole set.
    assert within_batch_spread(ours["change"]) > 0.8
    assert within_batch_spread(reference["change"]) > 0.8


def test_the_checks_catch_shared_draws_and_other_strengths(images_and_reference):
    images, reference = images_and_reference
    layer = randaugment(seed=3)  # one draw of operations for each whole batch
    shared = per_image_statistics(images, batch_by_batch(images, lambda x: layer(x, training=True)))
    assert within_batch_spread(shared["change"]) < 0.8
    weaker = randaugment(seed=2, magnitude=3)
    weak = per_image_statistics(images, batch_by_batch(images, PerImageRandAugment(weaker, 2)))
    assert ks_distance(reference["change"], weak["change"]) > KS_LIMIT


@pytest.mark.parametrize("operation", GEOMETRIC_OPERATIONS)
def test_geometric_operations_fill_with_the_papers_grey(operation):
    """A white image sheared, shifted or turned at full strength: the pixels it uncovers
    are 128 (Keras's reflect fill would keep every pixel white), through batches too."""
    layer = getattr(papers_randaugment(num_ops=1, magnitude=10, seed=4), operation)
    white = tf.fill((16, 32, 32, 3), 255.0)
    moved = layer(white, training=True).numpy()
    assert np.isin(moved, [128.0, 255.0]).mean() > 0.9  # bilinear edges lie between
    assert (moved == 128.0).mean(axis=(1, 2, 3)).max() > 0.05
    assert layer.get_config()["fill_mode"] == "constant"


def test_not_a_keras_randaugment():
    with pytest.raises(ValueError, match="does not list its operations"):
        PerImageRandAugment(keras.layers.RandomContrast(0.5))


@pytest.mark.parametrize("value_range", [(0, 255), (-1, 1)])
def test_equalize_is_keras_equalization_image_by_image(value_range):
    """Digits (few grey levels, flat channels) and noise, equalised as a batch, equal
    Keras's layer applied to each image alone in tf.data (TensorFlow ops, a float64
    table; eager JAX rounds a float32 one); Keras's layer on the whole batch does not."""
    low, high = value_range
    rng = np.random.default_rng(0)
    images = np.concatenate(
        [digits_at_32()[:6], rng.uniform(0, 255, (4, 32, 32, 3)), np.full((1, 32, 32, 3), 77.0)]
    ).astype("float32")
    images[7, ..., 1] = 200.0  # one flat channel in an image of noise
    images = images * ((high - low) / 255.0) + low
    layer = keras.layers.Equalization(value_range=value_range)
    each = tf.data.Dataset.from_tensor_slices(images).map(layer)
    expected = np.stack([image.numpy() for image in each])
    found = equalize(tf.constant(images), value_range).numpy()
    np.testing.assert_array_equal(found, expected)
    noise = [6, 8, 9]  # no flat channel in the batch: the path without the float64 fallback
    found = equalize(tf.constant(images[noise]), value_range).numpy()
    np.testing.assert_array_equal(found, expected[noise])
    pooled = next(iter(tf.data.Dataset.from_tensors(images).map(layer))).numpy()
    assert np.abs(pooled - expected).max() > 0.1 * (high - low)


def test_auto_contrast_is_keras_auto_contrast():
    """Digits (flat channels), noise with one flat channel and a grey image, as Keras's
    layer stretches them in tf.data; a mistake in the flat channels' bounds shows."""
    rng = np.random.default_rng(1)
    images = np.concatenate(
        [digits_at_32()[:6], rng.uniform(20, 230, (4, 32, 32, 3)), np.full((1, 32, 32, 3), 77.0)]
    ).astype("float32")
    images[7, ..., 1] = 200.0
    layer = keras.layers.AutoContrast(value_range=(0, 255))
    batch = tf.data.Dataset.from_tensors(images)
    expected = next(iter(batch.map(lambda x: layer(x, training=True)))).numpy()
    found = next(iter(batch.map(auto_contrast))).numpy()
    np.testing.assert_array_equal(found, expected)
    assert np.array_equal(found[7, ..., 1], images[7, ..., 1]) and found[8].max() == 255.0


def test_apply_by_group_gives_each_function_its_images_in_order():
    """Each image through the function of its group, each function seeing its images
    in their batch order (it adds 1000 times each one's place in its part), and back
    in place; group 1 (None) untouched, group 3 drawn by no image (an empty part)."""
    groups = np.array([2, 0, 1, 2, 0, 2, 1, 0], "int32")
    images = np.arange(8, dtype="float32").reshape(8, 1, 1, 1)

    def numbered(offset):
        def function(part):
            places = tf.cast(tf.range(tf.shape(part)[0]), tf.float32)
            return part + offset + 1000.0 * tf.reshape(places, (-1, 1, 1, 1))

        return function

    functions = [numbered(100.0), None, numbered(200.0), numbered(300.0)]
    out = apply_by_group(tf.constant(images), tf.constant(groups), functions).numpy().ravel()
    place = [sum(groups[:i] == groups[i]) for i in range(8)]
    offset = {0: 100.0, 2: 200.0}
    expected = [
        i if g == 1 else i + offset[g] + 1000.0 * p for i, (g, p) in enumerate(zip(groups, place))
    ]
    np.testing.assert_array_equal(out, expected)
