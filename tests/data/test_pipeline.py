"""load_dataset: digits, tensorflow-datasets (mocked) and image folders, into model.fit."""

import os

import numpy as np
import pytest
import tensorflow as tf

import keras_nest
from keras_nest.data import NORMALIZATIONS, load_dataset


def write_png(path, pixels):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tf.io.write_file(path, tf.io.encode_png(np.asarray(pixels, "uint8")))


@pytest.fixture(scope="module")
def image_folder(tmp_path_factory):
    """train/ and val/ with 3 classes of real PNGs of mixed sizes; class k is grey level 60k."""
    root = tmp_path_factory.mktemp("images")
    for split, count in (("train", 4), ("val", 2)):
        for label, name in enumerate(("cat", "dog", "emu")):
            for index in range(count):
                shape = (40 + 8 * index, 60, 3)
                write_png(str(root / split / name / f"{index}.png"), np.full(shape, 60 * label))
    return str(root)


def test_digits_batches():
    train = load_dataset("digits", image_size=32, batch_size=64, normalization="unit", seed=0)
    images, labels = next(iter(train))
    assert images.shape == (64, 32, 32, 3) and images.dtype == tf.float32
    assert labels.dtype == tf.int32 and train.num_classes == 10
    assert 0.0 <= float(tf.reduce_min(images)) and float(tf.reduce_max(images)) <= 1.0
    assert sum(1 for _ in train) == 1438 // 64  # training drops the last partial batch
    test = load_dataset("digits", "test", image_size=32, batch_size=64, crop_ratio=1.0)
    assert sum(len(labels) for _, labels in test) == 359


def test_folder_of_pngs(image_folder):
    train = load_dataset(image_folder, image_size=32, batch_size=4, normalization="unit")
    assert train.num_classes == 3
    assert sum(1 for _ in train) == 3
    val = load_dataset(image_folder, "validation", image_size=32, batch_size=4)
    images, labels = zip(*[(x.numpy(), y.numpy()) for x, y in val])
    images, labels = np.concatenate(images), np.concatenate(labels)
    assert images.shape == (6, 32, 32, 3) and sorted(labels) == [0, 0, 1, 1, 2, 2]
    # A solid grey image stays solid; the ImageNet statistics are applied per channel.
    mean, std = NORMALIZATIONS["imagenet"]
    for image, label in zip(images, labels):
        expected = (60 * label / 255.0 - np.asarray(mean)) / np.asarray(std)
        np.testing.assert_allclose(image, np.broadcast_to(expected, image.shape), atol=1e-4)


def test_center_crop_keeps_the_middle(tmp_path):
    pixels = np.zeros((40, 80, 3), "uint8")
    pixels[:, 40:] = 255  # right half white
    write_png(str(tmp_path / "val" / "only" / "split.png"), pixels)
    batch = load_dataset(str(tmp_path), "val", image_size=32, crop_ratio=1.0, normalization="unit")
    image = next(iter(batch))[0][0].numpy()
    # 40x80 -> 32x64; the centre 32 columns are 16 black then 16 white.
    assert image[:, :14].max() < 0.01 and image[:, 18:].min() > 0.99


def test_tfds_cifar10_on_mock_data():
    import tensorflow_datasets as tfds

    with tfds.testing.mock_data(num_examples=24):
        train = load_dataset("cifar10", image_size=32, batch_size=8, normalization="cifar10")
        test = load_dataset("cifar10", "test", image_size=32, batch_size=8, crop_ratio=1.0)
        images, labels = next(iter(train))
        assert images.shape == (8, 32, 32, 3) and train.num_classes == 10
        assert sum(len(y) for _, y in test) == 24
        assert int(tf.reduce_max(labels)) < 10


def test_tfds_builder_held_in_memory(tmp_path):
    """A real (local) tensorflow-datasets builder: prepared, read encoded, decoded per item."""
    import tensorflow_datasets as tfds

    class KerasNestTinyShapes(tfds.core.GeneratorBasedBuilder):
        VERSION = tfds.core.Version("1.0.0")

        def _info(self):
            features = tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(None, None, 3)),
                    "label": tfds.features.ClassLabel(num_classes=3),
                }
            )
            return tfds.core.DatasetInfo(
                builder=self, features=features, supervised_keys=("image", "label")
            )

        def _split_generators(self, dl_manager):
            return {"train": self._generate_examples(12), "test": self._generate_examples(6)}

        def _generate_examples(self, count):
            for i in range(count):
                image = np.full((10 + i, 12, 3), 40 * (i % 3), "uint8")
                yield i, {"image": image, "label": i % 3}

    data_dir = str(tmp_path)
    train = load_dataset("keras_nest_tiny_shapes", image_size=8, batch_size=4, data_dir=data_dir)
    assert train.num_classes == 3 and train.steps_per_epoch == 3
    images, labels = next(iter(train))
    assert images.shape == (4, 8, 8, 3) and set(labels.numpy()) <= {0, 1, 2}
    test = load_dataset(
        "keras_nest_tiny_shapes", "test", image_size=8, data_dir=data_dir, normalization="unit"
    )
    images, labels = next(iter(test))
    for image, label in zip(images.numpy(), labels.numpy()):  # solid grey 40 * label
        np.testing.assert_allclose(image, 40 * label / 255.0, atol=1e-3)


def test_resumed_epochs_keep_the_order():
    args = dict(image_size=8, batch_size=100, normalization="unit", crop_scale=(1, 1), flip=False)
    fresh = load_dataset("digits", seed=3, start_epoch=0, **args)
    resumed = load_dataset("digits", seed=3, start_epoch=2, **args)
    steps = fresh.steps_per_epoch
    first = [labels.numpy() for _, labels in fresh.take(3 * steps)]
    later = [labels.numpy() for _, labels in resumed.take(steps)]
    np.testing.assert_array_equal(np.concatenate(first[2 * steps :]), np.concatenate(later))
    assert not np.array_equal(first[0], first[steps])  # each epoch has its own order


def test_mixing_stops_at_mix_off_epoch_on_a_stream_too():
    import dataclasses

    import tensorflow_datasets as tfds

    from keras_nest.data import NO_AUGMENTATION

    mixup_until_1 = dataclasses.replace(NO_AUGMENTATION, mixup_alpha=0.8, mix_off_epoch=1)
    with tfds.testing.mock_data(num_examples=12):  # mock data is read as a stream
        stream = load_dataset("cifar10", image_size=8, batch_size=4, augment=mixup_until_1,
                              seed=0, start_epoch=0)  # fmt: skip
        steps = stream.steps_per_epoch
        labels = [y.numpy() for _, y in stream.take(2 * steps)]
    rows_max = np.concatenate([y.max(axis=1) for y in labels])
    assert (rows_max[: 4 * steps] < 1.0).any() and (rows_max[4 * steps :] == 1.0).all()


def test_model_fit_takes_the_pipeline():
    data = load_dataset("digits", image_size=32, batch_size=32, crop_scale=(1, 1), flip=False)
    model = keras_nest.create_model("cct_2_3x2_32")
    model.compile("adamw", "sparse_categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(data.take(3), epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])


# ----------------------------------------------------------------------------- errors
def test_unknown_data_set_name():
    with pytest.raises(ValueError, match="Unknown data set 'cifar11'"):
        load_dataset("cifar11")


def test_missing_folder_and_split(tmp_path, image_folder):
    with pytest.raises(ValueError, match="does not exist"):
        load_dataset(str(tmp_path / "nowhere"))
    with pytest.raises(ValueError, match=r"No folder for split 'test' .*test"):
        load_dataset(image_folder, "test")
    (tmp_path / "train" / "empty").mkdir(parents=True)
    with pytest.raises(ValueError, match="holds no images"):
        load_dataset(str(tmp_path))


def test_unreadable_image_is_named(tmp_path):
    write_png(str(tmp_path / "train" / "ok" / "good.png"), np.zeros((8, 8, 3)))
    (tmp_path / "train" / "ok" / "broken.jpg").write_bytes(b"this is not an image")
    data = load_dataset(str(tmp_path), image_size=8, batch_size=2, training=False)
    with pytest.raises(tf.errors.InvalidArgumentError, match="broken.jpg"):
        list(data)


def test_bad_normalization_and_digits_split():
    with pytest.raises(ValueError, match="normalization must be one of"):
        load_dataset("digits", normalization="svhn")
    with pytest.raises(ValueError, match="splits 'train' and 'test'"):
        load_dataset("digits", "train[:10%]")


def test_augmentation_mixes_training_batches_only():
    from keras_nest.data import Augmentation

    mixing = Augmentation(randaugment_ops=2, erasing=0.25)
    train = load_dataset("digits", image_size=32, batch_size=32, augment=mixing, seed=1)
    images, labels = next(iter(train))
    assert images.shape == (32, 32, 32, 3) and labels.shape == (32, 10)
    np.testing.assert_allclose(tf.reduce_sum(labels, axis=1), 1.0, rtol=1e-5)
    assert float(tf.reduce_min(tf.reduce_max(labels, axis=1))) < 1.0  # some labels are mixed
    # Evaluation ignores the augmentation; one_hot gives the same label layout.
    plain = load_dataset("digits", "test", image_size=32, batch_size=16)
    same = load_dataset(
        "digits", "test", image_size=32, batch_size=16, augment=mixing, one_hot=True
    )
    (x1, y1), (x2, y2) = next(iter(plain)), next(iter(same))
    np.testing.assert_array_equal(x1.numpy(), x2.numpy())
    np.testing.assert_array_equal(tf.one_hot(y1, 10).numpy(), y2.numpy())


def test_mixing_stops_at_mix_off_epoch():
    import dataclasses

    from keras_nest.data import NO_AUGMENTATION

    mixup_until_2 = dataclasses.replace(NO_AUGMENTATION, mixup_alpha=0.8, mix_off_epoch=2)
    stream = load_dataset(
        "digits", image_size=8, batch_size=64, augment=mixup_until_2, seed=0, start_epoch=1
    )
    steps = stream.steps_per_epoch
    batches = list(stream.take(2 * steps))
    epoch_1, epoch_2 = batches[:steps], batches[steps:]

    def one_hot(labels):
        return float(tf.reduce_min(tf.reduce_max(labels, axis=1))) == 1.0

    assert not any(one_hot(labels) for _, labels in epoch_1)
    assert all(one_hot(labels) for _, labels in epoch_2)
    with pytest.raises(ValueError, match="mix_off_epoch needs the epoch"):
        load_dataset("digits", image_size=8, batch_size=64, augment=mixup_until_2)
