"""The keras.applications surface of NesT: heads, sizes, registry, weights by name."""

import keras
import numpy as np
import pytest

import keras_nest
from keras_nest.models.nest import decode_predictions, preprocess_input
from keras_nest.presets.nest import NEST
from tests.conftest import (
    flax_msgpack,
    max_abs_diff,
    outputs_of,
    publish_locally,
    to_numpy,
    tree_of,
)
from tests.models.nest.reference import FLAX_FIXTURES, flax_fixture
from tests.models.nest.test_parity import TOLERANCE
from tests.models.parity import assert_matches
from tests.torch_references import (
    capture_attention,
    perturb_timm,
    perturbed_timm,
    save_state_dict,
    torch_logits,
)

SMALL = dict(FLAX_FIXTURES["nest_tiny_s16_32_reduced"])
IMAGENET_SMALL = dict(FLAX_FIXTURES["nest_tiny_s196_224_reduced"])


def test_registry_lists_and_builds_every_variant():
    names = keras_nest.list_models()
    assert {
        "nest_tiny",
        "nest_small",
        "nest_base",
        "nest_tiny_cifar",
        "nest_small_cifar",
        "nest_base_cifar",
    } <= set(names)
    model = keras_nest.create_model("nest_tiny_cifar", classes=7, classifier_activation=None)
    assert model.output_shape == (None, 7) and model.name == "nest_tiny_cifar"


@pytest.mark.parametrize(
    "pooling, shape", [(None, (None, 4, 4, 48)), ("avg", (None, 48)), ("max", (None, 48))]
)
def test_headless_outputs(pooling, shape):
    model = keras_nest.Nest(**SMALL, include_top=False, pooling=pooling)
    assert model.output_shape == shape
    assert not any(layer.name == "predictions" for layer in model.layers)


def test_feature_map_is_normalised_final_level():
    model = keras_nest.Nest(**SMALL, include_top=False)
    images = np.random.default_rng(0).random((2, 32, 32, 3), dtype=np.float32)
    features = outputs_of(model, images)
    # LayerNorm with unit scale: every token has mean 0 and variance 1.
    np.testing.assert_allclose(features.mean(-1), 0, atol=1e-5)
    np.testing.assert_allclose(features.var(-1), 1, atol=1e-3)


def test_input_tensor_and_other_sizes():
    tensor = keras.Input((64, 48, 3))
    model = keras_nest.NestTinyCifar(input_tensor=tensor, classes=3)
    assert model.input_shape == (None, 64, 48, 3)
    # 8x8 blocks a side at level 0, each of 8x6 tokens.
    assert model.get_layer("level_0_pos_embed").embedding.shape == (1, 64, 8 * 6, 192)
    assert outputs_of(model, np.zeros((1, 64, 48, 3), "float32")).shape == (1, 3)
    assert keras_nest.NestTiny(input_shape=(256, 256, 3)).output_shape == (None, 1000)


def test_drop_path_grows_linearly_and_gelu_is_passed_on():
    model = keras_nest.NestTiny(drop_path_rate=0.2, gelu="tanh")
    rates = [layer.drop_path for layer in model.layers if "_block_" in layer.name]
    np.testing.assert_allclose(rates, np.linspace(0, 0.2, 12))
    assert {layer.gelu for layer in model.layers if "_block_" in layer.name} == {"tanh"}


def test_preprocess_input_and_decode_predictions():
    images = np.full((1, 2, 2, 3), 255.0, "float32")
    expected = (1 - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    np.testing.assert_allclose(preprocess_input(images)[0, 0, 0], expected, rtol=1e-6)
    np.testing.assert_allclose(
        to_numpy(preprocess_input(keras.ops.convert_to_tensor(images)))[0, 1, 1],
        expected,
        rtol=1e-6,
    )
    scores = np.zeros((2, 1000), "float32")
    scores[0, 1], scores[0, 0], scores[1, 999] = 0.9, 0.1, 1.0
    decoded = decode_predictions(scores, top=2)
    assert decoded[0] == [
        ("n01443537", "goldfish", pytest.approx(0.9)),
        ("n01440764", "tench", pytest.approx(0.1)),
    ]
    assert decoded[1][0][:2] == ("n15075141", "toilet_tissue")
    with pytest.raises(ValueError, match=r"\(batch, 1000\)"):
        decode_predictions(np.zeros((2, 10)))


def _publish(tmp_path, monkeypatch, checkpoint, sha256):
    """Serves ``checkpoint`` as NestTiny's "imagenet" weights; returns its cache path."""
    table = NEST["nest_tiny"].weights
    return publish_locally(monkeypatch, tmp_path, table, "imagenet", checkpoint, sha256, 1000)


@pytest.fixture(scope="module")
def timm_tiny(tmp_path_factory):
    reference = perturbed_timm("nest_tiny_jx", seed=1)
    path = save_state_dict(reference, tmp_path_factory.mktemp("timm") / "nest_tiny.safetensors")
    return reference, path


def test_imagenet_weights_download_and_load(timm_tiny, tmp_path, monkeypatch):
    reference, path = timm_tiny
    cached = _publish(tmp_path, monkeypatch, path, sha256=None)
    images = np.random.default_rng(0).random((1, 224, 224, 3), dtype=np.float32)

    model = keras_nest.NestTiny(weights="imagenet", classifier_activation=None)
    expected = torch_logits(reference, images)
    assert_matches("nest_tiny by name", outputs_of(model, images), expected, TOLERANCE)
    assert cached.exists()

    # Another class count: the backbone loads, the new head stays fresh.
    fresh = keras_nest.NestTiny(weights="imagenet", classes=10)
    backbone = keras_nest.NestTiny(weights="imagenet", include_top=False, pooling="avg")
    fresh_backbone = keras.Model(fresh.input, fresh.get_layer("avg_pool").output)
    np.testing.assert_allclose(
        outputs_of(backbone, images), outputs_of(fresh_backbone, images), atol=1e-5
    )
    assert fresh.output_shape == (None, 10)


def test_imagenet_weights_with_wrong_hash_are_refused(timm_tiny, tmp_path, monkeypatch):
    _, path = timm_tiny
    _publish(tmp_path, monkeypatch, path, "0" * 64)
    with pytest.raises(ValueError, match="does not match its sha256"):
        keras_nest.NestTiny(weights="imagenet")


def test_position_embeddings_follow_the_official_resize(tmp_path):
    from scipy import ndimage

    path, arrays = flax_fixture("nest_tiny_s196_224_reduced")
    model = keras_nest.Nest(**IMAGENET_SMALL, weights=path, input_shape=(256, 256, 3))
    for level in range(3):
        source = arrays[f"params/PositionEmbedding_{level}/pos_embedding"]
        blocks = source.shape[1]
        grids = source.reshape(blocks, 14, 14, -1)
        expected = np.stack([ndimage.zoom(g, (16 / 14, 16 / 14, 1), order=1) for g in grids])
        got = to_numpy(model.get_layer(f"level_{level}_pos_embed").embedding)
        assert got.shape == (1, blocks, 256, source.shape[-1])
        assert max_abs_diff(got.reshape(expected.shape), expected) < 1e-5


def test_official_flax_training_checkpoint(tmp_path):
    path, arrays = flax_fixture("nest_tiny_s16_32_reduced")
    prefix = "params/"
    params = tree_of({k[len(prefix) :]: v for k, v in arrays.items() if k.startswith(prefix)})
    # The layout flax.training.checkpoints wrote for the official runs, in
    # flax's msgpack encoding (written here without flax).
    state = {"optimizer": {"target": params, "state": {"step": np.int64(3)}}, "step": 3}
    checkpoint = tmp_path / "checkpoint_300"
    checkpoint.write_bytes(flax_msgpack(state))
    model = keras_nest.Nest(
        **SMALL, weights=str(checkpoint), gelu="tanh", classifier_activation=None
    )
    logits = outputs_of(model, arrays["input"])
    assert_matches("official training checkpoint", logits, arrays["logits_tanh_gelu"], TOLERANCE)


def test_attention_scores_equal_timm_attention_maps(tmp_path):
    from timm.models.nest import Nest

    # Two levels of 4 and 1 blocks of 4x4 tokens, as the jx models pad.
    levels = dict(depths=(1, 1), embed_dims=(16, 32), num_heads=(2, 4), patch_size=2)
    reference = Nest(img_size=16, num_levels=2, num_classes=3, pad_type="same", **levels)
    perturb_timm(reference, seed=2)
    captured = capture_attention(reference)
    images = np.random.default_rng(2).normal(size=(2, 16, 16, 3)).astype("float32")
    torch_logits(reference, images)
    path = save_state_dict(reference, tmp_path / "nest.safetensors")
    model = keras_nest.Nest(**levels, block_size=4, classes=3, weights=path)
    scores = model.get_attention_scores(images)
    # timm's maps are (B, heads, blocks, N, N), ours (B, blocks, heads, N, N).
    theirs = [np.swapaxes(map_, 1, 2) for map_ in captured]
    assert [s.shape for s in scores] == [t.shape for t in theirs]
    assert [s.shape for s in scores] == [(2, 4, 2, 16, 16), (2, 1, 4, 16, 16)]
    for ours, expected in zip(scores, theirs):
        assert max_abs_diff(ours, expected) < 1e-5
    assert max(float(np.max(t)) for t in theirs) > 0.5  # far from uniform (1/16)
