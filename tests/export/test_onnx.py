"""ONNX export: onnxruntime runs the file to the Keras model's outputs, from jax and tensorflow;
the export-time max-pool (jax) equals ops.max_pool."""

import keras
import numpy as np
import pytest

from keras_nest.export import export_onnx
from keras_nest.layers import compute_paths
from tests.conftest import BACKEND, to_numpy
from tests.export.models import SMALL_MODELS, images, small_model


@pytest.mark.skipif(BACKEND == "torch", reason="ONNX export: jax, tensorflow")
@pytest.mark.parametrize("family", sorted(SMALL_MODELS))
def test_onnxruntime_runs_the_model_outputs(family, tmp_path):
    import onnxruntime

    model = small_model(family)
    batch = images(count=3)
    expected = model.predict(batch, verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    path = export_onnx(model, str(tmp_path / f"{family}.onnx"))
    session = onnxruntime.InferenceSession(path)
    assert [tensor.name for tensor in session.get_inputs()] == ["images"]
    outputs = session.run(None, {"images": batch})
    assert len(outputs) == len(expected)
    for output, reference in zip(outputs, expected):
        assert reference.std() > 1e-3  # image to image and class to class, outputs differ
        np.testing.assert_allclose(output, reference, atol=1e-4)
    # Another batch size runs too (the batch dimension is free).
    np.testing.assert_allclose(
        session.run(None, {"images": batch[:1]})[-1], expected[-1][:1], atol=1e-4
    )


@pytest.mark.skipif(BACKEND != "jax", reason="the slices replace max_pool on jax only")
@pytest.mark.parametrize("size, strides, padding, edge", [(3, 2, "same", 8), (3, 2, "same", 7),
                                                          (3, 2, "valid", 9), (2, 2, "valid", 8)])  # fmt: skip
def test_export_max_pool_equals_ops_max_pool(size, strides, padding, edge):
    x = np.random.default_rng(0).normal(size=(2, edge, edge + 1, 3)).astype("float32")
    expected = to_numpy(keras.ops.max_pool(x, size, strides, padding=padding))
    with compute_paths.exporting():
        pooled = to_numpy(compute_paths.max_pool(x, size, strides, padding))
    np.testing.assert_array_equal(pooled, expected)


@pytest.mark.core  # the torch run's one check here
@pytest.mark.skipif(BACKEND != "torch", reason="the torch backend's refusal")
def test_torch_backend_is_told_which_backends_export(tmp_path):
    with pytest.raises(ValueError, match="ONNX export runs on the jax or tensorflow backend"):
        export_onnx(small_model("vit"), str(tmp_path / "vit.onnx"))


@pytest.mark.skipif(BACKEND != "tensorflow", reason="argument checks are backend-free")
def test_a_missing_folder_is_named(tmp_path):
    with pytest.raises(ValueError, match="No folder .*nowhere"):
        export_onnx(small_model("vit"), str(tmp_path / "nowhere" / "vit.onnx"))
