"""The keras.applications surface of the Compact Transformers."""

import keras
import numpy as np
import pytest

import keras_nest
from keras_nest.models.compact import preprocess_input
from keras_nest.presets.compact import COMPACT
from tests.conftest import max_abs_diff, outputs_of, publish_locally, to_numpy
from tests.models.compact.reference import perturb, reference_model
from tests.models.compact.test_parity import TOLERANCE
from tests.models.parity import assert_matches
from tests.torch_references import capture_attention, save_state_dict, torch_logits

FAMILIES = ("cct_", "cvt_", "vit_lite_")


def test_registry_has_every_authors_variant():
    names = set(keras_nest.list_models())
    for base in (
        "cct_2_3x2_32",
        "cct_4_3x2_32",
        "cct_6_3x1_32",
        "cct_6_3x2_32",
        "cct_7_3x1_32",
        "cct_7_3x2_32",
        "cct_7_7x2_224",
        "cct_14_7x2_224",
        "cct_14_7x2_384",
    ):
        assert {base, base + "_sine"} <= names
    for layers in (2, 4, 6, 7):
        for family in ("vit_lite", "cvt"):
            assert {f"{family}_{layers}_4_32", f"{family}_{layers}_4_32_sine"} <= names
    assert {"cct_7_3x1_32_c100", "cct_7_3x1_32_sine_c100", "cct_14_7x2_384_fl"} <= names


@pytest.mark.parametrize(
    "name, classes, size",
    [
        ("cct_7_3x1_32_c100", 100, 32),
        ("cct_14_7x2_384_fl", 102, 384),
        ("cct_7_7x2_224_sine", 102, 224),
        ("vit_lite_6_4_32", 10, 32),
    ],
)
def test_variant_defaults(name, classes, size):
    model = keras_nest.create_model(name)
    assert model.output_shape == (None, classes) and model.input_shape == (None, size, size, 3)


def test_authors_defaults_and_overrides():
    model = keras_nest.create_model("cct_7_3x1_32", drop_path_rate=0.2, attention_dropout=0.0)
    blocks = [layer for layer in model.layers if layer.name.startswith("block_")]
    np.testing.assert_allclose([b.drop_path for b in blocks], np.linspace(0, 0.2, 7))
    assert {b.attention_dropout for b in blocks} == {0.0}
    assert {(b.qkv_bias, b.norm_residual, b.layer_norm_epsilon) for b in blocks} == {
        (False, True, 1e-5)
    }
    default = keras_nest.create_model("cct_7_3x1_32")
    assert default.get_layer("block_6").drop_path == pytest.approx(0.1)
    assert default.get_layer("block_0").attention_dropout == 0.1


@pytest.mark.parametrize(
    "name, pooling, shape",
    [
        ("cct_2_3x2_32", None, (None, 64, 128)),
        ("cct_2_3x2_32", "avg", (None, 128)),
        ("cct_2_3x2_32", "max", (None, 128)),
        ("cct_2_3x2_32", "seq", (None, 128)),
        ("vit_lite_2_4_32", None, (None, 65, 128)),
        ("vit_lite_2_4_32", "token", (None, 128)),
    ],
)
def test_headless_outputs(name, pooling, shape):
    model = keras_nest.create_model(name, include_top=False, pooling=pooling)
    assert model.output_shape == shape
    assert not any(layer.name == "predictions" for layer in model.layers)


def test_other_input_sizes_and_embeddings():
    assert keras_nest.create_model("cct_7_3x1_32", input_shape=(48, 40, 3)).get_layer(
        "pos_embed"
    ).embedding.shape == (1, 24 * 20, 256)
    sine = keras_nest.create_model("cct_2_3x2_32_sine", input_tensor=keras.Input((64, 64, 3)))
    assert sine(np.zeros((1, 64, 64, 3), "float32")).shape == (1, 10)
    none = keras_nest.create_model("cvt_2_4_32", positional_embedding="none")
    assert not any(layer.name == "pos_embed" for layer in none.layers)


def test_sine_table_is_the_authors():
    from vit_pytorch.cct import sinusoidal_embedding

    model = keras_nest.create_model("vit_lite_2_4_32_sine")
    table = model.get_layer("pos_embed").table
    assert table.shape == (65, 128)
    assert max_abs_diff(table, sinusoidal_embedding(65, 128)[0].numpy()) < 1e-6


def test_preprocess_input_uses_the_data_set_statistics():
    images = np.full((1, 2, 2, 3), 255.0, "float32")
    expected = (1 - np.array([0.4914, 0.4822, 0.4465])) / np.array([0.2470, 0.2435, 0.2616])
    np.testing.assert_allclose(preprocess_input(images, "cifar10")[0, 0, 0], expected, rtol=1e-6)


@pytest.fixture(scope="module")
def cifar_checkpoint(tmp_path_factory):
    """A perturbed cct_7_3x1_32 with 100 classes, saved as the authors' .pth."""
    reference = perturb(reference_model("cct", 7, "learnable", classes=100), seed=4)
    path = save_state_dict(reference, tmp_path_factory.mktemp("cct") / "cct_7.pth")
    return reference, path


def _publish(tmp_path, monkeypatch, checkpoint, sha256):
    """Serves ``checkpoint`` as cct_7_3x1_32's "cifar100" weights; returns its cache path."""
    table = COMPACT["cct_7_3x1_32"].weights
    return publish_locally(monkeypatch, tmp_path, table, "cifar100", checkpoint, sha256, 100)


def test_named_weights_download_and_load(cifar_checkpoint, tmp_path, monkeypatch):
    reference, path = cifar_checkpoint
    cached = _publish(tmp_path, monkeypatch, path, sha256=None)
    images = np.random.default_rng(0).normal(size=(2, 32, 32, 3)).astype("float32")

    # classes follows the named weights: 100 for "cifar100".
    model = keras_nest.create_model("cct_7_3x1_32", weights="cifar100", classifier_activation=None)
    assert model.output_shape == (None, 100)
    assert cached.exists()
    expected = torch_logits(reference, images)
    assert_matches("cct_7_3x1_32 by name", outputs_of(model, images), expected, TOLERANCE)

    # Another class count: the backbone loads (SeqPool included), the head is fresh.
    fresh = keras_nest.create_model("cct_7_3x1_32", weights="cifar100", classes=10)
    backbone = keras_nest.create_model(
        "cct_7_3x1_32", weights="cifar100", include_top=False, pooling="seq"
    )
    fresh_backbone = keras.Model(fresh.input, fresh.get_layer("seq_pool").output)
    np.testing.assert_allclose(
        outputs_of(backbone, images), outputs_of(fresh_backbone, images), atol=1e-5
    )
    assert fresh.output_shape == (None, 10)


def test_named_weights_with_wrong_hash_are_refused(cifar_checkpoint, tmp_path, monkeypatch):
    _, path = cifar_checkpoint
    _publish(tmp_path, monkeypatch, path, "0" * 64)
    with pytest.raises(ValueError, match="does not match its sha256"):
        keras_nest.create_model("cct_7_3x1_32", weights="cifar100")


def _torch_resize(grid, size):
    import torch
    import torch.nn.functional as F

    square = torch.from_numpy(grid).permute(0, 3, 1, 2)
    resized = F.interpolate(square, size=size, mode="bilinear", align_corners=False)
    return resized.permute(0, 2, 3, 1).numpy()


@pytest.mark.parametrize("shape, grid", [((48, 48, 3), (24, 24)), ((24, 40, 3), (12, 20))])
def test_position_embedding_follows_the_authors_resize(cifar_checkpoint, shape, grid):
    reference, path = cifar_checkpoint
    model = keras_nest.create_model("cct_7_3x1_32", weights=path, classes=100, input_shape=shape)
    source = reference.classifier.positional_emb.detach().numpy().reshape(1, 16, 16, 256)
    expected = _torch_resize(source, grid).reshape(1, -1, 256)
    got = to_numpy(model.get_layer("pos_embed").embedding)
    assert got.shape == expected.shape and max_abs_diff(got, expected) < 1e-5


def test_vit_lite_resize_keeps_the_class_token(tmp_path):
    reference = perturb(reference_model("vit_lite", 2, "learnable"))
    path = save_state_dict(reference, tmp_path / "vit_lite.pth")
    model = keras_nest.create_model("vit_lite_2_4_32", weights=path, input_shape=(48, 48, 3))
    source = reference.classifier.positional_emb.detach().numpy()
    got = to_numpy(model.get_layer("pos_embed").embedding)
    assert got.shape == (1, 1 + 12 * 12, 128)
    np.testing.assert_array_equal(got[:, :1], source[:, :1])
    expected = _torch_resize(source[:, 1:].reshape(1, 8, 8, 128), (12, 12)).reshape(1, -1, 128)
    assert max_abs_diff(got[:, 1:], expected) < 1e-5


def test_attention_scores_equal_vit_pytorch_attention_maps(tmp_path):
    reference = perturb(reference_model("cct", 2, "learnable", conv_layers=2), seed=2)
    captured = capture_attention(reference)
    images = np.random.default_rng(2).normal(size=(2, 32, 32, 3)).astype("float32")
    torch_logits(reference, images)
    path = save_state_dict(reference, tmp_path / "cct_2.pth")
    model = keras_nest.create_model("cct_2_3x2_32", weights=path)
    scores = model.get_attention_scores(images)
    assert [s.shape for s in scores] == [m.shape for m in captured] == [(2, 2, 64, 64)] * 2
    for ours, theirs in zip(scores, captured):
        assert max_abs_diff(ours, theirs) < 1e-5
    assert max(float(np.max(m)) for m in captured) > 0.5  # far from uniform (1/64)
    attention = keras_nest.attention_model(model)
    assert isinstance(attention, keras.Model) and len(attention.outputs) == 2
