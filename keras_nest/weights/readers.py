"""Checkpoint files to a flat ``{name: numpy array}`` dict, whatever their format.

- ``.safetensors``: with the safetensors package (numpy only).
- ``.pth`` / ``.pt`` / ``.bin``: a torch state dict (torch imported only here);
  a ``{"state_dict": ...}`` or ``{"model": ...}`` wrapper is unwrapped.
- ``.npz``: the arrays under their own keys.
- anything else is tried as a Flax msgpack checkpoint (the official NesT
  ``ckpt.*`` files) when flax is installed; nested keys are joined with "/".
"""

import os

import numpy as np

TORCH_SUFFIXES = (".pth", ".pt", ".bin")


def read_checkpoint(path):
    """Reads the checkpoint at ``path`` into ``{name: np.ndarray}``.

    Raises:
        ValueError: if the file cannot be read as any supported format.
    """
    path = os.fspath(path)
    try:
        if path.endswith(".safetensors"):
            return _read_safetensors(path)
        if path.endswith(TORCH_SUFFIXES):
            return _read_torch(path)
        if path.endswith(".npz"):
            with np.load(path, allow_pickle=False) as archive:
                return {key: archive[key] for key in archive.files}
        return _read_flax(path)
    except ImportError:
        raise
    except Exception as error:
        raise ValueError(f"Could not read checkpoint {path!r}: {error}") from error


def _read_safetensors(path):
    from safetensors.numpy import load_file

    return load_file(path)


def _read_torch(path):
    try:
        import torch
    except ImportError as error:
        raise ImportError(
            f"Reading {path!r} needs torch (pip install torch); "
            "a .safetensors file needs only numpy and safetensors."
        ) from error
    state = torch.load(path, map_location="cpu", weights_only=True)
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    return {name: tensor.float().numpy() for name, tensor in state.items()}


def _read_flax(path):
    try:
        from flax import serialization
    except ImportError as error:
        raise ImportError(
            f"{path!r} is not .safetensors, .pth, .bin or .npz; reading it as an "
            "official Flax checkpoint needs flax (pip install flax)."
        ) from error
    with open(path, "rb") as file:
        tree = serialization.msgpack_restore(file.read())
    return flatten_tree(tree)


def flatten_tree(tree, prefix=""):
    """``{"a": {"b": x}} -> {"a/b": np.asarray(x)}``."""
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten_tree(value, name + "/"))
        else:
            flat[name] = np.asarray(value)
    return flat
