"""Sine models and the position table a checkpoint holds.

The authors' sine models keep their sinusoid as a frozen parameter, so their
published sine checkpoints store it. Since their commit "Fixed the
`num_tokens` issue" (January 2022) their ``_cct`` and ``_cvt`` (and ``_vit_lite``
until February 2023) take ``positional_embedding`` without passing it on, so
``cct_2_3x2_32_sine()`` there trains a learnable table: a sine model must
refuse it rather than drop it.
"""

import numpy as np
import pytest

import keras_nest
from tests.conftest import outputs_of
from tests.models.compact.reference import perturb, reference_model
from tests.models.compact.test_parity import TOLERANCE
from tests.models.parity import assert_matches
from tests.torch_references import save_state_dict, torch_logits

pytestmark = pytest.mark.core

# (sine model, its learnable twin, reference arguments): a table without and
# one with a class-token row.
CASES = {
    "cct": ("cct_2_3x2_32_sine", "cct_2_3x2_32", dict(family="cct", layers=2, conv_layers=2)),
    "vit_lite": ("vit_lite_2_4_32_sine", "vit_lite_2_4_32", dict(family="vit_lite", layers=2)),
}


def _images():
    return np.random.default_rng(4).normal(size=(2, 32, 32, 3)).astype("float32")


@pytest.mark.parametrize("case", sorted(CASES))
def test_learned_table_is_refused_and_its_variant_named(case, tmp_path):
    sine, learnable, args = CASES[case]
    # What the authors' current *_sine function trains: a learnable table.
    reference = perturb(reference_model(**args, positional_embedding="learnable"))
    path = save_state_dict(reference, tmp_path / f"{sine}.pth")
    with pytest.raises(ValueError) as error:
        keras_nest.create_model(sine, weights=path)
    message = str(error.value)
    assert "learnable position embedding, not a sine model's" in message
    assert f"load it into '{learnable}'" in message
    assert 'positional_embedding="learnable"' in message

    # The variant it names runs the checkpoint as the reference does.
    model = keras_nest.create_model(learnable, weights=path, classifier_activation=None)
    expected = torch_logits(reference, _images())
    assert expected.std() > 1.0
    label = f"{sine} checkpoint in {learnable}"
    assert_matches(label, outputs_of(model, _images()), expected, TOLERANCE)


def test_custom_sine_build_is_told_to_build_a_learnable_one(tmp_path):
    reference = reference_model("cct", 2, "learnable", conv_layers=2)
    path = save_state_dict(reference, tmp_path / "cct.pth")
    with pytest.raises(ValueError, match='To use it, pass positional_embedding="learnable"'):
        keras_nest.CCT(
            2, 2, 1, 128, conv_layers=2, positional_embedding="sine", classes=10, weights=path
        )


@pytest.mark.parametrize("table", ["stored", "absent"])
def test_sine_checkpoints_load(table, tmp_path):
    import torch

    reference = perturb(reference_model("cct", 2, "sine", conv_layers=2))
    state = {key: value.contiguous() for key, value in reference.state_dict().items()}
    if table == "absent":
        del state["classifier.positional_emb"]
    path = str(tmp_path / "cct_2_3x2_32_sine.pth")
    torch.save(state, path)
    model = keras_nest.create_model("cct_2_3x2_32_sine", weights=path, classifier_activation=None)
    expected = torch_logits(reference, _images())
    logits = outputs_of(model, _images())
    assert_matches(f"cct_2_3x2_32_sine, table {table}", logits, expected, TOLERANCE)
