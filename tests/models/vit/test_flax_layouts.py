"""The original code's other checkpoint layouts: trees saved from vit_jax as it
runs today (linen module names) and the checkpoints its ``train.py`` writes,
and the GELU default that follows a checkpoint's keys, not its file name."""

import numpy as np
import pytest

import keras_nest
from keras_nest.models.vit import save_npz
from tests.conftest import BACKEND, max_abs_diff, to_numpy
from tests.models.vit.test_npz import images, perturbed_vit
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
# flax's convert_pre_linen: the published files number a block's modules with
# one counter, linen (vit_jax's models_vit.py today) with one per module type.
PRE_LINEN_TO_LINEN = {
    "MultiHeadDotProductAttention_1/": "MultiHeadDotProductAttention_0/",
    "LayerNorm_2/": "LayerNorm_1/",
    "MlpBlock_3/": "MlpBlock_0/",
}


def linen_tree(path):
    """The flat keys of an original ``.npz`` renamed as vit_jax's linen model names them."""
    with np.load(path) as archive:
        flat = {key: archive[key] for key in archive.files}
    renamed = {}
    for key, value in flat.items():
        for old, new in PRE_LINEN_TO_LINEN.items():
            key = key.replace(old, new)
        renamed[key] = value
    assert "Transformer/encoderblock_1/MlpBlock_0/Dense_1/kernel" in renamed
    assert len(renamed) == len(flat)
    return renamed


def nest(flat):
    """``{"a/b": x} -> {"a": {"b": x}}``, as vit_jax's ``recover_tree``."""
    tree = {}
    for key, value in flat.items():
        *parents, leaf = key.split("/")
        node = tree
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return tree


@pytest.fixture(scope="module")
def tanh_vit(tmp_path_factory):
    """``(model, linen keys)``: a tiny perturbed ViT with the original code's GELU."""
    model = perturbed_vit("vit_tiny_patch16_224", seed=1, gelu="tanh", **TINY)
    path = tmp_path_factory.mktemp("vit") / "tiny.npz"
    save_npz(model, path)
    return model, linen_tree(path)


@pytest.mark.core
def test_linen_names_load_and_match_timm(tmp_path):
    import timm

    model = perturbed_vit("vit_tiny_patch16_224", gelu="exact", **TINY)  # timm's GELU
    published = tmp_path / "pre_linen.npz"
    save_npz(model, published)
    linen = tmp_path / "linen.npz"
    np.savez(linen, **linen_tree(published))
    reloaded = keras_nest.ViT(**TINY, gelu="exact", weights=str(linen), classifier_activation=None)

    batch = images(32)
    assert max_abs_diff(to_numpy(reloaded(batch)), to_numpy(model(batch))) < 1e-5
    # timm reads only the published numbering: the reference the same weights give.
    reference = timm.create_model("vit_tiny_patch16_224", pretrained=False, **TIMM_TINY).eval()
    reference.load_pretrained(str(published))
    expected = torch_logits(reference, batch)
    assert expected.std() > 0.5
    error = max_abs_diff(to_numpy(reloaded(batch)), expected)
    print(f"linen names on {BACKEND}: max logit error against timm {error:.2e}")
    assert error < 1e-4


def test_linen_names_default_to_the_tanh_gelu(tanh_vit, tmp_path):
    model, linen = tanh_vit
    path = tmp_path / "linen.npz"
    np.savez(path, **linen)
    reloaded = keras_nest.ViT(**TINY, weights=str(path), classifier_activation=None)
    assert reloaded.get_layer("block_0").gelu == "tanh"
    batch = images(32)
    assert max_abs_diff(to_numpy(reloaded(batch)), to_numpy(model(batch))) < 1e-5


def test_training_checkpoint_of_vit_jax(tanh_vit, tmp_path):
    """train.py saves ``(params, opt_state, step)`` with flax.training.checkpoints,
    which msgpack-serialises ``serialization.to_state_dict`` of it: ``0/...``
    holds the model, ``1/...`` the optimizer's bfloat16 momentum copy of it."""
    jax = pytest.importorskip("jax")
    optax = pytest.importorskip("optax")
    serialization = pytest.importorskip("flax.serialization")
    model, linen = tanh_vit
    params = nest(linen)
    params["pre_logits"] = {}  # load_pretrained's drop-head variant
    # As train.py's optimizer, after one step whose gradient is -params: the
    # momentum trace is then a negated copy, which must not be loaded.
    tx = optax.chain(
        optax.clip_by_global_norm(1.0),
        optax.sgd(learning_rate=0.0, momentum=0.9, accumulator_dtype="bfloat16"),
    )
    gradients = jax.tree_util.tree_map(lambda p: -p, params)
    _, opt_state = tx.update(gradients, tx.init(params), params)
    path = tmp_path / "checkpoint_1"  # flax's name for it: no suffix
    path.write_bytes(serialization.to_bytes((params, opt_state, 1)))
    assert "1/1/0/trace/embedding/kernel" in _flat_keys(serialization, path)

    reloaded = keras_nest.ViT(**TINY, weights=str(path), classifier_activation=None)
    assert reloaded.get_layer("block_0").gelu == "tanh"
    batch = images(32)
    assert max_abs_diff(to_numpy(reloaded(batch)), to_numpy(model(batch))) < 1e-5


def _flat_keys(serialization, path):
    """The "/"-joined keys of a msgpack checkpoint."""
    from keras_nest.weights.readers import flatten_tree

    return set(flatten_tree(serialization.msgpack_restore(path.read_bytes())))


@pytest.mark.core
def test_timm_keys_in_an_npz_default_to_the_exact_gelu(tmp_path):
    """The default follows the keys, not the file name: timm's stay "exact"."""
    reference = perturbed_timm("vit_tiny_patch16_224", **TIMM_TINY)
    path = tmp_path / "timm_state.npz"
    np.savez(path, **{key: value.numpy() for key, value in reference.state_dict().items()})
    reloaded = keras_nest.ViT(**TINY, weights=str(path), classifier_activation=None)
    assert reloaded.get_layer("block_0").gelu == "exact"
    batch = images(32)
    assert max_abs_diff(to_numpy(reloaded(batch)), torch_logits(reference, batch)) < 1e-4
