"""LiteRT export (tensorflow): the float32 file runs to the Keras outputs at any batch size;
the int8 file keeps digits accuracy within a point of the float model and is a fraction of
its size; the other backends and mistakes are refused with a reason."""

import os

import keras
import numpy as np
import pytest

import keras_nest
from keras_nest.data.digits import load_digits
from keras_nest.export import export_litert, run_litert
from tests.conftest import BACKEND
from tests.export.models import SMALL_MODELS, images, mixed_precision_model, small_model

tensorflow_only = pytest.mark.skipif(BACKEND != "tensorflow", reason="LiteRT: tensorflow backend")


@tensorflow_only
@pytest.mark.parametrize("family", sorted(SMALL_MODELS))
def test_float32_file_runs_the_model_outputs(family, tmp_path, capfd):
    model = small_model(family)
    batch = images(count=3)
    expected = model.predict(batch, verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    capfd.readouterr()
    path = export_litert(model, tmp_path / f"{family}.tflite")
    outputs, single = run_litert(path, batch), run_litert(path, batch[:1])
    assert capfd.readouterr() == ("", "")  # neither the converter nor the interpreter logs
    assert len(outputs) == len(single) == len(expected)
    for output, one, reference in zip(outputs, single, expected):
        assert reference.std() > 1e-3  # image to image and class to class, outputs differ
        np.testing.assert_allclose(output, reference, rtol=0, atol=1e-4)
        np.testing.assert_allclose(one, reference[:1], rtol=0, atol=1e-4)


@tensorflow_only
def test_int8_file_keeps_digits_accuracy(tmp_path):
    # At 16x16, as the digits recipe trains it: 16 tokens, a quarter of 32x32's cost.
    (x_train, y_train), (x_test, y_test) = load_digits(16)
    keras.utils.set_random_seed(0)
    model = keras_nest.create_model("cct_2_3x2_32", input_shape=(16, 16, 3), classes=10)
    model.compile(keras.optimizers.AdamW(1e-3), loss="sparse_categorical_crossentropy")
    model.fit(x_train, y_train, batch_size=64, epochs=6, verbose=0)
    paths = {
        quantize: export_litert(model, tmp_path / f"{quantize}.tflite", quantize=quantize)
        for quantize in (None, "dynamic_int8")
    }
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
    with pytest.raises(ValueError, match="rebuild the model under KERAS_BACKEND=tensorflow"):
        export_litert(small_model("vit"), tmp_path / "vit.tflite")


@tensorflow_only
@pytest.mark.parametrize(
    "make_model, where, quantize, message",
    [
        (lambda: small_model("vit"), "vit.tflite", "int4", "quantize must be one of"),
        (lambda: keras.Sequential([keras.layers.Dense(2)]), "vit.tflite", None, "never built"),
        (mixed_precision_model, "vit.tflite", None, "takes float32 models; .* mixed_float16"),
        (lambda: small_model("vit"), "nowhere/vit.tflite", None, "No folder .*nowhere"),
        (lambda: small_model("vit"), "vit.onnx", None, "end in .tflite"),
    ],
    ids=["quantize", "unbuilt", "mixed", "missing-folder", "suffix"],
)
def test_mistakes_are_refused_with_a_reason(make_model, where, quantize, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        export_litert(make_model(), tmp_path / where, quantize=quantize)
    assert not any(tmp_path.rglob("*.*"))
