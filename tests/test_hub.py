"""keras_nest.hub: keras-hub style presets written, accepted by keras-hub, and loaded back."""

import datetime
import json
import os
import shutil
import sys
import types

import h5py
import keras
import numpy as np
import pytest

import keras_nest
from tests.conftest import assert_same_weights
from tests.export.models import images, small_model

PRESET_FILES = {"config.json", "model.weights.h5", "metadata.json"}


@pytest.fixture(scope="module", params=["nest", "dvt"])
def saved(request, tmp_path_factory):
    """``(model, folder)``: a small perturbed model, compiled with built optimizer
    variables (which the preset must leave out), and its preset folder."""
    model = small_model(request.param)
    model.compile(optimizer="adamw", loss="sparse_categorical_crossentropy")
    model.optimizer.build(model.trainable_variables)
    folder = tmp_path_factory.mktemp(f"{request.param}_preset")
    assert keras_nest.save_to_preset(model, folder) == folder
    return model, folder


def assert_same_predictions(model, other):
    """Equal outputs on the same images (a DVT cascade's list of exits too)."""
    batch = images()
    ours, theirs = model.predict(batch, verbose=0), other.predict(batch, verbose=0)
    for mine, loaded in zip(keras.tree.flatten(ours), keras.tree.flatten(theirs), strict=True):
        np.testing.assert_array_equal(mine, loaded)


def keras_hub_preset_utils():
    """keras-hub's preset module, or a skip naming why not."""
    pytest.importorskip("keras_hub", reason="keras-hub is not installed (pip install keras-hub)")
    from keras_hub.src.utils import preset_utils

    return preset_utils


@pytest.mark.core
def test_round_trip_gives_the_same_model(saved):
    model, folder = saved
    assert set(os.listdir(folder)) == PRESET_FILES
    loaded = keras_nest.from_preset(folder)
    assert type(loaded) is type(model) and loaded.name == model.name
    assert getattr(loaded, "optimizer", None) is None  # the model, not its training
    assert_same_weights(model, loaded)
    assert_same_predictions(model, loaded)


@pytest.mark.core
def test_preset_files_are_keras_hubs(saved):
    model, folder = saved
    with open(folder / "config.json") as file:
        config = json.load(file)
    expected = keras.saving.serialize_keras_object(model)
    assert "compile_config" in expected and "build_config" in expected  # dropped, as keras-hub
    del expected["compile_config"], expected["build_config"]
    assert config == json.loads(json.dumps(expected))
    assert config["registered_name"] == f"keras_nest>{type(model).__name__}"
    with open(folder / "metadata.json") as file:
        metadata = json.load(file)
    assert metadata.keys() == {
        "keras_version",
        "keras_nest_version",
        "parameter_count",
        "date_saved",
    }
    assert metadata["keras_version"] == keras.version()
    assert metadata["keras_nest_version"] == keras_nest.__version__
    assert metadata["parameter_count"] == model.count_params()
    saved_at = datetime.datetime.strptime(metadata["date_saved"], "%Y-%m-%d@%H:%M:%S")
    assert abs(datetime.datetime.now() - saved_at) < datetime.timedelta(hours=1)
    with h5py.File(folder / "model.weights.h5", "r") as weights:
        assert "optimizer" not in weights and "layers" in weights


@pytest.mark.core
def test_keras_hub_loads_and_uploads_the_preset(saved, monkeypatch, tmp_path):
    """keras-hub's own loader rebuilds the model, and upload_preset's checks pass it to the
    (patched-out) upload clients; a broken copy is refused."""
    preset_utils = keras_hub_preset_utils()
    import keras_hub

    model, folder = saved
    loader = preset_utils.get_preset_loader(str(folder))
    assert_same_predictions(model, loader.load_backbone(keras.Model, load_weights=True))

    uploads = []
    kaggle = types.SimpleNamespace(model_upload=lambda handle, path: uploads.append((handle, path)))
    monkeypatch.setattr(preset_utils, "kagglehub", kaggle)
    keras_hub.upload_preset("kaggle://someone/nest/keras/small", str(folder))
    assert uploads == [("someone/nest/keras/small", str(folder))]

    def upload_folder(repo_id, folder_path):  # keras-hub writes a model card for the upload
        with open(os.path.join(folder_path, "README.md")) as card:
            uploads.append((repo_id, sorted(os.listdir(folder_path)), card.read()))

    hugging_face = types.SimpleNamespace(
        create_repo=lambda repo_id, exist_ok: types.SimpleNamespace(repo_id=repo_id),
        file_exists=lambda repo_id, filename: False,
        upload_folder=upload_folder,
    )
    monkeypatch.setattr(preset_utils, "huggingface_hub", hugging_face)
    keras_hub.upload_preset("hf://someone/nest-small", str(folder))
    repo_id, files, card = uploads[-1]
    assert repo_id == "someone/nest-small" and set(files) == PRESET_FILES | {"README.md"}
    assert f"`{type(model).__name__}` model" in card
    assert set(os.listdir(folder)) == PRESET_FILES  # the card is removed again

    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / "model.weights.h5").unlink()
    with pytest.raises(FileNotFoundError, match="weights file is missing"):
        keras_hub.upload_preset("hf://someone/broken", str(broken))
    (broken / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="invalid json"):
        keras_hub.upload_preset("hf://someone/broken", str(broken))
    assert len(uploads) == 2


def test_handles_download_through_the_hub_clients(saved, monkeypatch):
    """hf:// and kaggle:// fetch each file through huggingface_hub / kagglehub (faked here)."""
    model, folder = saved
    fetched = []

    def serve(handle, filename):
        fetched.append((handle, filename))
        return str(folder / filename)

    hugging_face = types.SimpleNamespace(
        hf_hub_download=lambda repo_id, filename: serve(repo_id, filename)
    )
    monkeypatch.setitem(sys.modules, "huggingface_hub", hugging_face)
    monkeypatch.setitem(sys.modules, "kagglehub", types.SimpleNamespace(model_download=serve))
    assert_same_weights(model, keras_nest.from_preset("hf://someone/nest-small"))
    assert_same_weights(model, keras_nest.from_preset("kaggle://someone/nest/keras/small/2"))
    order = ["config.json", "metadata.json", "model.weights.h5"]
    assert fetched == [("someone/nest-small", name) for name in order] + [
        ("someone/nest/keras/small/2", name) for name in order
    ]


# ----------------------------------------------------------------------------- errors
def write_preset(folder, config, metadata, weights=True):
    """A folder holding the given config.json and metadata.json (None: left out) and an
    empty model.weights.h5."""
    folder.mkdir()
    for name, value in (("config.json", config), ("metadata.json", metadata)):
        if value is not None:
            (folder / name).write_text(value if isinstance(value, str) else json.dumps(value))
    if weights:
        (folder / "model.weights.h5").write_bytes(b"")
    return folder


OUR_CONFIG = {
    "module": "keras_nest.models.transformer_model",
    "class_name": "TransformerModel",
    "config": {},
    "registered_name": "keras_nest>TransformerModel",
}
OUR_METADATA = {"keras_version": "3.15.1", "keras_nest_version": keras_nest.__version__}


def test_a_folder_that_is_not_a_preset(tmp_path):
    with pytest.raises(ValueError, match="No preset folder"):
        keras_nest.from_preset(tmp_path / "nowhere")
    (tmp_path / "model.keras").write_bytes(b"")
    with pytest.raises(ValueError, match="is a file; a preset is a folder"):
        keras_nest.from_preset(tmp_path / "model.keras")
    with pytest.raises(ValueError, match="not a model preset: it has no config.json"):
        keras_nest.from_preset(write_preset(tmp_path / "empty", None, None, weights=False))
    no_metadata = write_preset(tmp_path / "no_metadata", OUR_CONFIG, None)
    with pytest.raises(ValueError, match="it has no metadata.json"):
        keras_nest.from_preset(no_metadata)
    no_weights = write_preset(tmp_path / "no_weights", OUR_CONFIG, OUR_METADATA, weights=False)
    with pytest.raises(ValueError, match="it has no model.weights.h5"):
        keras_nest.from_preset(no_weights)
    broken = write_preset(tmp_path / "broken", "{not json", OUR_METADATA)
    with pytest.raises(ValueError, match=r"config.json is not valid JSON"):
        keras_nest.from_preset(broken)


def test_another_librarys_preset(tmp_path):
    keras_hub_config = {
        "module": "keras_hub.src.models.bert.bert_backbone",
        "class_name": "BertBackbone",
        "config": {"name": "bert_backbone", "vocabulary_size": 30522},
        "registered_name": "keras_hub>BertBackbone",
    }
    keras_hub_metadata = {
        "keras_version": "3.15.1",
        "keras_hub_version": "0.32.0",
        "parameter_count": 4385920,
        "date_saved": "2026-01-02@03:04:05",
        "tasks": ["MaskedLM", "TextClassifier"],
    }
    keras_hub = write_preset(tmp_path / "bert", keras_hub_config, keras_hub_metadata)
    with pytest.raises(ValueError, match=r"keras-hub preset \(keras_hub 0.32.0, .*BertBackbone"):
        keras_nest.from_preset(keras_hub)
    unmarked = write_preset(tmp_path / "unmarked", keras_hub_config, {"keras_version": "3.15.1"})
    with pytest.raises(ValueError, match="metadata.json has no keras_nest_version"):
        keras_nest.from_preset(unmarked)
    transformers = write_preset(tmp_path / "vit", {"model_type": "vit", "hidden_size": 768}, None)
    with pytest.raises(ValueError, match="transformers checkpoint"):
        keras_nest.from_preset(transformers)
    timm = write_preset(
        tmp_path / "timm", {"architecture": "nest_tiny_jx", "num_classes": 1000}, None
    )
    with pytest.raises(ValueError, match="timm checkpoint .*'nest_tiny_jx'"):
        keras_nest.from_preset(timm)
    other = write_preset(tmp_path / "other", {"layers": []}, None)
    with pytest.raises(ValueError, match="not a Keras model's serialization"):
        keras_nest.from_preset(other)


def test_handles_name_what_to_install(monkeypatch):
    for module in ("huggingface_hub", "kagglehub"):
        monkeypatch.setitem(sys.modules, module, None)  # import fails, as when not installed
    with pytest.raises(ImportError, match="needs huggingface_hub: pip install huggingface_hub"):
        keras_nest.from_preset("hf://someone/nest-small")
    with pytest.raises(ImportError, match="needs kagglehub: pip install kagglehub"):
        keras_nest.from_preset("kaggle://someone/nest/keras/small")
    with pytest.raises(ValueError, match="Unknown preset handle 'gs://bucket/nest'"):
        keras_nest.from_preset("gs://bucket/nest")


def test_save_takes_a_built_model(tmp_path):
    with pytest.raises(ValueError, match="takes a keras.Model; got Dense"):
        keras_nest.save_to_preset(keras.layers.Dense(2), tmp_path)
    with pytest.raises(ValueError, match="is not built"):
        keras_nest.save_to_preset(keras.Sequential([keras.layers.Dense(2)]), tmp_path)
    assert not os.listdir(tmp_path)
