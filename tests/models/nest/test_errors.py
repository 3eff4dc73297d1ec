"""Bad input gets a ValueError that says what is wrong, never a silent wrong answer."""

import numpy as np
import pytest

import keras_nest
from keras_nest.data import load_digits
from tests.models.nest.reference import FLAX_FIXTURES, flax_fixture

SMALL = dict(FLAX_FIXTURES["nest_tiny_s16_32_reduced"])


def test_unknown_model_name_suggests_close_ones():
    with pytest.raises(ValueError, match=r"Unknown model 'nest_tiny_cfar'.*nest_tiny_cifar"):
        keras_nest.create_model("nest_tiny_cfar")


def test_unknown_weights_name():
    with pytest.raises(ValueError, match=r"\['imagenet'\].*got 'imagenet21k'"):
        keras_nest.NestTiny(weights="imagenet21k")
    with pytest.raises(ValueError, match="none published"):
        keras_nest.NestTinyCifar(weights="imagenet")


def test_missing_weights_file():
    with pytest.raises(ValueError, match="existing file; got '/no/such/file.safetensors'"):
        keras_nest.NestTiny(weights="/no/such/file.safetensors")


@pytest.mark.parametrize("shape", [(225, 225, 3), (224, 200, 3)])
def test_wrong_image_size_names_the_sizes_that_work(shape):
    with pytest.raises(ValueError, match=r"multiples of 16 .* 224 \(the default\), 208 or 240"):
        keras_nest.NestTiny(input_shape=shape)


def test_unknown_image_size():
    with pytest.raises(ValueError, match="every size known"):
        keras_nest.NestTinyCifar(input_shape=(None, None, 3))


def test_pretrained_weights_need_three_channels():
    path, _ = flax_fixture("nest_tiny_s16_32_reduced")
    with pytest.raises(ValueError, match="3 input channels"):
        keras_nest.Nest(**SMALL, weights=path, input_shape=(32, 32, 1))
    assert keras_nest.Nest(**SMALL, input_shape=(32, 32, 1)).input_shape == (None, 32, 32, 1)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(pooling="sum"), "pooling must be one of"),
        (dict(classes=0), "classes must be a positive integer"),
        (dict(gelu="erf"), "gelu must be one of"),
        (dict(attention="local"), "attention must be one of"),
        (dict(num_heads=(3, 3)), "one value per level"),
        (dict(num_heads=5), "do not split into 5 heads"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        keras_nest.Nest(**dict(SMALL, **kwargs))


def _fixture_state(tmp_path, edit):
    path, arrays = flax_fixture("nest_tiny_s16_32_reduced")
    state = {k: v for k, v in arrays.items() if k.startswith("params/")}
    edit(state)
    out = tmp_path / "edited.npz"
    np.savez(out, **state)
    return str(out)


def test_checkpoint_that_does_not_fit_lists_every_problem(tmp_path):
    def edit(state):
        del state["params/EncoderNDBlock_3/MlpBlock_0/Dense_1/bias"]
        state["params/Extra_0/kernel"] = np.zeros(3, "float32")
        state["params/LayerNorm_0/scale"] = np.ones(7, "float32")

    path = _fixture_state(tmp_path, edit)
    with pytest.raises(ValueError) as error:
        keras_nest.Nest(**SMALL, weights=path)
    message = str(error.value)
    assert "does not fit nest" in message and path in message
    assert "missing from the checkpoint (1):\n    level_3_block_0/mlp/fc2/bias" in message
    assert "unexpected in the checkpoint (1):\n    Extra_0/kernel" in message
    assert "mis-shaped (checkpoint vs model) (1):\n    norm/gamma: (7,) vs (48,)" in message


def test_checkpoint_of_another_architecture(tmp_path):
    path, _ = flax_fixture("nest_tiny_s16_32_reduced")
    with pytest.raises(ValueError) as error:
        keras_nest.Nest(**dict(SMALL, depths=(1, 1, 1, 2), embed_dims=96), weights=path)
    message = str(error.value)
    assert "level_3_block_1/attn/qkv/kernel" in message  # missing: one layer more
    assert "patch_embed/proj/kernel: (1, 1, 3, 48) vs (1, 1, 3, 96)" in message


def test_head_of_another_class_count_is_reported_for_a_checkpoint_path():
    path, _ = flax_fixture("nest_tiny_s16_32_reduced")
    with pytest.raises(ValueError, match=r"predictions/kernel: \(48, 10\) vs \(48, 5\)"):
        keras_nest.Nest(**dict(SMALL, classes=5), weights=path)
    # Without a head the checkpoint's head is left out.
    keras_nest.Nest(**SMALL, include_top=False, weights=path)


def test_unreadable_checkpoint(tmp_path):
    path = tmp_path / "broken.safetensors"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="Could not read checkpoint"):
        keras_nest.Nest(**SMALL, weights=str(path))


def test_checkpoint_of_another_model(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, **{"conv1.weight": np.zeros((2, 2), "float32")})
    with pytest.raises(ValueError, match="Not a NesT checkpoint"):
        keras_nest.Nest(**SMALL, weights=str(path))


def test_keras_weights_of_another_model(tmp_path):
    path = str(tmp_path / "other.weights.h5")
    keras_nest.Nest(**dict(SMALL, depths=(1, 1, 1, 2))).save_weights(path)
    with pytest.raises(ValueError, match="other.weights.h5' does not fit nest"):
        keras_nest.Nest(**SMALL, weights=path)


def test_digits_size_must_be_a_multiple_of_8():
    with pytest.raises(ValueError, match="multiple of 8"):
        load_digits(image_size=30)
