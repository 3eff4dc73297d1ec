"""Parity with vit-pytorch's CCT (the authors' block, init and state-dict layout)."""

import numpy as np
import pytest

import keras_nest
from tests.models.compact.reference import perturb, reference_model
from tests.models.parity import assert_torch_parity
from tests.torch_references import save_state_dict

pytestmark = pytest.mark.core
# Measured (jax, tensorflow, torch; AVX-512 and AVX2): up to 8.0e-6.
TOLERANCE = 2e-5

# (keras_nest name, reference arguments): 1- and 2-conv tokenizers, the
# padded stride-2 7x7 convolution, learnable and sine embeddings, and the
# patch tokenizers of CVT and ViT-Lite.
CASES = {
    "cct_7_3x1_32": dict(family="cct", layers=7, positional_embedding="learnable"),
    "cct_2_3x2_32": dict(family="cct", layers=2, positional_embedding="learnable", conv_layers=2),
    "cct_2_3x2_32_sine": dict(family="cct", layers=2, positional_embedding="sine", conv_layers=2),
    "cct_7_7x2_224_sine": dict(
        family="cct",
        layers=7,
        positional_embedding="sine",
        size=224,
        kernel_size=7,
        conv_layers=2,
        classes=102,
    ),
    "cvt_2_4_32": dict(family="cvt", layers=2, positional_embedding="learnable"),
    "vit_lite_2_4_32_sine": dict(family="vit_lite", layers=2, positional_embedding="sine"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_logits_match_vit_pytorch(name, tmp_path):
    args = CASES[name]
    reference = perturb(reference_model(**args))
    path = save_state_dict(reference, tmp_path / "reference.pth")
    model = keras_nest.create_model(name, weights=path, classifier_activation=None)
    size = args.get("size", 32)
    images = np.random.default_rng(1).normal(size=(2, size, size, 3)).astype("float32")
    # The comparison resolves the GELU's form, and a class token left out.
    token = "classifier.class_emb" if hasattr(reference.classifier, "class_emb") else None
    assert_torch_parity(name, model, reference, images, TOLERANCE, 1.0, token)
