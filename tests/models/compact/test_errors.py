"""Compact Transformers: bad input gets a ValueError that says what is wrong."""

import re

import numpy as np
import pytest

import keras_nest
from tests.models.compact.reference import reference_model
from tests.models.nest.reference import flax_fixture
from tests.torch_references import save_state_dict


@pytest.fixture(scope="module")
def cct_2_checkpoint(tmp_path_factory):
    reference = reference_model("cct", 2, "learnable", conv_layers=2)
    return save_state_dict(reference, tmp_path_factory.mktemp("cct") / "cct_2.pth")


def test_unknown_model_name_suggests_close_ones():
    with pytest.raises(ValueError, match=r"'cct_7_3x1'.*cct_7_3x1_32"):
        keras_nest.create_model("cct_7_3x1")


def test_unknown_weights_name():
    with pytest.raises(ValueError, match=r"\['cifar10', 'cifar100'\].*got 'imagenet'"):
        keras_nest.create_model("cct_7_3x1_32", weights="imagenet")
    with pytest.raises(ValueError, match="none published"):
        keras_nest.create_model("cct_2_3x2_32", weights="cifar10")


@pytest.mark.parametrize(
    "name, shape, kwargs, message",
    [
        ("vit_lite_7_4_32", (30, 30, 3), {}, "30x30 image does not split into 4x4 patches"),
        ("cvt_7_4_32", (32, 34, 3), {}, "32x34 image does not split into 4x4 patches"),
        ("cct_14_7x2_224", (6, 6, 3), dict(padding=0), "6x6 image is too small for 2 stage"),
    ],
)
def test_wrong_image_size(name, shape, kwargs, message):
    pattern = f"{name}: .*{message}.*" + re.escape(f"input_shape={shape}")
    with pytest.raises(ValueError, match=pattern):
        keras_nest.create_model(name, input_shape=shape, **kwargs)


def test_pretrained_weights_need_three_channels(cct_2_checkpoint):
    with pytest.raises(ValueError, match="3 input channels"):
        keras_nest.create_model("cct_2_3x2_32", weights=cct_2_checkpoint, input_shape=(32, 32, 1))
    model = keras_nest.create_model("cct_2_3x2_32", input_shape=(32, 32, 1))
    assert model.input_shape == (None, 32, 32, 1)


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        ("cct_2_3x2_32", dict(positional_embedding="rope"), "positional_embedding must be one"),
        ("cct_2_3x2_32", dict(include_top=False, pooling="token"), "pooling must be one of"),
        ("vit_lite_2_4_32", dict(include_top=False, pooling="seq"), "pooling must be one of"),
        ("cct_2_3x2_32", dict(classes=0), "classes must be a positive integer"),
        ("cct_2_3x2_32", dict(num_heads=3), "do not split into 3 heads"),
        ("cct_2_3x2_32", dict(conv_layers=0), "conv_layers must be at least 1"),
    ],
)
def test_bad_arguments(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras_nest.create_model(name, **kwargs)


def test_checkpoint_of_another_variant_lists_every_problem(cct_2_checkpoint):
    # cct_4 has two more blocks; its tokenizer has the same shapes.
    with pytest.raises(ValueError) as error:
        keras_nest.create_model("cct_4_3x2_32", weights=cct_2_checkpoint)
    message = str(error.value)
    assert "does not fit cct_4_3x2_32" in message
    assert "missing from the checkpoint (22)" in message and "block_3/mlp/fc2/bias" in message

    # cct_2 with one convolution: the second stage is unexpected, and the
    # first convolution has 128 outputs instead of 64.
    with pytest.raises(ValueError) as error:
        keras_nest.CCT(2, 2, 1, 128, conv_layers=1, weights=cct_2_checkpoint)
    message = str(error.value)
    assert "tokenizer/conv_1/kernel" in message
    assert "tokenizer/conv_0/kernel: (3, 3, 3, 64) vs (3, 3, 3, 128)" in message


def test_learnable_embedding_against_a_model_without_one(cct_2_checkpoint):
    with pytest.raises(ValueError, match=r"unexpected in the checkpoint \(1\):\n *classifier"):
        keras_nest.create_model(
            "cct_2_3x2_32", positional_embedding="none", weights=cct_2_checkpoint
        )


def test_checkpoint_of_another_family_is_refused():
    path, _ = flax_fixture("nest_tiny_s16_32_reduced")
    with pytest.raises(ValueError, match="Not a Compact Transformers checkpoint"):
        keras_nest.create_model("cct_2_3x2_32", weights=path)


def test_unreadable_checkpoint(tmp_path):
    path = tmp_path / "broken.pth"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="Could not read checkpoint"):
        keras_nest.create_model("cct_2_3x2_32", weights=str(path))


def test_keras_weights_of_another_variant(tmp_path):
    path = str(tmp_path / "cct_2.weights.h5")
    keras_nest.create_model("cct_2_3x2_32").save_weights(path)
    with pytest.raises(ValueError, match="does not fit cct_4_3x2_32"):
        keras_nest.create_model("cct_4_3x2_32", weights=path)


def test_preprocess_input_names_the_data_sets():
    from keras_nest.models.compact import preprocess_input

    with pytest.raises(ValueError, match="cifar10"):
        preprocess_input(np.zeros((1, 2, 2, 3)), dataset="svhn")
