"""``load_dataset``: a batched ``tf.data`` pipeline that ``model.fit`` takes on every backend."""

import os

import numpy as np

from keras_nest.data import sources
from keras_nest.data.normalization import normalization_constants
from keras_nest.models.imagenet import normalize


def load_dataset(
    name_or_path,
    split="train",
    image_size=224,
    batch_size=128,
    training=None,
    normalization="imagenet",
    crop_ratio=0.875,
    crop_scale=(0.08, 1.0),
    crop_padding=0,
    flip=True,
    interpolation=None,
    augment=None,
    one_hot=False,
    shuffle_buffer=10_000,
    seed=None,
    start_epoch=None,
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
        crop_padding: for training, instead of ``crop_scale``: resize as for
            evaluation, zero-pad by this many pixels and crop ``image_size`` at
            random (the CIFAR recipes' pad-4 crop).
        flip: random horizontal flips while training.
        interpolation: the resize method ("bilinear", "bicubic", "nearest",
            ...); None resizes as timm does, bicubic for evaluation and
            bilinear for the training crop. "nearest" keeps small images
            such as the 8x8 digits sharp (pixels repeated).
        augment: a :class:`~keras_nest.data.Augmentation` applied while
            training (RandAugment, random erasing, MixUp/CutMix), or None.
        one_hot: labels as one-hot float32 rows; always so when training
            batches are mixed.
        shuffle_buffer: shuffle buffer while training on a streamed source
            (in-memory and folder sources are shuffled whole).
        seed: seed of the shuffle and the augmentation.
        start_epoch: for training runs that resume: an endless stream of
            epochs from this one, each in an order that depends only on
            ``seed`` and the epoch's index, so a resumed run sees the order an
            uninterrupted one would. Iterate it with ``steps_per_epoch`` (set
            on the result). Random-access sources permute all examples;
            streamed ones (tensorflow-datasets sets too large to hold encoded
            in memory) use a shuffle buffer seeded by seed and epoch.
        data_dir: where tensorflow-datasets keeps its data.

    Returns:
        A ``tf.data.Dataset`` of ``(images (B, size, size, 3) float32, labels)``,
        labels ``(B,)`` int32 or ``(B, classes)`` float32 one-hot, with
        ``.num_classes``, ``.num_examples`` and ``.steps_per_epoch`` (batches
        per pass) set.

    Raises:
        ValueError: for an unknown data set, a missing folder or split, or an
            unknown normalization; an unreadable image fails the iteration with
            a message that names the file.
    """
    import tensorflow as tf

    mean, std = normalization_constants(normalization)
    training = split == "train" if training is None else training
    source = _source(name_or_path, split, data_dir)
    num_classes, count = source.num_classes, len(source)
    augment = augment if training else None
    image_layers = augment.image_layers(seed) if augment else []
    mixing = bool(augment and augment.mixes)
    one_hot = one_hot or mixing
    base_seed = 0 if seed is None else seed

    def prepare(image, label):
        if training and crop_padding:
            image = _center_crop(image, image_size, 1.0, interpolation)
            image = tf.pad(image, [[crop_padding] * 2, [crop_padding] * 2, [0, 0]])
            image = tf.image.random_crop(image, (image_size, image_size, 3), seed=seed)
        elif training:
            image = _random_resized_crop(image, image_size, crop_scale, seed, interpolation)
        else:
            image = _center_crop(image, image_size, crop_ratio, interpolation)
        if training and flip:
            image = tf.image.random_flip_left_right(image, seed=seed)
        image = tf.ensure_shape(image, (image_size, image_size, 3))
        for layer in image_layers:
            image = tf.cast(layer(image, training=True), tf.float32)
        image = (image / 255.0 - np.asarray(mean, "float32")) / np.asarray(std, "float32")
        label = tf.cast(label, tf.int32)
        return image, tf.one_hot(label, num_classes) if one_hot else label

    mix = augment.batch_mixer(seed) if mixing else None
    mix_off_epoch = augment.mix_off_epoch if mixing else None
    if mix_off_epoch is not None and start_epoch is None:
        raise ValueError(
            "Augmentation.mix_off_epoch needs the epoch: pass start_epoch (a run's epoch stream)."
        )

    def batches(examples):
        examples = examples.map(prepare, num_parallel_calls=tf.data.AUTOTUNE)
        return examples.batch(batch_size, drop_remainder=training)

    if source.items is None:  # a stream: a shuffle buffer, reshuffled each pass
        stream = source.stream
        if training:
            stream_seed = None if seed is None else seed + (start_epoch or 0)
            stream = stream.shuffle(shuffle_buffer, seed=stream_seed)
        dataset = batches(stream)
        if training and start_epoch is not None:
            dataset = dataset.repeat()
    else:
        items, labels = tf.constant(source.items), tf.constant(source.labels)

        def example(index):
            return source.decode(tf.gather(items, index)), tf.gather(labels, index)

        def shuffled_pass(epoch):
            # The order of an epoch is a permutation keyed by (seed, epoch) alone.
            key = tf.stack([tf.constant(base_seed, tf.int64), epoch])
            order = tf.data.Dataset.range(count).map(
                lambda i: tf.random.experimental.index_shuffle(i, key, count - 1)
            )
            return batches(order.map(example, num_parallel_calls=tf.data.AUTOTUNE))

        if not training:
            dataset = batches(tf.data.Dataset.range(count).map(example))
        elif start_epoch is None:  # one pass, reshuffled each time it is iterated
            order = tf.data.Dataset.range(count).shuffle(count, seed=seed)
            dataset = batches(order.map(example, num_parallel_calls=tf.data.AUTOTUNE))
        else:
            dataset = tf.data.Dataset.counter(start_epoch).flat_map(shuffled_pass)
    steps_per_epoch = count // batch_size if training else -(-count // batch_size)
    if mix is not None and mix_off_epoch is None:
        dataset = dataset.map(mix)
    elif mix is not None:  # the epoch of a batch follows from its index in the stream

        def mix_until_off_epoch(index, batch):
            epoch = start_epoch + index // steps_per_epoch
            return tf.cond(epoch < mix_off_epoch, lambda: mix(*batch), lambda: batch)

        dataset = dataset.enumerate().map(mix_until_off_epoch)
    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    dataset.num_classes = num_classes
    dataset.num_examples = count
    dataset.steps_per_epoch = steps_per_epoch
    return dataset


def _source(name_or_path, split, data_dir):
    if name_or_path == "digits":
        return sources.digits_source(split)
    if os.path.isdir(name_or_path):
        return sources.folder_source(name_or_path, split)
    if os.sep in str(name_or_path) or str(name_or_path).startswith("."):
        raise ValueError(f"The data folder {name_or_path!r} does not exist.")
    return sources.tfds_source(name_or_path, split, data_dir)


def _center_crop(image, size, crop_ratio, interpolation=None):
    """Shorter side to ``size / crop_ratio`` (bicubic by default), then the centre square."""
    import tensorflow as tf

    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = (size / crop_ratio) / tf.reduce_min(shape)
    resized = tf.cast(tf.round(shape * scale), tf.int32)
    method = interpolation or "bicubic"
    image = tf.image.resize(image, resized, method=method, antialias=method != "nearest")
    image = tf.cast(image, tf.float32)  # "nearest" keeps uint8
    top = (resized[0] - size) // 2
    left = (resized[1] - size) // 2
    return tf.clip_by_value(image[top : top + size, left : left + size], 0.0, 255.0)


def _random_resized_crop(image, size, scale, seed, interpolation=None):
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
    crop = tf.image.resize(crop, (size, size), method=interpolation or "bilinear")
    return tf.cast(crop, tf.float32)


def load_images(paths, image_size, normalization="imagenet", crop_ratio=0.875, interpolation=None):
    """Image files as one evaluation batch ``(N, size, size, 3)`` float32 (numpy).

    Decoded, resized and centre-cropped as :func:`load_dataset` does for
    evaluation. An unreadable file raises an error that names it.
    """
    import tensorflow as tf

    mean, std = normalization_constants(normalization)
    images = []
    for path in paths:
        if not os.path.isfile(path):
            raise ValueError(f"No image file {path!r}.")
        image = sources.decode_image(tf.io.read_file(path), path)
        images.append(_center_crop(image, image_size, crop_ratio, interpolation).numpy())
    return normalize(np.stack(images), mean, std)
