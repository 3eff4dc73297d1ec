"""Augmented training images per second: keras_nest's input pipeline against timm's, same run.

    python -m benchmarks.pipeline [--sizes 32 224] [--sources digits folder tfds] \\
        [--batch 64] [--batches 20] [--workers 2] [--csv out.csv]

Both sides do a Compact Transformers recipe's training input work (``cct_cifar100`` at
32 px, ``cct_imagenet`` at 224 px): decode, random resized crop (scale 0.8-1), flip,
RandAugment ``rand-m9-mstd0.5`` (2 operations), random erasing 0.25, MixUp 0.8 /
CutMix 1.0 on the batch. keras_nest: ``load_dataset(..., **recipe.data_options())``,
a ``tf.data`` pipeline, read as numpy batches. timm: ``create_transform`` (PIL) in
a PyTorch ``DataLoader`` with ``--workers`` worker processes and timm's ``Mixup``
on each batch. The sources:

- ``digits``: scikit-learn's 1,438 training scans (8x8, in memory);
- ``folder``: JPEG files in the ImageNet layout, 32x32 or 500x375 (cut from
  scikit-learn's two sample photos), decoded per image;
- ``tfds``: ``cifar10`` (32 px) or ``oxford_flowers102`` (224 px) under
  ``tfds.testing.mock_data``, its encoded examples read once into memory; keras_nest
  reads them through ``tensorflow_datasets`` as a prepared data set's records (the mock
  serving them, decoded per image by TensorFlow), timm from memory, decoded per image.

Each side runs in its own process; after ``--warmup`` batches, ``--batches``
batches are timed, three times, and the median images per second is kept.
"""

import argparse
import json
import os
import statistics
import tempfile
import time

from benchmarks.report import cpu_kind, record, worker_row

RECIPES = {32: "cct_cifar100", 224: "cct_imagenet"}
TFDS_NAMES = {32: "cifar10", 224: "oxford_flowers102"}
FOLDER_SHAPES = {32: (32, 32), 224: (375, 500)}  # (height, width) of the JPEG files
FIELDS = (
    "source", "image_size", "implementation", "batch", "images_per_second", "spread_low",
    "spread_high", "first_batch_seconds", "cpu",
)  # fmt: skip


def write_folder(root, size, count=256, classes=4):
    """``count`` JPEG files in ``root/train/<class>/``: 32x32 or 500x375 cuts of photos."""
    import numpy as np
    from PIL import Image
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    height, width = FOLDER_SHAPES[size]
    rng = np.random.default_rng(0)
    for index in range(count):
        photo = photos[index % len(photos)]
        top = rng.integers(0, photo.shape[0] - 375 + 1)
        left = rng.integers(0, photo.shape[1] - 500 + 1)
        cut = Image.fromarray(photo[top : top + 375, left : left + 500])
        folder = os.path.join(root, "train", f"class_{index % classes}")
        os.makedirs(folder, exist_ok=True)
        cut.resize((width, height), Image.BILINEAR).save(
            os.path.join(folder, f"{index}.jpg"), quality=90
        )


def timed_batches(batches, args):
    """``(first batch seconds, [images per second] * 3)`` reading ``batches`` (an iterator)."""
    start = time.perf_counter()
    for _ in range(args.warmup):
        next(batches)
    first = time.perf_counter() - start
    speeds = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(args.batches):
            next(batches)
        speeds.append(args.batch * args.batches / (time.perf_counter() - start))
    return first, speeds


def keras_batches(args):
    """keras_nest's training batches of the recipe, as numpy, endlessly."""
    from keras_nest.data import load_dataset
    from keras_nest.training.recipes import RECIPES as KERAS_RECIPES

    options = KERAS_RECIPES[RECIPES[args.image_size]].data_options()
    options.update(batch_size=args.batch, normalization="imagenet")
    name = {"digits": "digits", "folder": args.folder, "tfds": TFDS_NAMES[args.image_size]}
    dataset = load_dataset(name[args.source], "train", seed=0, **options)
    return dataset.repeat().as_numpy_iterator()


def timm_batches(args):
    """timm's training batches of the recipe (DataLoader workers, Mixup), endlessly."""
    import torch
    from timm.data import Mixup, create_transform

    from keras_nest.training.recipes import RECIPES as KERAS_RECIPES

    recipe = KERAS_RECIPES[RECIPES[args.image_size]]
    transform = create_transform(
        args.image_size,
        is_training=True,
        scale=recipe.crop_scale,
        auto_augment="rand-m9-mstd0.5",
        re_prob=0.25,
        interpolation="bilinear",
    )
    if args.source == "folder":
        from timm.data import ImageDataset

        dataset = ImageDataset(os.path.join(args.folder, "train"), transform=transform)
        classes = len(os.listdir(os.path.join(args.folder, "train")))
    else:
        images, labels, classes = _decoded_examples(args)
        dataset = _PilDataset(images, labels, transform)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=args.batch,
        shuffle=True,
        drop_last=True,
        num_workers=args.workers,
        persistent_workers=args.workers > 0,
    )
    mix = Mixup(mixup_alpha=0.8, cutmix_alpha=1.0, label_smoothing=0.1, num_classes=classes)

    def batches():
        while True:
            for images, labels in loader:
                yield mix(images, labels)

    return batches()


def _decoded_examples(args):
    """The digits (8x8 RGB arrays) or the mock tfds examples (encoded): items, labels, classes."""
    import numpy as np

    if args.source == "digits":
        from keras_nest.data.sources import digits_source

        source = digits_source("train")  # (N, 8, 8, 3) uint8
        return source.items, source.labels, source.num_classes
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=args.mock_examples):
        builder = tfds.builder(TFDS_NAMES[args.image_size])
        dataset = builder.as_dataset(split="train", decoders={"image": tfds.decode.SkipDecoding()})
        items = [(bytes(ex["image"]), int(ex["label"])) for ex in tfds.as_numpy(dataset)]
    classes = builder.info.features["label"].num_classes
    return [item for item, _ in items], np.asarray([label for _, label in items]), classes


def _served_from_memory(args):
    """A mock ``_as_dataset`` for tensorflow-datasets that serves the mock examples of
    :func:`_decoded_examples` from memory, decoded by TensorFlow per image, as a prepared
    data set's records are read. The mock's own Python generator (about 1,600 examples a
    second at 32 px) would otherwise be what is timed; timm reads the same bytes from memory."""
    import tensorflow as tf

    items, labels, _ = _decoded_examples(args)
    encoded = tf.data.Dataset.from_tensor_slices({"image": items, "label": labels})

    def as_dataset(builder, split, decoders=None, read_config=None, **kwargs):
        # Without split sizes (mocked), tfds_source streams the split and asks for decoded
        # examples: the one request this serves, whatever the split.
        def decode(example):
            image = tf.io.decode_image(example["image"], channels=3, expand_animations=False)
            return {"image": image, "label": example["label"]}

        return encoded.map(decode, num_parallel_calls=tf.data.AUTOTUNE)

    return as_dataset


class _PilDataset:
    """Items (uint8 arrays, or encoded image bytes decoded here) as PIL images through timm."""

    def __init__(self, items, labels, transform):
        self.items, self.labels, self.transform = items, labels, transform

    def __len__(self):
        return len(self.items)

    def __getitem__(self, index):
        import io

        from PIL import Image

        item = self.items[index]
        if isinstance(item, bytes):
            image = Image.open(io.BytesIO(item)).convert("RGB")
        else:
            image = Image.fromarray(item)
        return self.transform(image), int(self.labels[index])


def worker_main(args):
    if args.worker == "keras" and args.source == "tfds":
        import tensorflow_datasets as tfds

        with tfds.testing.mock_data(as_dataset_fn=_served_from_memory(args)):
            first, speeds = timed_batches(keras_batches(args), args)
    else:
        batches = keras_batches(args) if args.worker == "keras" else timm_batches(args)
        first, speeds = timed_batches(batches, args)
    speeds.sort()
    name = "keras_nest (tf.data)" if args.worker == "keras" else f"timm ({args.workers} workers)"
    row = dict(
        source=args.source,
        image_size=args.image_size,
        implementation=name,
        batch=args.batch,
        images_per_second=round(statistics.median(speeds), 1),
        spread_low=round(speeds[0], 1),
        spread_high=round(speeds[-1], 1),
        first_batch_seconds=round(first, 2),
        cpu=cpu_kind(),
    )
    print(json.dumps(row))


def run_worker(args, implementation, source, size, folder):
    arguments = [implementation, "--sources", source, "--sizes", str(size)]
    arguments += ["--folder", folder or ""]
    arguments += [f"--batch={args.batch}", f"--batches={args.batches}", f"--warmup={args.warmup}"]
    arguments += [f"--workers={args.workers}", f"--mock-examples={args.mock_examples}"]
    return worker_row("benchmarks.pipeline", arguments, implementation, KERAS_BACKEND=args.backend)


def parse(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 224], choices=(32, 224))
    parser.add_argument("--sources", nargs="+", default=["digits", "folder", "tfds"])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--batches", type=int, default=10, help="batches per timed repeat")
    parser.add_argument("--warmup", type=int, default=3, help="batches before the timing")
    parser.add_argument("--workers", type=int, default=2, help="timm's DataLoader workers")
    parser.add_argument("--mock-examples", type=int, default=512)
    parser.add_argument("--backend", default="jax", help="the Keras backend of keras_nest's side")
    parser.add_argument("--csv", default="benchmarks/results/pipeline.csv")
    parser.add_argument("--worker", choices=("keras", "timm"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse(argv)
    if args.worker:
        args.source, args.image_size = args.sources[0], args.sizes[0]
        return worker_main(args)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for size in args.sizes:
            folder = None
            if "folder" in args.sources:
                folder = os.path.join(scratch, f"jpeg_{size}")
                write_folder(folder, size)
            for source in args.sources:
                found = [run_worker(args, side, source, size, folder) for side in ("keras", "timm")]
                rows += found
                ratio = found[0]["images_per_second"] / found[1]["images_per_second"]
                print(
                    f"{source:>7} {size:>4} px: keras_nest {found[0]['images_per_second']:7.1f}, "
                    f"{found[1]['implementation']} {found[1]['images_per_second']:7.1f} img/s: "
                    f"{ratio:.2f}x",
                    flush=True,
                )
    record(rows, args.csv, FIELDS)


if __name__ == "__main__":
    main()
