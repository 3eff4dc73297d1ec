"""SavedModel export: reloaded with plain TensorFlow in another process, it serves the model's
outputs; its uint8 signature prepares photos as evaluation does; bad input is refused."""

import os
import subprocess
import sys

import numpy as np
import pytest

import keras_nest
from keras_nest.dynamic import exits_taken
from keras_nest.export import export_saved_model, serving_config
from keras_nest.preprocessing import NORMALIZATIONS
from tests.conftest import BACKEND
from tests.export.models import SIZE, SMALL_MODELS, images, small_model

exported = pytest.mark.skipif(BACKEND == "torch", reason="SavedModel export: jax, tensorflow")

NORMALIZATION = "cifar10"
THRESHOLDS = [0.3]  # the DVT's single threshold: some photos leave at exit 1, some do not


def photos():
    """scikit-learn's two sample photos (427 x 640), decoded as keras_nest decodes files."""
    import tensorflow as tf
    from sklearn.datasets import load_sample_images

    paths = load_sample_images().filenames
    decoded = [tf.io.decode_jpeg(tf.io.read_file(path)).numpy() for path in paths]
    return paths, np.stack(decoded)


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """Every family exported, then served by plain TensorFlow in another process.

    Returns ``{family: (keras outputs (K, n, C), served outputs by "signature/output")}``
    and the photos' exits per the Keras model, for the DVT.
    """
    from keras_nest.data.pipeline import load_images

    root = tmp_path_factory.mktemp("saved_models")
    paths, uint8_photos = photos()
    prepared = load_images(paths, SIZE, NORMALIZATION, crop_ratio=1.0)
    inputs = {
        "images": images(),
        "photos": uint8_photos,
        "photos_prepared": prepared,
        "dvt_thresholds": np.asarray(THRESHOLDS, "float32"),
    }
    expected, directories = {}, []
    for family in SMALL_MODELS:
        model = small_model(family)
        outputs = model.predict(inputs["images"], verbose=0)
        on_photos = model.predict(prepared, verbose=0)
        expected[family] = (np.stack(outputs) if family == "dvt" else outputs[None],
                            np.stack(on_photos) if family == "dvt" else on_photos[None])  # fmt: skip
        directory = str(root / family)
        export_saved_model(model, directory, serving_config(model, NORMALIZATION))
        directories.append(directory)
    np.savez(root / "inputs.npz", **inputs)
    script = os.path.join(os.path.dirname(__file__), "serve_plain.py")
    env = dict(os.environ, KERAS_BACKEND="tensorflow", TF_CPP_MIN_LOG_LEVEL="3")
    run = subprocess.run(
        [sys.executable, script, root / "inputs.npz", root / "outputs.npz", *directories],
        env=env,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    outputs = dict(np.load(root / "outputs.npz"))
    return {
        family: {key.split("/", 1)[1]: value for key, value in outputs.items()
                 if key.startswith(family + "/")}
        for family in SMALL_MODELS
    }, expected  # fmt: skip


@exported
@pytest.mark.parametrize("family", sorted(SMALL_MODELS))
def test_plain_tensorflow_and_tfsm_layer_serve_the_model_outputs(served, family):
    outputs, expected = served[0][family], served[1][family][0]
    assert expected.std() > 1e-3  # the outputs differ image to image and class to class
    for call in ("serve_preprocessed", "tfsm_layer"):
        np.testing.assert_allclose(outputs[f"{call}/probabilities"], expected[-1], atol=1e-4)
    if family == "dvt":
        every_exit = np.swapaxes(expected, 0, 1)  # (n, K, C)
        np.testing.assert_allclose(
            outputs["serve_preprocessed/exit_probabilities"], every_exit, atol=1e-4
        )
        np.testing.assert_array_equal(outputs["serve_preprocessed/exit"], 1)  # no thresholds
    top = np.argsort(-expected[-1], axis=-1)[:, :5]
    np.testing.assert_array_equal(outputs["serve_preprocessed/top_classes"], top)


@exported
@pytest.mark.parametrize("family", sorted(SMALL_MODELS))
def test_uint8_signature_prepares_photos_as_by_hand(served, family):
    outputs, on_photos = served[0][family], served[1][family][1]
    np.testing.assert_allclose(
        outputs["serving_default/probabilities"],
        outputs["photos_prepared/probabilities"],
        atol=1e-4,
    )
    np.testing.assert_allclose(outputs["serving_default/probabilities"], on_photos[-1], atol=1e-4)
    assert outputs["serving_default/top_classes"].shape == (2, 5)


@exported
def test_cascade_signature_takes_the_exit_its_thresholds_choose(served):
    outputs, on_photos = served[0]["dvt"], served[1]["dvt"][1]
    exits = exits_taken(on_photos.max(-1), THRESHOLDS)
    taken = outputs["with_thresholds/exit"]
    np.testing.assert_array_equal(taken, exits)
    np.testing.assert_allclose(
        outputs["with_thresholds/probabilities"], on_photos[exits, np.arange(2)], atol=1e-4
    )


@pytest.mark.skipif(BACKEND != "tensorflow", reason="the served graph is backend-free")
def test_signatures_refuse_bad_images_saying_what_they_take(tmp_path):
    import tensorflow as tf

    model = small_model("cct")
    export_saved_model(model, tmp_path / "cct", serving_config(model, NORMALIZATION))
    signatures = tf.saved_model.load(str(tmp_path / "cct")).signatures
    serve, preprocessed = signatures["serving_default"], signatures["serve_preprocessed"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="expected to be a uint8 tensor"):
        serve(images=tf.zeros((1, 40, 40, 3), tf.float32))
    uint8_message = r"takes uint8 images \(N, H, W, 3\)"
    with pytest.raises(tf.errors.InvalidArgumentError, match=uint8_message):
        serve(images=tf.zeros((1, 40, 40, 4), tf.uint8))
    with pytest.raises(tf.errors.InvalidArgumentError, match=uint8_message):
        serve(images=tf.zeros((40, 40, 3), tf.uint8))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"float32 images \(N, 32, 32, 3\)"):
        preprocessed(images=tf.zeros((1, 16, 16, 3), tf.float32))


@pytest.mark.skipif(BACKEND != "tensorflow", reason="argument checks are backend-free")
def test_export_errors_name_what_is_missing(tmp_path):
    model = small_model("vit")
    with pytest.raises(ValueError, match="give normalization="):
        serving_config(model)
    with pytest.raises(ValueError, match="thresholds apply to DVT cascades"):
        export_saved_model(model, tmp_path / "x", serving_config(model, "unit"), thresholds=[0.5])
    with pytest.raises(ValueError, match="3 class names for a model of 10 classes"):
        serving_config(model, "unit", class_names=["a", "b", "c"])
    features = keras_nest.Nest(
        depths=(1, 1), embed_dims=(16, 32), num_heads=2, patch_size=4, block_size=2,
        input_shape=(SIZE, SIZE, 3), include_top=False, pooling="avg",
    )  # fmt: skip
    with pytest.raises(ValueError, match="include_top=True"):
        serving_config(features, "unit")
    cascade = small_model("dvt")
    with pytest.raises(ValueError, match="2 exits need 1 threshold"):
        export_saved_model(cascade, tmp_path / "y", serving_config(cascade, "unit"), [0.1, 0.2])


@pytest.mark.skipif(BACKEND != "tensorflow", reason="backend-free")
def test_a_registry_model_brings_its_preprocessing_and_class_names():
    cct = keras_nest.create_model("cct_2_3x2_32")
    config = serving_config(cct)
    assert (config.image_size, config.crop_ratio, config.class_names) == (32, 1.0, None)
    assert (config.mean, config.std) == NORMALIZATIONS["cifar10"]
    vit = keras_nest.create_model("vit_tiny_patch16_224")
    config = serving_config(vit)
    assert (config.image_size, config.crop_ratio, config.top) == (224, 0.875, 5)
    assert (config.mean, config.std) == NORMALIZATIONS["inception"]
    assert config.class_names[:2] == ("tench", "goldfish") and len(config.class_names) == 1000


@pytest.mark.core  # the torch run's one check here
@pytest.mark.skipif(BACKEND != "torch", reason="the torch backend's refusal")
def test_torch_backend_is_told_which_backends_export(tmp_path):
    model = small_model("vit")
    with pytest.raises(ValueError, match="runs on the jax or tensorflow backend, not torch"):
        export_saved_model(model, tmp_path / "vit", serving_config(model, "unit"))
