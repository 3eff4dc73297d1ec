"""Grad-CAM on NesT and attention rollout on the token models."""

import keras
import numpy as np
import pytest

from keras_nest import explain
from keras_nest.explain.result import to_heatmaps
from tests.conftest import BACKEND
from tests.explain.models import SIZE, images, tiny_nest
from tests.export.models import small_model


@pytest.mark.core
def test_gradcam_of_a_pooled_linear_head_is_the_class_activation_map():
    """Average pooling then a Dense head make every position's gradient
    ``W[:, c] / (h w)``, so Grad-CAM is CAM: ``ReLU(F . W[:, c])``, normalised."""
    model = tiny_nest()
    batch = images(3)
    result = explain.gradcam(model, batch, class_index=[0, 1, 2])
    features = keras.Model(model.input, model.get_layer("deblockify").output).predict(batch, verbose=0)
    kernel = keras.ops.convert_to_numpy(model.get_layer("predictions").kernel)
    cam = np.maximum(np.einsum("bhwc,cb->bhw", features, kernel[:, [0, 1, 2]]), 0)
    np.testing.assert_allclose(result.heatmaps, to_heatmaps(cam, (SIZE, SIZE)), atol=1e-5)
    assert result.classes.tolist() == [0, 1, 2] and result.paths is None


@pytest.mark.skipif(BACKEND == "jax", reason="the readouts are numpy: the DVT exit test covers jax")
@pytest.mark.parametrize("family", ["vit", "cct", "dvt"])
def test_rollout_gives_a_heatmap_per_image_at_input_resolution(family):
    model = small_model(family)
    batch = np.random.default_rng(0).uniform(-2, 2, (3, 32, 32, 3)).astype("float32")
    result = explain.rollout(model, batch, batch_size=2)
    assert result.heatmaps.shape == (3, 32, 32) and result.heatmaps.dtype == np.float32
    assert np.allclose(result.heatmaps.max(axis=(1, 2)), 1.0) and result.heatmaps.min() >= 0
    outputs = model.predict(batch, verbose=0)
    last = outputs[-1] if isinstance(outputs, (list, tuple)) else outputs
    assert result.classes.tolist() == np.argmax(last, axis=-1).tolist()


def test_rollout_of_uniform_attention_is_uniform():
    """Zero query and key projections make every attention row uniform; every token then
    flows into the class token alike."""
    model = small_model("vit")
    for layer in model.layers:
        if hasattr(layer, "attn"):
            kernel = keras.ops.convert_to_numpy(layer.attn.qkv.kernel)
            bias = keras.ops.convert_to_numpy(layer.attn.qkv.bias)
            width = kernel.shape[1] // 3
            kernel[:, : 2 * width], bias[: 2 * width] = 0, 0
            layer.attn.qkv.kernel.assign(kernel)
            layer.attn.qkv.bias.assign(bias)
    result = explain.rollout(model, np.ones((1, 32, 32, 3), "float32"))
    np.testing.assert_allclose(result.heatmaps, 1.0, atol=1e-5)


@pytest.mark.core
def test_each_dvt_exit_is_explained_on_its_own_tokens():
    model = small_model("dvt")  # exits on 2x2, then 4x4 tokens
    batch = np.random.default_rng(1).uniform(-2, 2, (2, 32, 32, 3)).astype("float32")
    first, last = explain.rollout(model, batch, exit=1), explain.rollout(model, batch)
    np.testing.assert_array_equal(last.heatmaps, explain.rollout(model, batch, exit=2).heatmaps)
    assert not np.allclose(first.heatmaps, last.heatmaps)
    exits = model.predict(batch, verbose=0)
    assert first.classes.tolist() == np.argmax(exits[0], axis=-1).tolist()
    with pytest.raises(ValueError, match=r"exit must be 1 to 2.*got 3"):
        explain.rollout(model, batch, exit=3)
    with pytest.raises(ValueError, match="exit applies to DVT cascades"):
        explain.rollout(small_model("vit"), batch, exit=1)
