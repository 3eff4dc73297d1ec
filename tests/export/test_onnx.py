"""ONNX export: onnxruntime runs the file to the Keras model's outputs, from jax and tensorflow;
the export-time max-pool (jax) equals ops.max_pool; torch and the user's mistakes are refused."""

import keras
import numpy as np
import pytest

from keras_nest.export import export_onnx
from keras_nest.layers import compute_paths
from tests.conftest import BACKEND, max_abs_diff, to_numpy
from tests.export.models import (
    CLASSES,
    SIZE,
    SMALL_MODELS,
    images,
    mixed_precision_model,
    small_model,
)

EXPORTS = pytest.mark.skipif(BACKEND == "torch", reason="ONNX export: jax, tensorflow")


@EXPORTS
@pytest.mark.parametrize("family", sorted(SMALL_MODELS))
# Keras's patch of tf2onnx for NumPy 2 looks up np.object.
@pytest.mark.filterwarnings("ignore:In the future `np.object`:FutureWarning")
def test_onnxruntime_runs_the_model_outputs(family, tmp_path):
    import onnxruntime

    model = small_model(family)
    batch = images(count=3)
    expected = model.predict(batch, verbose=0)
    expected = expected if isinstance(expected, list) else [expected]
    path = export_onnx(model, tmp_path / f"{family}.onnx")
    session = onnxruntime.InferenceSession(path)
    inputs, outputs = session.get_inputs(), session.get_outputs()
    assert [(i.name, i.shape) for i in inputs] == [("images", ["batch", SIZE, SIZE, 3])]
    names = ["exit1_predictions", "exit2_predictions"] if family == "dvt" else ["predictions"]
    assert [(o.name, o.shape) for o in outputs] == [(name, ["batch", CLASSES]) for name in names]
    results = session.run(None, {"images": batch})
    assert len(results) == len(expected) == len(names)
    for result, reference in zip(results, expected):
        # Images differ from one another and classes within an image, by far more than 1e-4.
        assert np.ptp(reference, axis=0).max() > 1e-2
        assert np.ptp(reference, axis=1).min() > 1e-2
        assert max_abs_diff(result, reference) < 1e-4
    # Another batch size runs too (the batch dimension is free).
    assert max_abs_diff(session.run(None, {"images": batch[1:2]})[-1], expected[-1][1:2]) < 1e-4


@pytest.mark.skipif(BACKEND != "jax", reason="the slices replace max_pool on jax only")
@pytest.mark.parametrize("size, strides, padding, edge", [(3, 2, "same", 8), (3, 2, "same", 7),
                                                          (3, 2, "valid", 9), (2, 2, "valid", 8)])  # fmt: skip
def test_export_max_pool_equals_ops_max_pool(size, strides, padding, edge):
    import jax

    x = np.random.default_rng(0).normal(size=(2, edge, edge + 1, 3)).astype("float32")
    expected = to_numpy(keras.ops.max_pool(x, size, strides, padding=padding))
    with compute_paths.exporting():
        pooled = to_numpy(compute_paths.max_pool(x, size, strides, padding))
        traced = str(jax.make_jaxpr(lambda v: compute_paths.max_pool(v, size, strides, padding))(x))
    assert "reduce_window" not in traced  # the window jax2onnx writes as a 4-D MaxPool
    np.testing.assert_array_equal(pooled, expected)


@pytest.mark.core  # the torch run's one check here
@pytest.mark.skipif(BACKEND != "torch", reason="the torch backend's refusal")
def test_torch_backend_is_told_which_backends_export(tmp_path):
    with pytest.raises(ValueError, match="ONNX export runs on the jax or tensorflow backend"):
        export_onnx(small_model("vit"), tmp_path / "vit.onnx")


@EXPORTS
@pytest.mark.parametrize(
    "make_model, where, message",
    [
        (lambda: keras.Sequential([keras.layers.Dense(2)]), "vit.onnx", "was never built"),
        (mixed_precision_model, "vit.onnx", "takes float32 models; .* mixed_float16"),
        (lambda: small_model("vit"), "nowhere/vit.onnx", "No folder .*nowhere"),
        (lambda: small_model("vit"), ".", "is a folder"),
    ],
    ids=["unbuilt", "mixed", "missing-folder", "folder"],
)
def test_mistakes_are_refused_with_a_reason(make_model, where, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        export_onnx(make_model(), tmp_path / where)
    assert not any(tmp_path.rglob("*.onnx"))
