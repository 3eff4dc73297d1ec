"""LiteRT export (tensorflow): the float32 file runs to the Keras outputs; the int8 file keeps
digits accuracy within a point of the float model and is a fraction of its size."""

import os

import keras
import numpy as np
import pytest

import keras_nest
from keras_nest.data.digits import load_digits
from keras_nest.export import export_litert, run_litert
from tests.conftest import BACKEND
from tests.export.models import SMALL_MODELS, images, small_model

tensorflow_only = pytest.mark.skipif(BACKEND != "tensorflow", reason="LiteRT: tensorflow backend")


@tensorflow_only
@pytest.mark.parametrize("family", sorted(SMALL_MODELS))
def test_float32_file_runs_the_model_outputs(family, tmp_path):
    model = small_model(family)
    batch = images(count=3)
    expected = model.predict(batch, verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    outputs = run_litert(export_litert(model, str(tmp_path / f"{family}.tflite")), batch)
    assert len(outputs) == len(expected)
    for output, reference in zip(outputs, expected):
        assert reference.std() > 1e-3  # image to image and class to class, outputs differ
        np.testing.assert_allclose(output, reference, atol=1e-4)


@tensorflow_only
def test_int8_file_keeps_digits_accuracy(tmp_path):
    (x_train, y_train), (x_test, y_test) = load_digits(32)
    keras.utils.set_random_seed(0)
    model = keras_nest.create_model("cct_2_3x2_32", classes=10)
    model.compile(keras.optimizers.AdamW(1e-3), loss="sparse_categorical_crossentropy")
    model.fit(x_train, y_train, batch_size=64, epochs=6, verbose=0)
    paths = {}
    for quantize in (None, "dynamic_int8"):
        paths[quantize] = export_litert(model, str(tmp_path / f"{quantize}.tflite"), quantize)
    accuracy = {
        quantize: float(np.mean(np.argmax(run_litert(path, x_test)[0], -1) == y_test))
        for quantize, path in paths.items()
    }
    sizes = {quantize: os.path.getsize(path) for quantize, path in paths.items()}
    print(f"digits accuracy {accuracy}, bytes {sizes}")
    assert accuracy[None] > 0.8, accuracy
    assert abs(accuracy["dynamic_int8"] - accuracy[None]) <= 0.01, accuracy
    assert sizes["dynamic_int8"] < 0.4 * sizes[None], sizes


@pytest.mark.core  # the torch run's one check here
@pytest.mark.skipif(BACKEND == "tensorflow", reason="the other backends' refusal")
def test_other_backends_are_told_to_use_tensorflow(tmp_path):
    with pytest.raises(ValueError, match="LiteRT export runs on the tensorflow backend"):
        export_litert(small_model("vit"), str(tmp_path / "vit.tflite"))


@tensorflow_only
def test_unknown_quantization_is_refused(tmp_path):
    with pytest.raises(ValueError, match="quantize must be one of"):
        export_litert(small_model("vit"), str(tmp_path / "vit.tflite"), quantize="int4")
