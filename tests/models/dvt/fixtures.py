"""The authors' reduced DVT cascades (``tests/fixtures/dvt``): their weights, input and logits.

Made with blackfeather-wang/Dynamic-Vision-Transformer's own code (not on
PyPI); see ``tests/fixtures/dvt/*.json`` for each configuration.
"""

import functools
import json

import numpy as np

import keras_nest
from tests.conftest import fixture_path

FORMS = ("deit", "t2t")


@functools.cache
def config(form):
    with open(fixture_path("dvt", f"dvt_{form}_reduced.json")) as file:
        return json.load(file)


@functools.cache
def arrays(form):
    """``(state dict, input NHWC, [exit logits])`` of the authors' cascade."""
    with np.load(fixture_path("dvt", f"dvt_{form}_reduced.npz")) as data:
        state = {
            key.removeprefix("state_dict/"): data[key]
            for key in data.files
            if key.startswith("state_dict/")
        }
        logits = [data[f"logits_exit{k}"] for k in (1, 2, 3)]
        return state, data["input_nhwc"], logits


def build(form, **kwargs):
    """Our cascade in the fixture's configuration (logits out)."""
    cfg = config(form)
    arguments = dict(
        backbone=form,
        embed_dim=cfg["embed_dim"],
        depth=cfg["depth"],
        num_heads=cfg["num_heads"],
        mlp_ratio=cfg["mlp_ratio"],
        qkv_bias=cfg["qkv_bias"],
        layer_norm_epsilon=cfg["layer_norm_eps"],
        classes=cfg["num_classes"],
        classifier_activation=None,
    )
    return keras_nest.DVT(**{**arguments, **kwargs})


def save_checkpoint(form, path, **extras):
    """The fixture's state dict saved as the authors save a checkpoint (torch.save of
    ``{"model_state_dict": ..., **extras}``, numpy extras as tensors); returns ``path``."""
    import torch

    state, _, _ = arrays(form)
    def tensor(value):
        return torch.from_numpy(np.ascontiguousarray(value))

    extras = {k: tensor(v) if isinstance(v, np.ndarray) else v for k, v in extras.items()}
    tensors = {key: tensor(value) for key, value in state.items()}
    torch.save({"model_state_dict": tensors, **extras}, str(path))
    return str(path)
