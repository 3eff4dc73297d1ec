"""The authors' state-dict layout (spec A8) converts, in every wrapping users have."""

import numpy as np
import pytest

import keras_nest
from tests.conftest import outputs_of
from tests.models.compact.reference import perturb, reference_model
from tests.models.compact.test_parity import TOLERANCE
from tests.models.parity import assert_matches
from tests.torch_references import torch_logits

pytestmark = pytest.mark.core


def _block_keys(index):
    prefix = f"classifier.blocks.{index}."
    return [
        (prefix + "pre_norm.weight", (256,)),
        (prefix + "pre_norm.bias", (256,)),
        (prefix + "self_attn.qkv.weight", (768, 256)),
        (prefix + "self_attn.proj.weight", (256, 256)),
        (prefix + "self_attn.proj.bias", (256,)),
        (prefix + "linear1.weight", (512, 256)),
        (prefix + "linear1.bias", (512,)),
        (prefix + "norm1.weight", (256,)),
        (prefix + "norm1.bias", (256,)),
        (prefix + "linear2.weight", (256, 512)),
        (prefix + "linear2.bias", (256,)),
    ]


# cct_7_3x1_32 as the authors' checkpoints store it: 85 tensors, 3,760,139 values.
AUTHORS_LAYOUT = (
    [
        ("tokenizer.conv_layers.0.0.weight", (256, 3, 3, 3)),
        ("classifier.positional_emb", (1, 256, 256)),
        ("classifier.attention_pool.weight", (1, 256)),
        ("classifier.attention_pool.bias", (1,)),
    ]
    + [key for index in range(7) for key in _block_keys(index)]
    + [
        ("classifier.norm.weight", (256,)),
        ("classifier.norm.bias", (256,)),
        ("classifier.fc.weight", (10, 256)),
        ("classifier.fc.bias", (10,)),
    ]
)


@pytest.fixture(scope="module")
def authors_checkpoint():
    """``(state dict, reference model)`` of vit-pytorch's cct_7_3x1_32, perturbed."""
    reference = perturb(reference_model("cct", 7, "learnable"))
    state = {key: value.clone() for key, value in reference.state_dict().items()}
    return state, reference


def test_layout_is_the_authors(authors_checkpoint):
    # vit-pytorch's module tree gives the authors' keys, shapes and order.
    state, _ = authors_checkpoint
    assert [(k, tuple(v.shape)) for k, v in state.items()] == AUTHORS_LAYOUT
    assert sum(v.numel() for v in state.values()) == 3_760_139


@pytest.mark.parametrize("wrapping", ["plain", "training_checkpoint", "data_parallel"])
def test_authors_state_dict_loads_and_matches(authors_checkpoint, wrapping, tmp_path):
    import torch

    state, reference = authors_checkpoint
    if wrapping == "training_checkpoint":  # as timm's train.py saves them
        state = {"epoch": 299, "arch": "cct_7_3x1_32", "state_dict": state}
    elif wrapping == "data_parallel":
        state = {f"module.{key}": value for key, value in state.items()}
    path = str(tmp_path / "cct_7_3x1_32.pth")
    torch.save(state, path)

    model = keras_nest.create_model("cct_7_3x1_32", weights=path, classifier_activation=None)
    images = np.random.default_rng(2).normal(size=(2, 32, 32, 3)).astype("float32")
    expected = torch_logits(reference, images)
    assert_matches(f"cct_7_3x1_32 ({wrapping})", outputs_of(model, images), expected, TOLERANCE)
