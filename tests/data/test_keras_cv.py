"""Any Keras image layer, keras-cv's included, in load_dataset through Augmentation.extra_layers.

keras-cv's layers run as TensorFlow ops inside tf.data, so they work under the jax
backend as under tensorflow (measured with keras-cv 0.9.0: GridMask, RandomCutout and
AugMix give float32 images of the input's shape on both).
"""

import dataclasses
import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_nest.data import NO_AUGMENTATION, Augmentation, load_dataset
from keras_nest.training.recipes import RECIPES, parse_value


def import_keras_cv():
    """keras_cv, or a skip naming why not."""
    return pytest.importorskip(
        "keras_cv", reason="keras-cv is not installed (pip install keras-cv)"
    )


def first_batch(extra_layers=()):
    """The first training batch of digits, 16 x 16 in [0, 1], with only ``extra_layers``
    random: no crop or flip, so that two pipelines of one seed see the same images."""
    augment = dataclasses.replace(NO_AUGMENTATION, extra_layers=extra_layers)
    data = load_dataset("digits", image_size=16, batch_size=32, normalization="unit",
                        crop_scale=(1, 1), flip=False, interpolation="nearest",
                        augment=augment, seed=0)  # fmt: skip
    images, labels = next(iter(data))
    assert images.shape == (32, 16, 16, 3) and images.dtype == tf.float32
    assert labels.shape == (32,) and labels.dtype == tf.int32
    return images.numpy(), labels.numpy()


def test_keras_cv_grid_mask_blanks_the_digits():
    keras_cv = import_keras_cv()
    plain, plain_labels = first_batch()
    grid_mask = keras_cv.layers.GridMask(ratio_factor=(0.5, 0.5), fill_mode="constant", seed=1)
    masked, labels = first_batch((grid_mask,))
    np.testing.assert_array_equal(labels, plain_labels)  # the same images, in the same order
    assert 0.0 <= masked.min() and masked.max() <= 1.0
    # The grid blanks strokes: ink in the plain image, 0 in the masked one.
    blanked = ((plain > 0.1) & (masked == 0.0)).mean(axis=(1, 2, 3))
    assert (blanked > 0.02).mean() > 0.9
    kept = plain == masked
    assert 0.2 < kept.mean() < 0.95  # the rest of each image is untouched


def test_keras_cv_and_keras_core_layers_in_a_chain():
    keras_cv = import_keras_cv()
    plain, _ = first_batch()
    chain = (
        keras_cv.layers.RandomCutout(0.5, 0.5, fill_mode="constant", seed=1),
        keras.layers.RandomContrast((0.5, 0.5), seed=2),
    )
    augmented, _ = first_batch(chain)
    assert 0.0 <= augmented.min() and augmented.max() <= 1.0
    changed = np.abs(augmented - plain).max(axis=(1, 2, 3)) > 0.05
    assert changed.mean() > 0.5


def test_a_keras_core_layer_without_keras_cv():
    plain, _ = first_batch()
    # A pair: Keras 3.15 reads a single number x as (0, x), contrast factors in [1, 1 + x]
    # only, where its docstring promises [1 - x, 1 + x].
    contrast, _ = first_batch((keras.layers.RandomContrast((0.5, 0.5), seed=2),))
    assert 0.0 <= contrast.min() and contrast.max() <= 1.0
    spread = contrast.std(axis=(1, 2, 3)) / plain.std(axis=(1, 2, 3))
    assert (spread < 0.9).sum() >= 3 and (spread > 1.1).sum() >= 3  # less and more contrast


def test_extra_layers_come_after_randaugment_and_before_erasing():
    layer = keras.layers.RandomContrast(0.5)
    augment = Augmentation(translate=0.1, extra_layers=[layer])
    assert augment.extra_layers == (layer,)  # a list is kept as a tuple
    kinds = [type(layer).__name__ for layer in augment.layers()]
    assert kinds == ["RandomTranslation", "PerImageRandAugment", "RandomContrast", "Erasing"]


def test_extra_layers_must_be_keras_layers():
    with pytest.raises(ValueError, match=r"list or tuple of Keras layers; got RandomContrast"):
        Augmentation(extra_layers=keras.layers.RandomContrast(0.5))
    with pytest.raises(ValueError, match=r"takes Keras layers; got 'GridMask' \(str\)"):
        Augmentation(extra_layers=("GridMask",))
    with pytest.raises(ValueError, match=r"takes Keras layers; got <function"):
        Augmentation(extra_layers=(tf.image.random_contrast,))


def test_a_recipe_keeps_its_extra_layers():
    """recipe.json (asdict, str for what JSON lacks) and --set keep working with them."""
    contrast = keras.layers.RandomContrast(0.5)
    augment = dataclasses.replace(NO_AUGMENTATION, extra_layers=(contrast,))
    recipe = dataclasses.replace(RECIPES["digits"], augmentation=augment)
    written = json.loads(json.dumps(dataclasses.asdict(recipe), default=str))
    assert written["augmentation"]["extra_layers"] == [str(contrast)]
    field = next(f for f in dataclasses.fields(recipe) if f.name == "augmentation")
    changed = parse_value(field, '{"erasing": 0.1}', recipe.augmentation)
    assert changed.erasing == 0.1 and changed.extra_layers == (contrast,)
    with pytest.raises(ValueError, match="takes Keras layers; got 'GridMask'"):
        parse_value(field, '{"extra_layers": ["GridMask"]}', recipe.augmentation)
