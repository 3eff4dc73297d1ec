"""Where images come from: scikit-learn's digits, tensorflow-datasets, or a folder.

A :class:`Source` is random access where it can be (a numpy array of images,
encoded files or paths, decoded per item), so every epoch's order is a
function of the seed and the epoch alone; very large tensorflow-datasets
sets are a stream instead. TensorFlow is imported only when a source is read,
so ``keras_nest`` itself imports without it.
"""

import dataclasses
import difflib
import os

import numpy as np

from keras_nest.data.digits import DIGITS_CLASSES, load_digits

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
# Split names accepted for a folder's held-out images, in the order they are tried.
FOLDER_SPLITS = {"train": ("train",), "validation": ("val", "validation"), "test": ("test",)}
# tensorflow-datasets sets up to this many examples are held in memory, still encoded.
IN_MEMORY_LIMIT = 300_000


@dataclasses.dataclass
class Source:
    """Images of one split and how to decode them.

    Attributes:
        num_classes: label count.
        items: random-access items (uint8 images, encoded image bytes or file
            paths), or None for a stream.
        labels: int32 labels of ``items``.
        decode: ``decode(item) -> uint8 image (H, W, 3)``, a TensorFlow function.
        stream: a ``tf.data.Dataset`` of ``(uint8 image, label)`` when there
            is no random access.
    """

    num_classes: int
    items: np.ndarray | None = None
    labels: np.ndarray | None = None
    decode: object = None
    stream: object = None

    def __len__(self):
        if self.items is not None:
            return len(self.items)
        return int(self.stream.cardinality())


def digits_source(split):
    """scikit-learn's digits at 8x8 as uint8: "train" (1,438 images) or "test" (359)."""
    if split not in ("train", "test", "validation"):
        raise ValueError(f"The digits have the splits 'train' and 'test', got {split!r}.")
    train, test = load_digits(image_size=8)
    images, labels = train if split == "train" else test
    pixels = np.round(images * 255.0).astype("uint8")
    return Source(DIGITS_CLASSES, pixels, labels, decode=lambda image: image)


def tfds_source(name, split, data_dir=None):
    """A tensorflow-datasets split: in memory (still encoded) if small enough, else a stream.

    Raises:
        ValueError: if tensorflow-datasets has no data set ``name``.
    """
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        close = difflib.get_close_matches(name, tfds.list_builders(), n=3)
        hint = f" Did you mean {close}?" if close else ""
        raise ValueError(
            f"Unknown data set {name!r}: it is not 'digits', not an existing folder, and "
            f"tensorflow-datasets has no data set of that name.{hint}"
        ) from None
    builder.download_and_prepare()
    image_key, label_key = builder.info.supervised_keys
    num_classes = builder.info.features[label_key].num_classes
    try:
        size = builder.info.splits[split].num_examples
    except KeyError:  # split sizes unknown (tfds.testing.mock_data): stream it
        size = IN_MEMORY_LIMIT + 1
    if size > IN_MEMORY_LIMIT:
        stream = builder.as_dataset(split=split, as_supervised=True)
        return Source(num_classes, stream=stream)
    encoded = builder.as_dataset(
        split=split, decoders={image_key: tfds.decode.SkipDecoding()}, batch_size=-1
    )
    encoded = tfds.as_numpy(encoded)
    return Source(
        num_classes,
        np.asarray(encoded[image_key]),
        np.asarray(encoded[label_key], "int32"),
        decode=lambda contents: decode_image(contents, name),
    )


def folder_files(root, split):
    """``(paths, labels, class_names)`` of ``root/<split>/<class>/<image>``.

    Classes are the sorted sub-folder names, the same for every split of a root.

    Raises:
        ValueError: if the split's folder is missing or holds no images.
    """
    candidates = [os.path.join(root, name) for name in FOLDER_SPLITS.get(split, (split,))]
    folder = next((path for path in candidates if os.path.isdir(path)), None)
    if folder is None:
        raise ValueError(
            f"No folder for split {split!r} in {root!r}: expected {' or '.join(candidates)} "
            "holding one sub-folder of images per class (the ImageNet layout)."
        )
    class_names = sorted(
        entry.name for entry in os.scandir(folder) if entry.is_dir() and entry.name[0] != "."
    )
    paths, labels = [], []
    for label, name in enumerate(class_names):
        for file in sorted(os.listdir(os.path.join(folder, name))):
            if file.lower().endswith(IMAGE_SUFFIXES):
                paths.append(os.path.join(folder, name, file))
                labels.append(label)
    if not paths:
        raise ValueError(
            f"{folder!r} holds no images ({', '.join(IMAGE_SUFFIXES)}) in class sub-folders."
        )
    return np.asarray(paths), np.asarray(labels, "int32"), class_names


def folder_source(root, split):
    """An image folder (``root/train/<class>/*.jpg``, ``root/val/...``), read per item.

    An unreadable file stops the pipeline with an error that names it.
    """
    import tensorflow as tf

    paths, labels, class_names = folder_files(root, split)
    return Source(
        len(class_names),
        paths,
        labels,
        decode=lambda path: decode_image(tf.io.read_file(path), path),
    )


def decode_image(contents, name):
    """JPEG, PNG, BMP or GIF bytes to a uint8 RGB image; an error naming ``name`` otherwise."""
    import tensorflow as tf

    head = tf.strings.substr(contents, 0, 4)
    known = tf.reduce_any(
        [
            tf.image.is_jpeg(contents),
            tf.equal(head, b"\x89PNG"),
            tf.equal(tf.strings.substr(head, 0, 2), b"BM"),
            tf.equal(tf.strings.substr(head, 0, 3), b"GIF"),
        ]
    )
    check = tf.debugging.Assert(known, ["Unreadable image (not JPEG, PNG, BMP or GIF):", name])
    with tf.control_dependencies([check]):
        return tf.io.decode_image(contents, channels=3, expand_animations=False)
