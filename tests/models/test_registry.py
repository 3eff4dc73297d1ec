"""Every registered name builds at its default size, with the published parameter count,
and the public names, the command line and the registry agree."""

import numpy as np
import pytest

import keras_nest
from keras_nest import cli, presets
from keras_nest.models import compact, nest, vit
from keras_nest.models.registry import model_record
from keras_nest.preprocessing import NORMALIZATIONS
from tests.conftest import shapes_only

pytestmark = pytest.mark.core


@pytest.mark.parametrize("name", keras_nest.list_models())
def test_every_name_builds_at_its_default_size(name):
    record = model_record(name)
    preset = record.preset
    with shapes_only():
        model = keras_nest.create_model(name)
    count = model.count_params()
    print(f"{name}: {count:,} parameters")
    assert model.name == name
    assert model.input_shape == (None, *record.input_shape)
    if preset.family == "dvt":  # one prediction per exit
        assert model.output_shape == [(None, preset.classes)] * 3
    else:
        assert model.output_shape == (None, preset.classes)
    if preset.params is not None:
        assert count == preset.params
    # Every layer built: otherwise Keras's JAX predict() first runs the model eagerly.
    assert not [layer.name for layer in model._flatten_layers() if not layer.built]
    assert preset.preprocessing in NORMALIZATIONS
    # The public constructor is the registered one.
    if preset.title:
        constructor = getattr(keras_nest, preset.title)
        assert constructor is record.constructor is getattr(keras_nest.models, preset.title)
        assert constructor.__name__ == preset.title


def test_every_published_count_is_checked():
    # The README's tables: 6 NesT, 15 ViT, 20 Compact Transformers and 3 DVT counts.
    counted = [p.family for p in presets.PRESETS.values() if p.params is not None]
    families = ("nest", "vit", "compact", "dvt")
    assert tuple(counted.count(family) for family in families) == (6, 15, 20, 3)


def test_the_command_line_lists_the_registered_names(capsys):
    assert presets.names() == keras_nest.list_models()
    assert cli.main(["models"]) == 0
    assert capsys.readouterr().out.split() == keras_nest.list_models()


def test_public_names_follow_from_the_presets():
    builders = {"Nest", "ViT", "CCT", "CVT", "ViTLite", "DVT"}
    titles = {p.title for p in presets.PRESETS.values() if p.title}
    assert set(presets.public_names()) == builders | titles
    assert set(keras_nest.models.__all__) <= set(keras_nest.__all__)
    for name in keras_nest.__all__:
        assert getattr(keras_nest, name) is not None
    for name in presets.public_names():
        assert getattr(keras_nest, name) is getattr(keras_nest.models, name)


def test_records_preprocess_as_the_family_functions():
    images = np.arange(12, dtype="float32").reshape(1, 2, 2, 3) * 20
    for name, expected in [
        ("nest_tiny", nest.preprocess_input(images)),
        ("vit_base_patch16_384", vit.preprocess_input(images)),
        ("cct_7_3x1_32_c100", compact.preprocess_input(images, "cifar100")),
        ("cct_14_7x2_384_fl", compact.preprocess_input(images, "flowers102")),
    ]:
        np.testing.assert_allclose(model_record(name).preprocess_input(images), expected)


def test_unknown_name_suggests_close_ones():
    with pytest.raises(ValueError, match=r"Unknown model 'vit_tiny'.*vit_tiny_patch16_224"):
        model_record("vit_tiny")
