"""Torch checkpoints in the zip format, read with the standard library and numpy.

``torch.save`` (torch >= 1.6) writes a zip archive: ``<name>/data.pkl``, a
pickle of the saved object in which each tensor's storage is a persistent
reference to raw bytes in ``<name>/data/<key>``. :func:`load_torch_zip`
unpickles it with an unpickler that imports nothing and knows only what a
checkpoint needs:

- tensors (``torch._utils._rebuild_tensor_v2`` and ``_rebuild_parameter``,
  on typed storages: float64/32/16, bfloat16, int64/32/16/8, uint8, bool,
  complex) become numpy arrays, rebuilt from storage, offset, shape and strides;
- ``collections.OrderedDict``, ``set``, ``frozenset`` and ``bytes``;
- an object of any other class pickled as class + state (timm's ``train.py``
  stores its ``argparse.Namespace``) becomes an inert :class:`PickledObject`.

Any other call the pickle asks for (``os.system`` through ``__reduce__``) is
refused before anything runs, and so are tensors of other kinds (float8 and
the unsigned types, which torch stores untyped; quantized or sparse tensors).
"""

import collections
import functools
import pickle
import zipfile

import ml_dtypes
import numpy as np

_STORAGE_DTYPES = {
    "DoubleStorage": np.float64,
    "FloatStorage": np.float32,
    "HalfStorage": np.float16,
    "BFloat16Storage": ml_dtypes.bfloat16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
    "ComplexFloatStorage": np.complex64,
    "ComplexDoubleStorage": np.complex128,
}

# The first object of torch's legacy (pre-1.6, non-zip) format.
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


class PickledObject:
    """An object of a class the reader does not import, kept inert.

    Attributes:
        args: what the pickle passed to the class's ``__new__``.
        state: what the pickle set as its state (``vars()`` of an
            ``argparse.Namespace``), or None.
    The class's own name is ``type(obj).__module__`` and ``type(obj).__qualname__``.
    """

    def __new__(cls, *args):
        obj = super().__new__(cls)
        obj.args, obj.state = args, None
        return obj

    def __init__(self, *args):
        # Only reached when the pickle calls the class (REDUCE), never when it
        # rebuilds an object from class and state (NEWOBJ).
        raise pickle.UnpicklingError(_refusal(type(self).__module__, type(self).__qualname__))

    def __setstate__(self, state):
        self.state = state

    def __repr__(self):
        return f"<{type(self).__module__}.{type(self).__qualname__}: {self.state!r}>"


def _refusal(module, name):
    """Why a call to ``module.name`` is refused."""
    if module.split(".")[0] == "torch":
        return f"it holds {module}.{name}(...), which this reader cannot rebuild without torch"
    return (
        f"it asks to call {module}.{name}, which a checkpoint of tensors never needs; "
        "refused without running it (the file may be malicious)"
    )


class _StorageType:
    """A torch typed-storage class (``torch.FloatStorage``), by name."""

    def __init__(self, name):
        self.name = name


class _Storage:
    """A storage: the flat array of one ``data/<key>`` record, ``(numel,)``."""

    def __init__(self, array):
        self.array = array


def _rebuild_tensor(storage, offset, size, stride, *_):
    """A tensor as a numpy array of shape ``size``: the elements of ``storage``
    from ``offset`` on, ``stride`` elements apart along each axis (a copy)."""
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError("a tensor without a storage")
    size, stride = tuple(size), tuple(stride)
    numbers = (offset, *size, *stride)
    if len(size) != len(stride) or any(not isinstance(n, int) or n < 0 for n in numbers):
        raise pickle.UnpicklingError(f"a tensor of bad shape {size} or strides {stride}")
    flat = storage.array
    if 0 in size:
        return np.zeros(size, flat.dtype)
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if last >= flat.size:
        raise pickle.UnpicklingError(f"a tensor of shape {size} reaches past its storage")
    view = np.lib.stride_tricks.as_strided(
        flat[offset:], shape=size, strides=[s * flat.itemsize for s in stride], writeable=False
    )
    return view.copy()


def _rebuild_parameter(data, *_):
    """A ``torch.nn.Parameter``: its tensor."""
    return data


def _latin1_bytes(text, encoding="latin1"):
    """``bytes``, as pickle protocol 2 stores them: ``_codecs.encode(text, "latin1")``."""
    if encoding != "latin1":
        raise pickle.UnpicklingError(_refusal("_codecs", "encode"))
    return text.encode("latin1")


_CALLABLES = {
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
    ("torch._utils", "_rebuild_parameter_with_state"): _rebuild_parameter,
    ("collections", "OrderedDict"): collections.OrderedDict,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("_codecs", "encode"): _latin1_bytes,
}


class _CheckpointUnpickler(pickle.Unpickler):
    """Unpickles ``data.pkl``, reading storages with ``read_storage(dtype, key, numel)``."""

    def __init__(self, file, read_storage):
        super().__init__(file)
        self._read_storage = read_storage

    def find_class(self, module, name):
        module = "builtins" if module == "__builtin__" else module  # Python 2 names, protocol 2
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        if (module, name) in _CALLABLES:
            # A fresh object per load: nothing the pickle does to it outlives the load.
            return functools.partial(_CALLABLES[(module, name)])
        return type(name, (PickledObject,), {"__module__": module, "__qualname__": name})

    def persistent_load(self, pid):
        if not (
            isinstance(pid, tuple)
            and len(pid) == 5
            and pid[0] == "storage"
            and isinstance(pid[1], _StorageType)
            and pid[1].name in _STORAGE_DTYPES
            and isinstance(pid[4], int)
            and pid[4] >= 0
        ):
            kind = pid[1] if isinstance(pid, tuple) and len(pid) > 1 else pid
            kind = getattr(kind, "__qualname__", None) or getattr(kind, "name", None) or kind
            raise pickle.UnpicklingError(
                f"it holds a tensor on a storage of type {str(kind)[:80]}, which this reader "
                "cannot rebuild without torch"
            )
        return self._read_storage(np.dtype(_STORAGE_DTYPES[pid[1].name]), str(pid[2]), pid[4])


def _record_prefix(archive):
    """The ``<name>/`` folder of ``data.pkl`` in a torch zip archive."""
    pickles = [n for n in archive.namelist() if n.endswith("/data.pkl") and n.count("/") == 1]
    if len(pickles) != 1:
        raise ValueError("it is a zip archive but not a torch checkpoint (no <name>/data.pkl)")
    return pickles[0][: -len("data.pkl")]


def load_torch_zip(path):
    """The object ``torch.save`` wrote to ``path``, every tensor a numpy array.

    Tensors keep their dtype (bfloat16 as ``ml_dtypes.bfloat16``) and shape;
    views become arrays of their own.

    Raises:
        zipfile.BadZipFile: if ``path`` is not a zip archive.
        ValueError, pickle.UnpicklingError: if it is not a torch checkpoint, or
            asks for anything but tensors and plain data.
    """
    with zipfile.ZipFile(path) as archive:
        prefix = _record_prefix(archive)
        if f"{prefix}byteorder" in archive.namelist():
            if archive.read(f"{prefix}byteorder").strip() != b"little":
                raise ValueError("its tensors are big-endian, which this reader does not read")
        storages = {}

        def read_storage(dtype, key, numel):
            if key not in storages:
                data = archive.read(f"{prefix}data/{key}")
                if len(data) < numel * dtype.itemsize:
                    raise ValueError(f"its storage data/{key} is shorter than it says")
                storages[key] = _Storage(np.frombuffer(data, dtype, count=numel))
            return storages[key]

        with archive.open(f"{prefix}data.pkl") as file:
            return _CheckpointUnpickler(file, read_storage).load()


class _NoGlobals(pickle.Unpickler):
    def find_class(self, module, name):
        raise pickle.UnpicklingError(f"{module}.{name}")


def is_legacy_torch(path):
    """True if ``path`` starts as torch's legacy (non-zip) format does."""
    with open(path, "rb") as file:
        try:
            return _NoGlobals(file).load() == _LEGACY_MAGIC
        except Exception:
            return False
