"""Where images come from: scikit-learn's digits, tensorflow-datasets, or a folder.

Each source gives a ``tf.data.Dataset`` of ``(uint8 image (H, W, 3), int32 label)``
and its class count. TensorFlow is imported only when a source is read, so
``keras_nest`` itself imports without it.
"""

import os

import numpy as np

from keras_nest.data.digits import DIGITS_CLASSES, load_digits

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
# Split names accepted for a folder's held-out images, in the order they are tried.
FOLDER_SPLITS = {"train": ("train",), "validation": ("val", "validation"), "test": ("test",)}


def digits_source(split):
    """scikit-learn's digits at 8x8 as uint8: "train" (1,438 images) or "test" (359)."""
    import tensorflow as tf

    if split not in ("train", "test", "validation"):
        raise ValueError(f"The digits have the splits 'train' and 'test', got {split!r}.")
    train, test = load_digits(image_size=8)
    images, labels = train if split == "train" else test
    pixels = np.round(images * 255.0).astype("uint8")
    return tf.data.Dataset.from_tensor_slices((pixels, labels)), DIGITS_CLASSES


def tfds_source(name, split, data_dir=None):
    """A tensorflow-datasets data set, ``as_supervised``; downloads as tfds does.

    Raises:
        ValueError: if tensorflow-datasets has no data set ``name``.
    """
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError as error:
        raise ValueError(
            f"Unknown data set {name!r}: it is not 'digits', not an existing folder, and "
            f"tensorflow-datasets has no data set of that name ({error})."
        ) from None
    builder.download_and_prepare()
    dataset = builder.as_dataset(split=split, as_supervised=True)
    labels = builder.info.supervised_keys[1]
    return dataset, builder.info.features[labels].num_classes


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
    return paths, np.asarray(labels, "int32"), class_names


def folder_source(root, split):
    """An image folder (``root/train/<class>/*.jpg``, ``root/val/...``), decoded to uint8.

    An unreadable file stops the pipeline with an error that names it.
    """
    import tensorflow as tf

    paths, labels, class_names = folder_files(root, split)
    dataset = tf.data.Dataset.from_tensor_slices((paths, labels))
    return dataset.map(_decode_file, num_parallel_calls=tf.data.AUTOTUNE), len(class_names)


def _decode_file(path, label):
    import tensorflow as tf

    contents = tf.io.read_file(path)
    head = tf.strings.substr(contents, 0, 4)
    known = tf.reduce_any(
        [
            tf.image.is_jpeg(contents),
            tf.equal(head, b"\x89PNG"),
            tf.equal(tf.strings.substr(head, 0, 2), b"BM"),
            tf.equal(tf.strings.substr(head, 0, 3), b"GIF"),
        ]
    )
    check = tf.debugging.Assert(known, ["Unreadable image (not JPEG, PNG, BMP or GIF):", path])
    with tf.control_dependencies([check]):
        image = tf.io.decode_image(contents, channels=3, expand_animations=False)
    return image, label
