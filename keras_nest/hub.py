"""Sharing a model the keras-hub way: a preset folder to upload, and back to a model.

A preset is a folder of three files, as keras-hub writes them:

- ``config.json``: the model's Keras serialization
  (``keras.saving.serialize_keras_object``) without its ``compile_config`` and
  ``build_config`` entries, indented by 4;
- ``model.weights.h5``: the model's weights (``Model.save_weights``), without
  any optimizer state;
- ``metadata.json``: ``keras_version``, ``keras_nest_version``,
  ``parameter_count`` and ``date_saved`` ("YYYY-MM-DD@HH:MM:SS"), where
  keras-hub writes ``keras_hub_version`` and its task names.

``keras_hub.upload_preset("hf://user/model", folder)`` or
``("kaggle://user/model/keras/variant", folder)`` uploads it as it is, and
:func:`from_preset` loads it back from the folder or from such a handle.
"""

import copy
import datetime
import importlib
import json
import os

import keras

from keras_nest import models  # noqa: F401 (registers every class a preset may name)
from keras_nest.version import __version__

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"

# The hubs' handles, "{scheme}://...", and the client that downloads from each (as keras-hub).
_DOWNLOADERS = {"hf": "huggingface_hub", "kaggle": "kagglehub"}
_DATE_FORMAT = "%Y-%m-%d@%H:%M:%S"


def save_to_preset(model, preset_dir):
    """Writes ``model`` as a keras-hub style preset folder (see the module docstring).

    The folder is made if needed; the three files in it are replaced. Any
    ``keras.Model`` whose classes are registered with Keras saves (every
    keras_nest model, a fine-tuned one with a new head too). The config is
    rebuilt into a model before anything is written, so a model that would
    not load back fails here, with Keras's error.

    Args:
        model: a built ``keras.Model``.
        preset_dir: the folder to write.

    Returns:
        ``preset_dir``.

    Raises:
        ValueError: when ``model`` is not a built ``keras.Model``.
    """
    if not isinstance(model, keras.Model):
        raise ValueError(f"save_to_preset takes a keras.Model; got {type(model).__name__}.")
    if not model.built:
        raise ValueError(f"Model {model.name!r} is not built: call it on a batch first.")
    config = keras.saving.serialize_keras_object(model)
    for key in ("compile_config", "build_config"):
        _drop_key(config, key)
    # The rebuilt copy holds the weights and no optimizer, as a keras-hub backbone does.
    rebuilt = keras.saving.deserialize_keras_object(copy.deepcopy(config))  # which it empties
    rebuilt.set_weights(model.get_weights())
    os.makedirs(preset_dir, exist_ok=True)
    _write_json(os.path.join(preset_dir, CONFIG_FILE), config)
    rebuilt.save_weights(os.path.join(preset_dir, WEIGHTS_FILE))
    metadata = {
        "keras_version": keras.version(),
        "keras_nest_version": __version__,
        "parameter_count": model.count_params(),
        "date_saved": datetime.datetime.now().strftime(_DATE_FORMAT),
    }
    _write_json(os.path.join(preset_dir, METADATA_FILE), metadata)
    return preset_dir


def from_preset(preset):
    """The model a :func:`save_to_preset` folder holds: its architecture and weights.

    Args:
        preset: a preset folder, or a handle of an uploaded one:
            ``"hf://{user}/{model}"`` (downloaded with ``huggingface_hub``) or
            ``"kaggle://{user}/{model}/keras/{variant}[/{version}]"`` (with
            ``kagglehub``), file by file, into their caches.

    Returns:
        The model, of the class it was saved as (``keras_nest.TransformerModel``,
        ``keras_nest.DVTModel``, ...), uncompiled.

    Raises:
        ValueError: for a folder that does not exist or lacks a preset's files,
            and for another library's preset (keras-hub's own, a Hugging Face
            transformers or timm checkpoint), naming what it is.
        ImportError: for a handle whose client (huggingface_hub, kagglehub) is
            not installed. A file missing on the hub raises the client's error.
    """
    preset = os.fspath(preset)
    config = _read_json(_fetch(preset, CONFIG_FILE))
    _check_config(preset, config)
    _check_metadata(preset, config, _read_json(_fetch(preset, METADATA_FILE)))
    weights = _fetch(preset, WEIGHTS_FILE)
    model = keras.saving.deserialize_keras_object(config)
    model.load_weights(weights)
    return model


def _fetch(preset, filename):
    """The local path of ``filename`` of ``preset``, downloaded first for a hub handle."""
    scheme, separator, handle = preset.partition("://")
    if not separator:
        if os.path.isfile(preset):
            raise ValueError(f"{preset!r} is a file; a preset is a folder (see save_to_preset).")
        if not os.path.isdir(preset):
            raise ValueError(f"No preset folder {preset!r}.")
        path = os.path.join(preset, filename)
        if not os.path.isfile(path):
            raise ValueError(
                f"{preset!r} is not a model preset: it has no {filename} (a preset holds "
                f"{CONFIG_FILE}, {WEIGHTS_FILE} and {METADATA_FILE}; see "
                "keras_nest.hub.save_to_preset)."
            )
        return path
    if scheme not in _DOWNLOADERS:
        raise ValueError(f"Unknown preset handle {preset!r}: use hf://, kaggle:// or a folder.")
    package = _DOWNLOADERS[scheme]
    try:
        client = importlib.import_module(package)
    except ImportError:
        raise ImportError(f"Loading {preset!r} needs {package}: pip install {package}") from None
    if scheme == "hf":
        return client.hf_hub_download(repo_id=handle, filename=filename)
    return client.model_download(handle, filename)


def _check_config(preset, config):
    """Raises a ValueError naming the format unless ``config`` is a Keras serialization."""
    if "registered_name" in config and isinstance(config.get("config"), dict):
        return
    if "model_type" in config:
        kind = f"a Hugging Face transformers checkpoint ({config['model_type']!r})"
    elif "architecture" in config:
        kind = (
            f"a timm checkpoint ({config['architecture']!r}; keras_nest's constructors "
            "load timm's NesT and ViT weights with weights=<its .safetensors file>)"
        )
    else:
        kind = "not a Keras model's serialization"
    raise ValueError(f"{preset!r} is not a keras_nest preset: its {CONFIG_FILE} is {kind}.")


def _check_metadata(preset, config, metadata):
    """Raises a ValueError unless ``metadata`` says :func:`save_to_preset` wrote the preset."""
    if "keras_nest_version" in metadata:
        return
    if "keras_hub_version" in metadata:
        raise ValueError(
            f"{preset!r} is a keras-hub preset (keras_hub {metadata['keras_hub_version']}, "
            f"class {config['registered_name']!r}): load it with keras_hub, e.g. "
            "keras_hub.models.Backbone.from_preset."
        )
    raise ValueError(
        f"{preset!r} is not a keras_nest preset: its {METADATA_FILE} has no keras_nest_version."
    )


def _drop_key(config, key):
    """Removes ``key`` from the nested dicts of ``config``, in place (as keras-hub does)."""
    config.pop(key, None)
    for value in config.values():
        if isinstance(value, dict):
            _drop_key(value, key)


def _read_json(path):
    """The JSON value in the file at ``path``; a ValueError naming the file if it is not JSON."""
    with open(path, encoding="utf-8") as file:
        try:
            return json.load(file)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} is not valid JSON: {error}.") from None


def _write_json(path, value):
    with open(path, "w", encoding="utf-8") as file:
        json.dump(value, file, indent=4)
