"""ViT: bad input gets a ValueError that says what is wrong."""

import re

import numpy as np
import pytest

import keras_nest
from keras_nest.models.vit import save_npz
from tests.models.nest.reference import flax_fixture

SMALL = dict(num_layers=2, input_shape=(64, 64, 3))


@pytest.fixture(scope="module")
def two_layer_npz(tmp_path_factory):
    path = tmp_path_factory.mktemp("vit") / "two_layers.npz"
    save_npz(keras_nest.ViTTiny16(**SMALL), path)
    return str(path)


def test_unknown_names():
    with pytest.raises(ValueError, match=r"'vit_base_patch16'.*vit_base_patch16_224"):
        keras_nest.create_model("vit_base_patch16")
    with pytest.raises(ValueError, match=r"\['imagenet', 'imagenet21k'\].*got 'jft'"):
        keras_nest.ViTBase16(weights="jft")
    with pytest.raises(ValueError, match=r"\['imagenet21k'\].*got 'imagenet'"):
        keras_nest.ViTHuge14(weights="imagenet")


@pytest.mark.parametrize("shape", [(200, 224, 3), (224, 100, 3)])
def test_image_size_must_split_into_patches(shape):
    pattern = "vit_base_patch16_224 takes .* multiples of the patch size 16.*" + re.escape(
        f"input_shape={shape}"
    )
    with pytest.raises(ValueError, match=pattern):
        keras_nest.ViTBase16(input_shape=shape)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(pooling_mode="map"), "pooling_mode must be one of"),
        (dict(gelu="relu"), "gelu must be one of"),
        (dict(include_top=False, pooling="seq"), "pooling must be one of"),
        (dict(include_top=False, pooling_mode="gap", pooling="token"), "pooling must be one of"),
        (dict(classes=-1), "classes must be a positive integer"),
        (dict(num_heads=5), "embed_dim 192 does not split into 5 heads"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras_nest.ViTTiny16(**{**SMALL, **kwargs})


def test_pretrained_weights_need_three_channels(two_layer_npz):
    with pytest.raises(ValueError, match="3 input channels"):
        keras_nest.ViTTiny16(weights=two_layer_npz, num_layers=2, input_shape=(64, 64, 1))


def test_checkpoint_of_another_shape_lists_every_problem(two_layer_npz):
    with pytest.raises(ValueError) as error:
        keras_nest.ViTTiny16(weights=two_layer_npz, num_layers=3, input_shape=(64, 64, 3))
    message = str(error.value)
    assert "does not fit vit_tiny_patch16_224" in message
    assert "missing from the checkpoint (12)" in message and "block_2/attn/qkv/kernel" in message
    with pytest.raises(ValueError) as error:
        keras_nest.ViTSmall16(weights=two_layer_npz, **SMALL)
    assert "block_0/attn/qkv/kernel: (192, 576) vs (384, 1152)" in str(error.value)


def test_class_token_against_a_gap_model(two_layer_npz):
    with pytest.raises(ValueError, match=r"unexpected in the checkpoint \(1\):\n *class_token"):
        keras_nest.ViTTiny16(weights=two_layer_npz, pooling_mode="gap", **SMALL)


def test_attention_with_a_missing_piece_is_listed(two_layer_npz, tmp_path):
    absent = "Transformer/encoderblock_1/MultiHeadDotProductAttention_1/key/bias"
    with np.load(two_layer_npz) as archive:
        partial = {key: archive[key] for key in archive.files if key != absent}
    path = tmp_path / "partial.npz"
    np.savez(path, **partial)
    with pytest.raises(ValueError) as error:
        keras_nest.ViTTiny16(weights=str(path), **SMALL)
    message = str(error.value)
    assert "missing from the checkpoint (4)" in message and "block_1/attn/qkv/kernel" in message
    assert "unexpected in the checkpoint (7)" in message
    assert "Transformer/encoderblock_1/MultiHeadDotProductAttention_1/query/kernel" in message


def test_checkpoint_of_another_family_is_refused():
    path, _ = flax_fixture("nest_tiny_s16_32_reduced")
    with pytest.raises(ValueError, match="Not a ViT checkpoint"):
        keras_nest.ViTTiny16(weights=path, **SMALL)


def test_unreadable_checkpoint(tmp_path):
    path = tmp_path / "broken.npz"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="Could not read checkpoint"):
        keras_nest.ViTTiny16(weights=str(path), **SMALL)


def test_keras_weights_of_another_depth(tmp_path):
    path = str(tmp_path / "vit.weights.h5")
    keras_nest.ViTTiny16(**SMALL).save_weights(path)
    with pytest.raises(ValueError, match="does not fit vit_tiny_patch16_224"):
        keras_nest.ViTTiny16(num_layers=3, input_shape=(64, 64, 3), weights=path)


@pytest.mark.parametrize("name", ["cct_2_3x2_32", "nest_tiny_cifar"])
def test_only_a_vit_saves_as_npz(name, tmp_path):
    with pytest.raises(ValueError, match="only ViT models save as .npz"):
        save_npz(keras_nest.create_model(name), tmp_path / "model.npz")
