"""Checkpoint files to a flat ``{name: numpy array}`` dict, whatever their format.

- ``.safetensors``: with the safetensors package (numpy only).
- ``.pth`` / ``.pt`` / ``.bin`` / ``.pth.tar``: a torch state dict, read without
  torch (:mod:`keras_nest.weights.torch_pickle`) from torch's zip format, with
  torch only from its legacy format; a ``{"state_dict": ...}``, ``{"model": ...}``
  or ``{"model_state_dict": ...}`` wrapper is unwrapped.
- ``.npz``: the arrays under their own keys.
- anything else is tried as a Flax msgpack checkpoint (the official NesT
  ``ckpt.*`` files, vit_jax's ``train.py`` checkpoints), read without flax;
  nested keys are joined with "/".
"""

import os
import zipfile

import ml_dtypes
import numpy as np

from keras_nest.weights.torch_pickle import is_legacy_torch, load_torch_zip

TORCH_SUFFIXES = (".pth", ".pt", ".bin", ".pth.tar")
_WRAPPERS = ("state_dict", "model", "model_state_dict")


def read_checkpoint(path):
    """Reads the checkpoint at ``path`` into ``{name: np.ndarray}``.

    Raises:
        ValueError: if the file cannot be read as any supported format.
        ImportError: if its format needs a package that is not installed.
    """
    return _reading(path, _read_flat)


def read_torch_file(path):
    """The whole object a torch checkpoint at ``path`` holds, tensors as numpy arrays.

    Wrappers stay as they are (``{"model_state_dict": ..., "dynamic_threshold":
    ...}``); tensors keep their dtype (bfloat16 as ``ml_dtypes.bfloat16``);
    objects of other classes (an ``argparse.Namespace``) are inert
    :class:`~keras_nest.weights.torch_pickle.PickledObject` s.

    Raises:
        ValueError: if the file is no torch checkpoint, or asks to run code.
        ImportError: if it is in torch's legacy format and torch is not installed.
    """
    return _reading(path, _torch_object)


def _reading(path, read):
    """``read(path)``, any failure but a missing package a ValueError naming the file."""
    path = os.fspath(path)
    try:
        return read(path)
    except ImportError:
        raise
    except Exception as error:
        raise ValueError(f"Could not read checkpoint {path!r}: {error}") from None


def _read_flat(path):
    if path.endswith(".safetensors"):
        return _read_safetensors(path)
    if path.endswith(TORCH_SUFFIXES):
        return _read_torch(path)
    if path.endswith(".npz"):
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    return _read_flax(path)


def _read_safetensors(path):
    from safetensors.numpy import load_file

    return load_file(path)


def _read_torch(path):
    """A torch state dict, unwrapped, as ``{name: float32 array}``."""
    state = _torch_object(path)
    for wrapper in _WRAPPERS:
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict):
        raise ValueError(f"it holds a {type(state).__name__}, not a state dict")
    others = [name for name, value in state.items() if not isinstance(value, np.ndarray)]
    if others:
        raise ValueError(f"it is not a state dict: {others[:5]} are not tensors")
    return {name: array.astype(np.float32) for name, array in state.items()}


def _torch_object(path):
    if zipfile.is_zipfile(path):
        return load_torch_zip(path)
    if is_legacy_torch(path):
        return _load_legacy_torch(path)
    raise ValueError("it is neither in torch's zip format nor in its legacy format")


def _load_legacy_torch(path):
    """A file of torch's legacy (non-zip) format, through torch itself."""
    try:
        import torch
    except ImportError:
        raise ImportError(
            f"{path!r} is in torch's legacy (non-zip) format, which only torch reads: "
            "pip install torch, or save it again with a torch of version 1.6 or later."
        ) from None

    def to_numpy(value):
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu()
            if value.dtype == torch.bfloat16:
                return value.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
            return value.numpy()
        if isinstance(value, dict):
            return {key: to_numpy(item) for key, item in value.items()}
        if isinstance(value, (list, tuple)):
            items = [to_numpy(item) for item in value]
            return items if isinstance(value, list) else tuple(items)
        return value

    return to_numpy(torch.load(path, map_location="cpu", weights_only=True))


def _read_flax(path):
    """A Flax msgpack checkpoint (``flax.serialization``'s format), read without flax."""
    import msgpack

    with open(path, "rb") as file:
        tree = msgpack.unpackb(
            file.read(), ext_hook=_flax_extension, raw=False, strict_map_key=False
        )
    if not isinstance(tree, dict):
        raise ValueError("it is not a Flax checkpoint (a msgpack map)")
    return flatten_tree(_joined_chunks(tree))


def _flax_extension(code, data):
    """A msgpack extension of flax.serialization: 1 an array, 3 a numpy scalar (each the
    msgpack of ``(shape, dtype name, C-order bytes)``), 2 a Python complex."""
    import msgpack

    if code in (1, 3):
        shape, dtype, buffer = msgpack.unpackb(data, raw=True)
        dtype = ml_dtypes.bfloat16 if dtype == b"bfloat16" else np.dtype(dtype.decode())
        array = np.frombuffer(buffer, dtype=dtype).reshape(shape)
        return array if code == 1 else array[()]
    if code == 2:
        return complex(*msgpack.unpackb(data))
    return msgpack.ExtType(code, data)


def _joined_chunks(tree):
    """``tree`` with each array over 1 GiB, which flax writes in chunks
    (``{"__msgpack_chunked_array__": True, "chunks": ..., "shape": ...}``), joined."""
    if not isinstance(tree, dict):
        return tree
    if tree.get("__msgpack_chunked_array__"):
        chunks = [tree["chunks"][str(i)] for i in range(len(tree["chunks"]))]
        shape = tuple(tree["shape"][str(i)] for i in range(len(tree["shape"])))
        return np.concatenate(chunks).reshape(shape)
    return {key: _joined_chunks(value) for key, value in tree.items()}


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
