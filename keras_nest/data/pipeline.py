"""``load_dataset``: a batched ``tf.data`` pipeline that ``model.fit`` takes on every backend."""

import dataclasses
import os

import numpy as np

from keras_nest.data import sources
from keras_nest.preprocessing.normalization import normalization_constants, normalize


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
            None means for the "train" split or a slice of it ("train[:90%]").
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
    mean, std = normalization_constants(normalization)
    training = split.partition("[")[0] == "train" if training is None else training
    source = _source(name_or_path, split, data_dir)
    augment = augment if training else None
    mixing = bool(augment and augment.mixes)
    prepare = _example_preparer(
        image_size,
        training,
        _Crop(crop_ratio, crop_scale, crop_padding, flip, interpolation),
        seed,
        source.num_classes if one_hot or mixing else None,
    )
    finish = _batch_finisher((mean, std), augment.batch_augmenter(seed) if augment else None)
    mix = augment.batch_mixer(seed) if mixing else None
    mix_off_epoch = augment.mix_off_epoch if mixing else None
    if mix_off_epoch is not None and start_epoch is None:
        raise ValueError(
            "Augmentation.mix_off_epoch needs the epoch: pass start_epoch (a run's epoch stream)."
        )
    batching = _Batching(prepare, finish, batch_size, training, seed, start_epoch)
    if source.items is None:
        dataset = _stream_batches(source.stream, batching, shuffle_buffer)
    else:
        dataset = _indexed_batches(source, batching)
    count = len(source)
    steps_per_epoch = count // batch_size if training else -(-count // batch_size)
    if mix is not None:
        dataset = _mix_batches(dataset, mix, mix_off_epoch, start_epoch, steps_per_epoch)
    return _with_sizes(dataset, source.num_classes, count, steps_per_epoch)


@dataclasses.dataclass(frozen=True)
class _Crop:
    """How :func:`load_dataset` crops and flips (see its arguments of the same names)."""

    crop_ratio: float
    crop_scale: tuple
    crop_padding: int
    flip: bool
    interpolation: str | None


def _example_preparer(image_size, training, crop, seed, one_hot_classes):
    """``prepare(image, label)``: one decoded example cropped (and flipped), float32 in [0, 255].

    Labels become int32, or one-hot float32 rows of ``one_hot_classes`` when that is set.
    """
    import tensorflow as tf

    def prepare(image, label):
        image = _crop_and_flip(image, image_size, training, crop, seed)
        label = tf.cast(label, tf.int32)
        return image, label if one_hot_classes is None else tf.one_hot(label, one_hot_classes)

    return prepare


def _batch_finisher(mean_std, augment):
    """``finish(images, labels)``: a batch augmented (``augment``, or not when None), normalised."""
    mean, std = (np.asarray(values, "float32") for values in mean_std)

    def finish(images, labels):
        if augment is not None:
            images = augment(images)
        return (images / 255.0 - mean) / std, labels

    return finish


def _crop_and_flip(image, image_size, training, crop, seed):
    """The training crop (pad-and-crop or Inception crop) and flip, or the evaluation centre crop."""
    import tensorflow as tf

    if training and crop.crop_padding:
        padding = crop.crop_padding
        image = center_crop(image, image_size, 1.0, crop.interpolation)
        image = tf.pad(image, [[padding] * 2, [padding] * 2, [0, 0]])
        image = tf.image.random_crop(image, (image_size, image_size, 3), seed=seed)
    elif training:
        image = _random_resized_crop(image, image_size, crop.crop_scale, seed, crop.interpolation)
    else:
        image = center_crop(image, image_size, crop.crop_ratio, crop.interpolation)
    if training and crop.flip:
        image = tf.image.random_flip_left_right(image, seed=seed)
    return tf.ensure_shape(image, (image_size, image_size, 3))


@dataclasses.dataclass(frozen=True)
class _Batching:
    """Examples into batches: ``prepare`` mapped over them, batched, then ``finish`` mapped.

    Training batches drop the remainder; ``seed`` and ``start_epoch`` set the order.
    """

    prepare: object
    finish: object
    batch_size: int
    training: bool
    seed: int | None
    start_epoch: int | None

    def __call__(self, examples):
        import tensorflow as tf

        examples = examples.map(self.prepare, num_parallel_calls=tf.data.AUTOTUNE)
        batches = examples.batch(self.batch_size, drop_remainder=self.training)
        return batches.map(self.finish, num_parallel_calls=tf.data.AUTOTUNE)


def _stream_batches(stream, batching, shuffle_buffer):
    """Batches of a streamed source: while training, a shuffle buffer reshuffled each pass.

    With ``start_epoch`` the buffer's seed moves with it and the passes repeat endlessly.
    """
    if batching.training:
        seed, start_epoch = batching.seed, batching.start_epoch
        stream_seed = None if seed is None else seed + (start_epoch or 0)
        stream = stream.shuffle(shuffle_buffer, seed=stream_seed)
    dataset = batching(stream)
    if batching.training and batching.start_epoch is not None:
        dataset = dataset.repeat()
    return dataset


def _indexed_batches(source, batching):
    """Batches of a random-access source, in order, shuffled whole, or as an epoch stream.

    The epoch stream permutes every pass by ``(seed, epoch)`` alone, so a
    resumed run sees the order an uninterrupted one would.
    """
    import tensorflow as tf

    items, labels = tf.constant(source.items), tf.constant(source.labels)
    count = len(source)

    def example(index):
        return source.decode(tf.gather(items, index)), tf.gather(labels, index)

    def batches_in(order):
        return batching(order.map(example, num_parallel_calls=tf.data.AUTOTUNE))

    base_seed = 0 if batching.seed is None else batching.seed

    def shuffled_pass(epoch):
        key = tf.stack([tf.constant(base_seed, tf.int64), epoch])
        return batches_in(
            tf.data.Dataset.range(count).map(
                lambda i: tf.random.experimental.index_shuffle(i, key, count - 1)
            )
        )

    if not batching.training:
        return batching(tf.data.Dataset.range(count).map(example))
    if batching.start_epoch is None:  # one pass, reshuffled each time it is iterated
        return batches_in(tf.data.Dataset.range(count).shuffle(count, seed=batching.seed))
    return tf.data.Dataset.counter(batching.start_epoch).flat_map(shuffled_pass)


def _mix_batches(dataset, mix, mix_off_epoch, start_epoch, steps_per_epoch):
    """MixUp/CutMix on every batch, or until ``mix_off_epoch`` in a run's epoch stream."""
    import tensorflow as tf

    if mix_off_epoch is None:
        return dataset.map(mix)

    def mix_until_off_epoch(index, batch):  # a batch's epoch follows from its index
        epoch = start_epoch + index // steps_per_epoch
        return tf.cond(epoch < mix_off_epoch, lambda: mix(*batch), lambda: batch)

    return dataset.enumerate().map(mix_until_off_epoch)


def _with_sizes(dataset, num_classes, num_examples, steps_per_epoch):
    """``dataset`` prefetched, with its sizes set as attributes."""
    import tensorflow as tf

    dataset = dataset.prefetch(tf.data.AUTOTUNE)
    dataset.num_classes = num_classes
    dataset.num_examples = num_examples
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


def center_crop(image, size, crop_ratio, interpolation=None):
    """Shorter side to ``size / crop_ratio`` (bicubic by default), then the centre square.

    ``image``: ``(H, W, C)`` or a batch ``(N, H, W, C)`` of images of one size,
    any dtype with values in [0, 255]. Returns float32 ``(size, size, C)``
    (or ``(N, size, size, C)``) clipped to [0, 255]. Evaluation, prediction
    and the exported serving signature (``keras_nest.export``) crop with it.
    """
    import tensorflow as tf

    shape = tf.cast(tf.shape(image)[-3:-1], tf.float32)
    scale = (size / crop_ratio) / tf.reduce_min(shape)
    resized = tf.cast(tf.round(shape * scale), tf.int32)
    method = interpolation or "bicubic"
    image = tf.image.resize(image, resized, method=method, antialias=method != "nearest")
    image = tf.cast(image, tf.float32)  # "nearest" keeps uint8
    top = (resized[0] - size) // 2
    left = (resized[1] - size) // 2
    return tf.clip_by_value(image[..., top : top + size, left : left + size, :], 0.0, 255.0)


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
        images.append(center_crop(image, image_size, crop_ratio, interpolation).numpy())
    return normalize(np.stack(images), mean, std)
