"""The original .npz layout: written by keras_nest, read by timm's own .npz loader,
read back by keras_nest (vit_jax and big_vision layouts), and the original
position-embedding resize on a change of resolution."""

import numpy as np
import pytest

import keras_nest
from keras_nest.models.vit import save_npz
from tests.conftest import max_abs_diff, to_numpy
from tests.torch_references import torch_logits


def perturbed_vit(name, seed=0, **kwargs):
    """A keras_nest ViT whose every tensor is random (the head is zeros at init)."""
    model = keras_nest.create_model(name, classifier_activation=None, **kwargs)
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        scale = 1.0 if "predictions" in variable.path else 0.1
        noise = rng.normal(size=variable.shape) * scale
        if variable.path.endswith("gamma"):
            noise = 1 + noise
        variable.assign(noise.astype("float32"))
    return model


def images(size, count=2):
    return np.random.default_rng(3).normal(size=(count, size, size, 3)).astype("float32")


@pytest.mark.core
def test_npz_written_by_keras_nest_loads_into_timm(tmp_path):
    import timm

    model = perturbed_vit("vit_tiny_patch16_224", gelu="exact")  # timm's GELU
    path = tmp_path / "ViT-Ti_16.npz"
    save_npz(model, path)
    reference = timm.create_model("vit_tiny_patch16_224", pretrained=False).eval()
    reference.load_pretrained(str(path))
    batch = images(224)
    expected = torch_logits(reference, batch)
    assert expected.std() > 0.5
    assert max_abs_diff(to_numpy(model(batch)), expected) < 1e-4


def test_npz_round_trip_and_big_vision_layout(tmp_path):
    model = perturbed_vit("vit_tiny_patch16_224", pooling_mode="gap", num_layers=2)
    path = tmp_path / "vit.npz"
    save_npz(model, path)
    batch = images(224)
    expected = to_numpy(model(batch))
    same = dict(pooling_mode="gap", num_layers=2, classifier_activation=None)
    # An .npz is an original checkpoint: GELU defaults to its tanh form.
    assert keras_nest.ViTTiny16(weights=str(path), **same).get_layer("block_0").gelu == "tanh"
    reloaded = keras_nest.ViTTiny16(weights=str(path), gelu="exact", **same)
    assert max_abs_diff(to_numpy(reloaded(batch)), expected) == 0.0

    # big_vision: blocks stacked on a leading axis, wrapped in "params/".
    with np.load(path) as archive:
        flat = {key: archive[key] for key in archive.files}
    stacked = {}
    for key, value in flat.items():
        if key.startswith("Transformer/encoderblock_"):
            rest = key.split("/", 2)[2]
            rest = rest.replace("MultiHeadDotProductAttention_1", "MultiHeadDotProductAttention_0")
            rest = rest.replace("LayerNorm_2", "LayerNorm_1").replace("MlpBlock_3", "MlpBlock_0")
            stacked.setdefault(f"Transformer/encoderblock/{rest}", []).append(value)
        elif key == "Transformer/posembed_input/pos_embedding":
            stacked["pos_embedding"] = value
        else:
            stacked[key] = value
    stacked = {f"params/{k}": np.stack(v) if isinstance(v, list) else v for k, v in stacked.items()}
    np.savez(tmp_path / "big_vision.npz", **stacked)
    reloaded = keras_nest.ViTTiny16(weights=str(tmp_path / "big_vision.npz"), gelu="exact", **same)
    assert max_abs_diff(to_numpy(reloaded(batch)), expected) == 0.0


def test_resolution_change_resizes_as_the_original_code(tmp_path):
    from scipy import ndimage

    model = perturbed_vit("vit_tiny_patch16_224", num_layers=1)
    path = tmp_path / "vit_224.npz"
    save_npz(model, path)
    bigger = keras_nest.ViTTiny16(weights=str(path), num_layers=1, input_shape=(384, 384, 3))
    # The original interpolate_posembed: class token kept, 14x14 grid zoomed
    # to 24x24 by scipy.ndimage.zoom(order=1).
    posemb = to_numpy(model.get_layer("pos_embed").embedding)
    grid = posemb[0, 1:].reshape(14, 14, -1)
    zoomed = ndimage.zoom(grid, (24 / 14, 24 / 14, 1), order=1).reshape(1, 576, -1)
    expected = np.concatenate([posemb[:, :1], zoomed], axis=1)
    resized = to_numpy(bigger.get_layer("pos_embed").embedding)
    assert resized.shape == (1, 577, 192)
    assert max_abs_diff(resized, expected) < 1e-5
    assert max_abs_diff(resized[:, 0], posemb[:, 0]) == 0.0
    # Every other tensor arrives unchanged, and the bigger model runs.
    kernel = bigger.get_layer("patch_embed").proj.kernel
    assert max_abs_diff(to_numpy(kernel), to_numpy(model.get_layer("patch_embed").proj.kernel)) == 0
    assert bigger(images(384, 1)).shape == (1, 1000)
