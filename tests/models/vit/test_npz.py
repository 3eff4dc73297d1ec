"""The original .npz layouts: written by keras_nest and read by timm's own .npz
loader; the vit_jax and big_vision layouts converted from timm weights here,
read by timm's loader and by keras_nest; the original position-embedding
resize on a change of resolution."""

import numpy as np
import pytest

import keras_nest
from keras_nest.models.vit import save_npz
from tests.conftest import max_abs_diff, outputs_of, to_numpy
from tests.models.parity import assert_matches
from tests.models.vit.reference import flax_arrays, images, perturbed_vit
from tests.models.vit.test_parity import TOLERANCE
from tests.torch_references import perturbed_timm, torch_logits


@pytest.mark.core
def test_npz_written_by_keras_nest_loads_into_timm(tmp_path):
    import timm

    # All 12 blocks (encoderblock_10 sorts before encoderblock_2), at 64x64.
    model = perturbed_vit("vit_tiny_patch16_224", gelu="exact", input_shape=(64, 64, 3))
    path = tmp_path / "ViT-Ti_16.npz"
    save_npz(model, path)
    reference = timm.create_model("vit_tiny_patch16_224", img_size=64).eval()
    reference.load_pretrained(str(path))
    batch = images(64)
    expected = torch_logits(reference, batch)
    assert expected.std() > 0.5
    assert_matches("save_npz read by timm", outputs_of(model, batch), expected, TOLERANCE)


def test_npz_round_trip(tmp_path):
    model = perturbed_vit("vit_tiny_patch16_224", pooling_mode="gap", num_layers=2)
    path = tmp_path / "vit.npz"
    save_npz(model, path)
    batch = images(224)
    expected = outputs_of(model, batch)
    same = dict(pooling_mode="gap", num_layers=2, classifier_activation=None)
    # An .npz is an original checkpoint: GELU defaults to its tanh form.
    assert keras_nest.ViTTiny16(weights=str(path), **same).get_layer("block_0").gelu == "tanh"
    reloaded = keras_nest.ViTTiny16(weights=str(path), gelu="exact", **same)
    assert max_abs_diff(outputs_of(reloaded, batch), expected) == 0.0


# The original "gap" classifier, two layers at 64x64.
TIMM_GAP = dict(img_size=64, depth=2, class_token=False, global_pool="avg", fc_norm=False)


@pytest.mark.parametrize("layout", ["vit_jax", "big_vision"])
def test_original_layouts_of_timm_weights(layout, tmp_path):
    import timm

    reference = perturbed_timm("vit_tiny_patch16_224", num_classes=10, **TIMM_GAP)
    path = tmp_path / f"{layout}.npz"
    np.savez(path, **flax_arrays(reference, layout))
    batch = images(64)
    expected = torch_logits(reference, batch)
    # timm's own .npz loader takes the file for what it is ...
    check = timm.create_model("vit_tiny_patch16_224", num_classes=10, **TIMM_GAP).eval()
    check.load_pretrained(str(path))
    assert max_abs_diff(torch_logits(check, batch), expected) < 1e-6
    # ... and so does keras_nest.
    model = keras_nest.ViTTiny16(
        weights=str(path),
        gelu="exact",  # timm's
        pooling_mode="gap",
        num_layers=2,
        input_shape=(64, 64, 3),
        classes=10,
        classifier_activation=None,
    )
    logits = outputs_of(model, batch)
    assert_matches(f"{layout} layout of timm weights", logits, expected, TOLERANCE)


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
