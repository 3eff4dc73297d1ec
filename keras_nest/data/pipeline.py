"""``load_dataset``: a batched ``tf.data`` pipeline that ``model.fit`` takes on every backend."""

import os

import numpy as np

from keras_nest.data import sources
from keras_nest.data.normalization import normalization_constants


def load_dataset(
    name_or_path,
    split="train",
    image_size=224,
    batch_size=128,
    training=None,
    normalization="imagenet",
    crop_ratio=0.875,
    crop_scale=(0.08, 1.0),
    flip=True,
    augment=None,
    one_hot=False,
    shuffle_buffer=10_000,
    seed=None,
    data_dir=None,
):
    """Images and labels of a data set, decoded, resized, normalised and batched.

    Args:
        name_or_path: "digits" (scikit-learn's, shipped), a tensorflow-datasets
            name ("cifar10", "cifar100", "imagenet2012", "oxford_flowers102",
            ...) or a folder in the ImageNet layout (``train/<class>/*.jpg``,
            ``val/<class>/*.jpg``).
        split: "train", "validation"/"test", or any tensorflow-datasets split.
        image_size: edge of the square output images.
        batch_size: images per batch; training batches drop the remainder.
        training: shuffle and augment (random resized crop, optional flip);
            None means ``split == "train"``.
        normalization: a name in ``keras_nest.data.NORMALIZATIONS``
            ("imagenet", "cifar10", "cifar100", "flowers102", "inception" for
            [-1, 1], "unit" for [0, 1]) or a ``(mean, std)`` pair, applied to
            pixels scaled to [0, 1].
        crop_ratio: for evaluation, the shorter side is resized to
            ``image_size / crop_ratio`` and the centre ``image_size`` square
            kept (timm's ``crop_pct``; 1.0 keeps the whole shorter side).
        crop_scale: for training, the range of the crop's share of the image
            area (0.08-1 as the Inception crop; 1-1 turns cropping off).
        flip: random horizontal flips while training.
        augment: a :class:`~keras_nest.data.Augmentation` applied while
            training (RandAugment, random erasing, MixUp/CutMix), or None.
        one_hot: labels as one-hot float32 rows; always so when training
            batches are mixed.
        shuffle_buffer: shuffle buffer while training.
        seed: seed of the shuffle and the augmentation.
        data_dir: where tensorflow-datasets keeps its data.

    Returns:
        A ``tf.data.Dataset`` of ``(images (B, size, size, 3) float32, labels)``,
        labels ``(B,)`` int32 or ``(B, classes)`` float32 one-hot, with
        ``.num_classes`` set.

    Raises:
        ValueError: for an unknown data set, a missing folder or split, or an
            unknown normalization; an unreadable image fails the iteration with
            a message that names the file.
    """
    import tensorflow as tf

    mean, std = normalization_constants(normalization)
    training = split == "train" if training is None else training
    dataset, num_classes = _source(name_or_path, split, data_dir)
    augment = augment if training else None
    image_layers = augment.image_layers(seed) if augment else []
    mixing = bool(augment and augment.mixes)
    one_hot = one_hot or mixing
    if training:
        dataset = dataset.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True)

    def prepare(image, label):
        if training:
            image = _random_resized_crop(image, image_size, crop_scale, seed)
            if flip:
                image = tf.image.random_flip_left_right(image, seed=seed)
        else:
            image = _center_crop(image, image_size, crop_ratio)
        image = tf.ensure_shape(image, (image_size, image_size, 3))
        for layer in image_layers:
            image = tf.cast(layer(image, training=True), tf.float32)
        image = (image / 255.0 - np.asarray(mean, "float32")) / np.asarray(std, "float32")
        label = tf.cast(label, tf.int32)
        return image, tf.one_hot(label, num_classes) if one_hot else label

    dataset = dataset.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
    dataset = dataset.batch(batch_size, drop_remainder=training)
    if mixing:
        dataset = dataset.map(augment.batch_mixer(seed))
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    dataset.num_classes = num_classes
    return dataset


def _source(name_or_path, split, data_dir):
    if name_or_path == "digits":
        return sources.digits_source(split)
    if os.path.isdir(name_or_path):
        return sources.folder_source(name_or_path, split)
    if os.sep in str(name_or_path) or str(name_or_path).startswith("."):
        raise ValueError(f"The data folder {name_or_path!r} does not exist.")
    return sources.tfds_source(name_or_path, split, data_dir)


def _center_crop(image, size, crop_ratio):
    """Shorter side to ``size / crop_ratio`` (bicubic), then the centre ``size`` square."""
    import tensorflow as tf

    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = (size / crop_ratio) / tf.reduce_min(shape)
    resized = tf.cast(tf.round(shape * scale), tf.int32)
    image = tf.image.resize(image, resized, method="bicubic", antialias=True)
    top = (resized[0] - size) // 2
    left = (resized[1] - size) // 2
    return tf.clip_by_value(image[top : top + size, left : left + size], 0.0, 255.0)


def _random_resized_crop(image, size, scale, seed):
    """The Inception crop: a random box of ``scale`` of the area, aspect 3/4-4/3, resized."""
    import tensorflow as tf

    begin, extent, _ = tf.image.sample_distorted_bounding_box(
        tf.shape(image),
        bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]),
        area_range=scale,
        aspect_ratio_range=(3 / 4, 4 / 3),
        max_attempts=10,
        use_image_if_no_bounding_boxes=True,
        seed=seed or 0,
    )
    crop = tf.slice(image, begin, extent)
    return tf.image.resize(crop, (size, size), method="bilinear")
