"""The keras.applications surface of ViT: heads, GELU, weights by name, attention maps."""

import keras
import numpy as np
import pytest

import keras_nest
from keras_nest.models.vit import decode_predictions, preprocess_input, save_npz
from keras_nest.presets.vit import VIT
from tests.conftest import max_abs_diff, publish_locally, to_numpy
from tests.models.vit.reference import perturbed_vit
from tests.torch_references import capture_attention, perturbed_timm, save_state_dict, torch_logits

SMALL = dict(num_layers=1, input_shape=(64, 64, 3))


def batch(size=64, count=2, seed=0):
    return np.random.default_rng(seed).normal(size=(count, size, size, 3)).astype("float32")


@pytest.mark.parametrize(
    "kwargs, shape",
    [
        (dict(include_top=False), (None, 17, 192)),
        (dict(include_top=False, pooling="token"), (None, 192)),
        (dict(include_top=False, pooling="avg"), (None, 192)),
        (dict(include_top=False, pooling="max"), (None, 192)),
        (dict(include_top=False, pooling_mode="gap"), (None, 16, 192)),
        (dict(pooling_mode="gap", classes=5), (None, 5)),
        (dict(representation_size=64, classes=5), (None, 5)),
    ],
)
def test_heads_and_pooling(kwargs, shape):
    model = keras_nest.ViTTiny16(**SMALL, **kwargs)
    assert model.output_shape == shape
    has_class_token = any(layer.name == "class_token" for layer in model.layers)
    assert has_class_token == (kwargs.get("pooling_mode", "token") == "token")
    assert any(layer.name == "pre_logits" for layer in model.layers) == (
        "representation_size" in kwargs
    )


def test_arguments_reach_the_blocks():
    model = keras_nest.ViTSmall32(drop_path_rate=0.2, gelu="tanh", input_shape=(96, 64, 3))
    blocks = [layer for layer in model.layers if layer.name.startswith("block_")]
    np.testing.assert_allclose([b.drop_path for b in blocks], np.linspace(0, 0.2, 12))
    assert {(b.gelu, b.layer_norm_epsilon, b.num_heads) for b in blocks} == {("tanh", 1e-6, 6)}
    assert model.get_layer("pos_embed").embedding.shape == (1, 1 + 3 * 2, 384)
    # One block of each is enough to see the variant's settings arrive (and quick to build).
    large = keras_nest.ViTLarge16(num_layers=1)
    assert large.get_layer("block_0").dropout == 0.1  # as the original ViT-L
    vit_384 = keras_nest.create_model("vit_base_patch16_384", num_layers=1)
    assert vit_384.input_shape == (None, 384, 384, 3)


def test_attention_scores_equal_timm_attention_maps(tmp_path):
    reference = perturbed_timm("vit_tiny_patch16_224", img_size=64, depth=2, num_classes=10)
    captured = capture_attention(reference, sharpen=2.0)  # ViT's maps sharpen fast
    images = batch()
    torch_logits(reference, images)
    path = save_state_dict(reference, tmp_path / "vit.safetensors")
    model = keras_nest.ViTTiny16(weights=path, num_layers=2, classes=10, input_shape=(64, 64, 3))
    scores = model.get_attention_scores(images)
    assert [s.shape for s in scores] == [m.shape for m in captured] == [(2, 3, 17, 17)] * 2
    for ours, theirs in zip(scores, captured):
        assert max_abs_diff(ours, theirs) < 1e-5
    assert max(float(np.max(m)) for m in captured) > 0.5  # far from uniform (1/17)
    np.testing.assert_allclose(scores[0].sum(-1), 1.0, rtol=1e-5)


def test_gelu_follows_the_weights(tmp_path):
    assert keras_nest.ViTTiny16(**SMALL).get_layer("block_0").gelu == "exact"
    timm_file = save_state_dict(
        perturbed_timm("vit_tiny_patch16_224", img_size=64, depth=1), tmp_path / "t.safetensors"
    )
    assert keras_nest.ViTTiny16(weights=timm_file, **SMALL).get_layer("block_0").gelu == "exact"


def test_preprocess_and_decode():
    images = np.array([[[[0.0, 127.5, 255.0]]]], "float32")
    np.testing.assert_allclose(preprocess_input(images)[0, 0, 0], [-1.0, 0.0, 1.0], atol=1e-6)
    top = decode_predictions(np.eye(1000)[[207]], top=1)[0][0]
    assert top[1] == "golden_retriever"


@pytest.fixture(scope="module")
def i21k_checkpoint(tmp_path_factory):
    """A one-layer ViT-Ti with a pre-logits layer and 50 classes, as an original .npz."""
    source = perturbed_vit(
        "vit_tiny_patch16_224", seed=5, representation_size=192, classes=50, gelu="tanh", **SMALL
    )
    path = tmp_path_factory.mktemp("vit") / "ViT-Ti_16.npz"
    save_npz(source, path)
    return source, str(path)


def _publish(tmp_path, monkeypatch, checkpoint, sha256):
    """Serves ``checkpoint`` as vit_tiny_patch16_224's "imagenet21k" (50 classes here)."""
    table = VIT["vit_tiny_patch16_224"].weights
    return publish_locally(monkeypatch, tmp_path, table, "imagenet21k", checkpoint, sha256, 50)


def test_named_weights_download_and_load(i21k_checkpoint, tmp_path, monkeypatch):
    source, path = i21k_checkpoint
    cached = _publish(tmp_path, monkeypatch, path, sha256=None)
    images = batch()
    build = dict(weights="imagenet21k", classifier_activation=None, **SMALL)

    # With its pre-logits layer the file reproduces the source exactly; classes
    # and GELU (tanh, as the original code) follow the named weights.
    full = keras_nest.ViTTiny16(representation_size=192, **build)
    assert cached.exists() and full.output_shape == (None, 50)
    assert full.get_layer("block_0").gelu == "tanh"
    assert max_abs_diff(to_numpy(full(images)), to_numpy(source(images))) < 1e-5

    # Without one, pre_logits is dropped as the original fine-tuning code does.
    plain = keras_nest.ViTTiny16(**build)
    assert not any(layer.name == "pre_logits" for layer in plain.layers)
    features = keras.Model(source.input, source.get_layer("norm").output)
    backbone = keras_nest.ViTTiny16(weights="imagenet21k", include_top=False, **SMALL)
    assert max_abs_diff(to_numpy(backbone(images)), to_numpy(features(images))) < 1e-5

    # Another class count: backbone and pre-logits load, the head stays fresh (zeros).
    fresh = keras_nest.ViTTiny16(representation_size=192, classes=7, **build)
    assert fresh.output_shape == (None, 7)
    assert not np.any(to_numpy(fresh.get_layer("predictions").kernel))
    np.testing.assert_array_equal(
        to_numpy(fresh.get_layer("pre_logits").kernel),
        to_numpy(source.get_layer("pre_logits").kernel),
    )


def test_named_weights_with_wrong_hash_are_refused(i21k_checkpoint, tmp_path, monkeypatch):
    _, path = i21k_checkpoint
    _publish(tmp_path, monkeypatch, path, "0" * 64)
    with pytest.raises(ValueError, match="does not match its sha256"):
        keras_nest.ViTTiny16(weights="imagenet21k", **SMALL)


def test_every_published_file_is_in_the_original_bucket():
    for variant, preset in VIT.items():
        assert variant in keras_nest.list_models()
        for name, published in preset.weights.items():
            assert published.url.startswith("https://storage.googleapis.com/vit_models/")
            assert published.url.endswith(".npz")
            assert published.classes == (21843 if name == "imagenet21k" else 1000)
