"""Putting converted weights into a model: download, match, resize, report.

A family converter turns a checkpoint into ``{variable path: array}`` keyed by
the model's own ``variable.path`` names; :func:`assign_weights` then checks the
whole dict against the model and raises one ValueError that lists every
missing, unexpected and mis-shaped tensor before anything is assigned.
"""

import collections
import math
import os
import tempfile
import zipfile

import h5py
import keras
import numpy as np

CACHE_SUBDIR = "models/keras_nest"
CACHE_DIR = None  # None: the Keras home, ~/.keras or $KERAS_HOME
KERAS_ARCHIVE_WEIGHTS = "model.weights.h5"  # the weights inside a .keras file
# The formats a weights file can have, by its name (see file_format).
KERAS_MODEL = "keras_model"  # a whole saved model, .keras
KERAS_WEIGHTS = "keras_weights"  # model.save_weights, .weights.h5
CHECKPOINT = "checkpoint"  # anything else: a family converter reads it


def file_format(path):
    """:data:`KERAS_MODEL`, :data:`KERAS_WEIGHTS` or :data:`CHECKPOINT`, by the file's name."""
    path = os.fspath(path)
    if path.endswith(".keras"):
        return KERAS_MODEL
    if path.endswith(".weights.h5"):
        return KERAS_WEIGHTS
    return CHECKPOINT


def cache_home():
    """The folder ``keras.utils.get_file`` caches in: ``CACHE_DIR``, else the Keras
    home (``$KERAS_HOME`` or ``~/.keras``); where that folder is not writable,
    ``.keras`` in the temporary folder, as Keras does."""
    home = CACHE_DIR or os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    home = os.path.expanduser(home)
    if os.access(home, os.W_OK):
        return home
    return os.path.join("/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir(), ".keras")


def fetch(weights_file):
    """Downloads (or finds in the Keras cache) a published checkpoint; returns its path.

    Raises:
        ValueError: if the file's hash does not match the published one.
        ConnectionError: if it is not cached and cannot be downloaded; the
            message gives the cache path to put it at by hand.
    """
    home = cache_home()
    try:
        return keras.utils.get_file(
            fname=weights_file.filename,
            origin=weights_file.url,
            file_hash=weights_file.sha256,
            hash_algorithm="sha256",
            cache_dir=home,
            cache_subdir=CACHE_SUBDIR,
        )
    except ValueError as error:
        raise ValueError(
            f"The download of {weights_file.filename} from {weights_file.url} does not "
            f"match its sha256 {weights_file.sha256}; the file is corrupt or has "
            f"changed upstream. ({error})"
        ) from error
    except Exception as error:
        cached = os.path.join(home, CACHE_SUBDIR, weights_file.filename)
        raise ConnectionError(
            f"Could not download {weights_file.filename} ({error}). Either download "
            f"{weights_file.url} yourself and put it at {cached}, or pass "
            "weights=<path of the downloaded file>."
        ) from None


def resize_linear(grid, size, align_corners=True):
    """Resizes the two middle axes of ``(B, h, w, C)`` to ``size`` linearly.

    ``align_corners=True``: corner samples map to corner samples, as
    ``scipy.ndimage.zoom(order=1)`` (the official NesT and ViT code).
    ``align_corners=False``: pixel centres map to pixel centres, as PyTorch's
    ``F.interpolate(mode="bilinear")`` (the Compact Transformers code).
    """

    def along(x, axis, new):
        old = x.shape[axis]
        if old == new:
            return x
        if align_corners:
            coords = np.linspace(0.0, old - 1.0, new) if new > 1 else np.zeros(1)
        else:
            coords = np.maximum((np.arange(new) + 0.5) * (old / new) - 0.5, 0.0)
        low = np.floor(coords).astype(int)
        high = np.minimum(low + 1, old - 1)
        shape = [1] * x.ndim
        shape[axis] = new
        frac = (coords - low).reshape(shape)
        return np.take(x, low, axis) * (1 - frac) + np.take(x, high, axis) * frac

    grid = np.asarray(grid, dtype=np.float64)
    return along(along(grid, 1, size[0]), 2, size[1]).astype(np.float32)


def token_grid_resizer(grid, extra_tokens, align_corners, path="pos_embed/embedding"):
    """A ``resize`` for :func:`assign_weights` of a ``(1, extra + h*w, D)`` position embedding.

    The checkpoint's first ``extra_tokens`` rows (a class token's) are kept as
    they are; the rest, a square grid, is resized linearly to ``grid``
    (``(h, w)``, which may be rectangular) with :func:`resize_linear`.
    Returns None (a mismatch to report) for anything else.
    """

    def resize(name, array, target_shape):
        if name != path or array.ndim != 3 or array.shape[2] != target_shape[2]:
            return None
        tokens, grid_tokens = array[:, :extra_tokens], array[0, extra_tokens:]
        edge = math.isqrt(len(grid_tokens))
        if edge**2 != len(grid_tokens):
            return None
        square = grid_tokens.reshape(1, edge, edge, -1)
        resized = resize_linear(square, grid, align_corners).reshape(1, -1, array.shape[2])
        return np.concatenate([tokens, resized], axis=1)

    return resize


def describe_mismatch(missing, unexpected, misshaped):
    """One readable message for everything that does not fit."""

    def listing(title, names):
        return [f"  {title} ({len(names)}):"] + [f"    {n}" for n in names]

    lines = []
    if missing:
        lines += listing("missing from the checkpoint", missing)
    if unexpected:
        lines += listing("unexpected in the checkpoint", unexpected)
    if misshaped:
        lines += listing(
            "mis-shaped (checkpoint vs model)",
            [f"{n}: {tuple(a)} vs {tuple(b)}" for n, a, b in misshaped],
        )
    return "\n".join(lines)


def variable_paths(model):
    """``{path: variable}`` of ``model``'s weights.

    A path is ``variable.path``; the variables of a nested model (a DVT's
    exits, each a model of its own with the same layer names) are prefixed
    with that model's name: ``exit1/block_0/attn/qkv/kernel``.
    """
    paths = {}
    for layer in model.layers:
        prefix = f"{layer.name}/" if isinstance(layer, keras.Model) else ""
        paths.update({prefix + v.path: v for v in layer.weights})
    return paths


def assign_weights(model, converted, source, ignore=(), resize=None):
    """Assigns ``converted`` (``{variable path: array}``) to ``model``'s weights.

    Args:
        model: the Keras model.
        converted: arrays keyed by the model's :func:`variable_paths`.
        source: what the arrays came from, for the error message.
        ignore: variable paths left as they are on both sides (a fresh head).
        resize: optional ``resize(path, array, target_shape)`` returning the
            array resized to the target shape, or None where it cannot be.

    Raises:
        ValueError: listing every missing, unexpected and mis-shaped tensor.
    """
    variables = {path: v for path, v in variable_paths(model).items() if path not in ignore}
    converted = {k: v for k, v in converted.items() if k not in ignore}
    missing = [name for name in variables if name not in converted]
    unexpected = [name for name in converted if name not in variables]
    misshaped = []
    values = {}
    for name, variable in variables.items():
        if name not in converted:
            continue
        array = np.asarray(converted[name])
        target = tuple(variable.shape)
        if array.shape != target and resize is not None:
            array = resize(name, array, target)
        if array is None or array.shape != target:
            misshaped.append((name, np.shape(converted[name]), target))
            continue
        values[name] = array
    if missing or unexpected or misshaped:
        raise ValueError(
            f"The checkpoint {source} does not fit {model.name}:\n"
            + describe_mismatch(missing, unexpected, misshaped)
        )
    for name, array in values.items():
        variables[name].assign(array.astype(variables[name].dtype))


def stored_shapes(path, source):
    """The tensor shapes in a ``.weights.h5`` at ``path``: ``(model, optimizer)``.

    Keras stores a model's variables under its layers (and its own ``vars``)
    and, once compiled and trained, the optimizer's under the top-level group
    ``optimizer``. Returns a Counter of the model's shapes and the number of
    optimizer tensors. ``source`` names the file in the error.

    Raises:
        ValueError: if the file is no readable HDF5 file.
    """
    model, optimizer = collections.Counter(), 0
    try:
        with h5py.File(path, "r") as file:
            for name, item in file.items():
                shapes = _dataset_shapes(item)
                if name == "optimizer":
                    optimizer += len(shapes)
                else:
                    model.update(shapes)
    except OSError as error:
        raise ValueError(f"{source!r} is not a readable Keras weights file ({error}).") from None
    return model, optimizer


def _dataset_shapes(item):
    """Shapes of the HDF5 dataset ``item``, or of every dataset under the group ``item``."""
    if isinstance(item, h5py.Dataset):
        return [item.shape]
    shapes = []
    item.visititems(lambda _, x: shapes.append(x.shape) if isinstance(x, h5py.Dataset) else None)
    return shapes


def load_keras_weights(model, path, source=None):
    """``model.load_weights(path)``, refusing a file made for another model.

    Keras matches ``.weights.h5`` entries by layer structure and skips what it
    does not find, so a file from a deeper model would load silently; the
    model's tensors in the file are therefore checked (count and shapes)
    first. An optimizer's state, saved after training, is left out.
    ``source`` names the file in errors (default: ``path``).
    """
    source = path if source is None else source
    stored, optimizer = stored_shapes(path, source)
    expected = collections.Counter(tuple(v.shape) for v in model.weights)
    if stored != expected:
        extra = sorted((stored - expected).elements())
        absent = sorted((expected - stored).elements())
        besides = f" (and {optimizer} of an optimizer's state, which are not loaded)"
        raise ValueError(
            f"The Keras weights file {source!r} does not fit {model.name}: it holds "
            f"{sum(stored.values())} weight tensors{besides if optimizer else ''}, the model "
            f"{sum(expected.values())}. Shapes only in the file: {extra[:10]}; only in the "
            f"model: {absent[:10]}."
        )
    try:
        model.load_weights(path)
    except ValueError as error:
        raise ValueError(
            f"The Keras weights file {source!r} does not fit {model.name}: {error}"
        ) from None


def load_keras_model_weights(model, path):
    """Loads the weights of a whole saved model (``.keras``) into ``model``.

    A ``.keras`` file is a zip archive holding ``model.weights.h5``, which is
    checked and loaded as :func:`load_keras_weights` does.
    """
    with tempfile.TemporaryDirectory() as folder:
        try:
            with zipfile.ZipFile(path) as archive:
                weights = archive.extract(KERAS_ARCHIVE_WEIGHTS, folder)
        except (zipfile.BadZipFile, KeyError) as error:
            raise ValueError(
                f"{path!r} is not a readable .keras file (a zip archive holding "
                f"{KERAS_ARCHIVE_WEIGHTS}): {error}"
            ) from None
        load_keras_weights(model, weights, source=path)


def load_weights(model, source, *, convert, include_top, classes, head_paths, resize=None):
    """Loads the resolved ``source`` into a freshly built model, whatever form it takes.

    Args:
        model: the model, built with random weights.
        source: a :class:`~keras_nest.weights.source.WeightsSource`: nothing to
            load, published weights (downloaded here), a ``.keras`` or
            ``.weights.h5`` file, or a checkpoint (read once, by the source).
        convert: ``convert(state) -> {variable path: array}`` for checkpoints.
        include_top, classes: the model's head; the checkpoint's head is left
            out when the model has none, or when published weights were
            trained for another number of classes (the head stays fresh).
        head_paths: variable paths of the classifier.
        resize: passed to :func:`assign_weights`.
    """
    if not source.pretrained:
        return
    path = source.path()
    if source.format == KERAS_MODEL:
        load_keras_model_weights(model, path)
        return
    if source.format == KERAS_WEIGHTS:
        load_keras_weights(model, path)
        return
    try:
        converted = convert(source.state())
    except ValueError as error:
        raise ValueError(f"{path!r}: {error}") from None
    skip_head = not include_top or source.classes not in (None, classes)
    ignore = tuple(head_paths) if skip_head else ()
    assign_weights(model, converted, source=path, ignore=ignore, resize=resize)
