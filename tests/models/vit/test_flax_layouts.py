"""The original code's other checkpoint layouts: trees saved from vit_jax as it
runs today (linen module names) and the checkpoints its ``train.py`` writes,
and the GELU default that follows a checkpoint's keys, not its file name.
The files are timm weights converted here (``reference.flax_arrays``)."""

import ml_dtypes
import numpy as np
import pytest

import keras_nest
from tests.conftest import flax_msgpack, outputs_of, tree_of
from tests.models.parity import assert_matches
from tests.models.vit.reference import flax_arrays, images
from tests.models.vit.test_parity import TOLERANCE
from tests.torch_references import perturbed_timm, torch_logits

TINY = dict(
    patch_size=8,
    embed_dim=32,
    num_layers=2,
    num_heads=2,
    mlp_ratio=2,
    classes=5,
    input_shape=(32, 32, 3),
)
TIMM_TINY = dict(
    img_size=32, patch_size=8, embed_dim=32, depth=2, num_heads=2, mlp_ratio=2, num_classes=5
)


def tiny_timm(seed=0, **kwargs):
    """timm's ViT of ``TINY``, perturbed; its 32-wide head scaled up by 10 to
    give logits of order 1."""
    import torch

    reference = perturbed_timm("vit_tiny_patch16_224", seed=seed, **TIMM_TINY, **kwargs)
    with torch.no_grad():
        reference.head.weight.mul_(10.0)
    return reference


@pytest.fixture(scope="module")
def tanh_vit():
    """``(timm reference, its logits, linen arrays)``: a tiny perturbed ViT with
    the original code's GELU (tanh)."""
    reference = tiny_timm(seed=1, act_layer="gelu_tanh")
    return reference, torch_logits(reference, images(32)), flax_arrays(reference, "linen")


@pytest.mark.core
def test_linen_names_load_and_match_timm(tmp_path):
    reference = tiny_timm()  # exact GELU
    linen = tmp_path / "linen.npz"
    np.savez(linen, **flax_arrays(reference, "linen"))
    reloaded = keras_nest.ViT(**TINY, gelu="exact", weights=str(linen), classifier_activation=None)
    batch = images(32)
    expected = torch_logits(reference, batch)
    assert expected.std() > 0.5
    assert_matches("linen names", outputs_of(reloaded, batch), expected, TOLERANCE)


def test_linen_names_default_to_the_tanh_gelu(tanh_vit, tmp_path):
    _, expected, linen = tanh_vit
    path = tmp_path / "linen.npz"
    np.savez(path, **linen)
    reloaded = keras_nest.ViT(**TINY, weights=str(path), classifier_activation=None)
    assert reloaded.get_layer("block_0").gelu == "tanh"
    logits = outputs_of(reloaded, images(32))
    assert_matches("linen names, tanh GELU", logits, expected, TOLERANCE)


def train_checkpoint(linen):
    """What vit_jax's train.py saves after one step whose gradient is -params.

    It saves ``(params, opt_state, step)`` with flax.training.checkpoints:
    the msgpack of ``serialization.to_state_dict`` of it, tuples as dicts keyed
    "0", "1", ... . Its optimizer, ``optax.chain(clip_by_global_norm(1.0),
    sgd(lr, momentum=0.9, accumulator_dtype="bfloat16"))``, keeps a stateless
    clip, then sgd's chain of a momentum trace (after that step the clipped
    gradient in bfloat16, shaped as the model, which must not be loaded) and a
    stateless scale.
    """
    params = tree_of(linen)
    params["pre_logits"] = {}  # load_pretrained's drop-head variant
    norm = np.sqrt(sum(np.sum(np.square(value, dtype="float64")) for value in linen.values()))
    clipped = {key: -value / max(norm, 1.0) for key, value in linen.items()}
    trace = tree_of({key: value.astype(ml_dtypes.bfloat16) for key, value in clipped.items()})
    trace["pre_logits"] = {}
    opt_state = {"0": {}, "1": {"0": {"trace": trace}, "1": {}}}
    return {"0": params, "1": opt_state, "2": 1}


def test_training_checkpoint_of_vit_jax(tanh_vit, tmp_path):
    _, expected, linen = tanh_vit
    path = tmp_path / "checkpoint_1"  # flax's name for it: no suffix
    path.write_bytes(flax_msgpack(train_checkpoint(linen)))
    reloaded = keras_nest.ViT(**TINY, weights=str(path), classifier_activation=None)
    assert reloaded.get_layer("block_0").gelu == "tanh"
    logits = outputs_of(reloaded, images(32))
    assert_matches("train.py checkpoint", logits, expected, TOLERANCE)


def test_train_checkpoint_is_what_flax_and_optax_write(tanh_vit):
    # The test's description of the file, against the real thing (jax, optax
    # and flax come with the test extras).
    import jax
    import optax
    from flax import serialization

    from keras_nest.weights.readers import flatten_tree

    _, _, linen = tanh_vit
    params = tree_of(linen)
    params["pre_logits"] = {}
    tx = optax.chain(
        optax.clip_by_global_norm(1.0),
        optax.sgd(learning_rate=0.0, momentum=0.9, accumulator_dtype="bfloat16"),
    )
    gradients = jax.tree_util.tree_map(lambda p: -p, params)
    _, opt_state = tx.update(gradients, tx.init(params), params)
    written = serialization.to_bytes((params, opt_state, 1))
    written = flatten_tree(serialization.msgpack_restore(written))
    described = flatten_tree(serialization.msgpack_restore(flax_msgpack(train_checkpoint(linen))))
    assert sorted(described) == sorted(written)
    for key, value in written.items():
        assert (described[key].dtype, described[key].shape) == (value.dtype, value.shape), key
        # The model exactly; the trace's bfloat16 within one step of it (8
        # significant bits: a step is up to 2**-7 relative), as optax clips in
        # float32 and this file in float64, so an element near a rounding
        # midpoint may round the other way (seen on CI: 1 of 1024 elements).
        rtol = 2**-7 if key.startswith("1/") else 0
        ours, theirs = described[key].astype("float32"), value.astype("float32")
        np.testing.assert_allclose(ours, theirs, rtol=rtol, err_msg=key)


@pytest.mark.core
def test_timm_keys_in_an_npz_default_to_the_exact_gelu(tmp_path):
    """The default follows the keys, not the file name: timm's stay "exact"."""
    reference = tiny_timm()
    path = tmp_path / "timm_state.npz"
    np.savez(path, **{key: value.numpy() for key, value in reference.state_dict().items()})
    reloaded = keras_nest.ViT(**TINY, weights=str(path), classifier_activation=None)
    assert reloaded.get_layer("block_0").gelu == "exact"
    batch = images(32)
    logits = outputs_of(reloaded, batch)
    assert_matches("timm keys in an .npz", logits, torch_logits(reference, batch), TOLERANCE)
