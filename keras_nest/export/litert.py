"""LiteRT (TensorFlow Lite) export through Keras (``model.export(format="litert")``), tensorflow.

    keras_nest.export.export_litert(model, "cct.tflite", quantize="dynamic_int8")
    probabilities, = keras_nest.export.run_litert("cct.tflite", images)   # [(N, C)]

The file holds the model's own forward pass as one signature,
``serving_default``:

- input ``images``: float32 ``(N, H, W, C)``, ``model.input_shape`` with a
  free ``N``: images already prepared
  (:func:`keras_nest.preprocessing.preprocess_input`) at the model's size.
  The file stores the input as ``(1, H, W, C)`` with shape signature
  ``(-1, H, W, C)``: the signature runner (as :func:`run_litert` uses it)
  resizes to the batch it is given; with the tensor interface call
  ``interpreter.resize_tensor_input(index, (N, H, W, C))`` and
  ``allocate_tensors()`` before ``set_tensor``.
- outputs ``output_0``, ``output_1``, ...: the model's outputs in its order,
  float32 ``(N, C)`` each: a classifier gives one (probabilities under the
  default softmax head); a DVT cascade of ``K`` exits gives ``K``, coarse
  to fine.

The file uses LiteRT's built-in ops only (no TensorFlow "select" ops), so
any LiteRT runtime runs it, the ``ai-edge-litert`` interpreter included.
``quantize="dynamic_int8"`` stores the weights as int8 (dynamic-range
quantization: activations stay float, no calibration data), about a third
of the float32 file's size. The jax and torch backends are refused: Keras
converts from TensorFlow graphs only (its torch path needs ``litert-torch``).
"""

import contextlib
import os
import sys
import tempfile

from keras_nest.export.checks import check_model_and_path

QUANTIZATIONS = (None, "dynamic_int8")


def export_litert(model, path, *, quantize=None, verbose=False):
    """Writes ``model`` as a ``.tflite`` file at ``path`` (see the module for its tensors).

    Args:
        model: a built keras_nest model (float32 policy) on the tensorflow
            backend, ``model.input_shape`` ``(None, H, W, C)``.
        path: the ``.tflite`` file to write (str or path-like); its folder must exist.
        quantize: None (float32 weights) or ``"dynamic_int8"`` (int8 weights).
        verbose: print Keras's summary and the converter's log; by default
            the log is shown only if the conversion fails.

    Returns:
        ``path``, as a str.

    Raises:
        ValueError: another backend, an unknown ``quantize``, a model never
            built or not for fixed-size images, a policy other than float32,
            a ``path`` that cannot be written or does not end in ``.tflite``.
    """
    import keras
    import tensorflow as tf

    from keras_nest.layers.compute_paths import exporting

    path = os.fspath(path)
    size = _check_exportable(model, path, quantize)
    signature = [keras.InputSpec(shape=(None, *size), dtype="float32", name="images")]
    options = {"target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}}
    if quantize == "dynamic_int8":
        options["optimizations"] = [tf.lite.Optimize.DEFAULT]
    log = contextlib.nullcontext() if verbose else _native_log_held()
    with exporting(), log:
        model.export(path, format="litert", verbose=verbose, input_signature=signature,
                     **options)  # fmt: skip
    return path


def run_litert(path, images):
    """The outputs of the ``.tflite`` file at ``path`` on ``images``, by the LiteRT interpreter.

    Args:
        path: a file :func:`export_litert` wrote (str or path-like).
        images: ``(N, H, W, C)`` prepared images at the file's size, any ``N``.

    Returns:
        A list of float32 arrays, one ``(N, C)`` per model output, in the model's order.
    """
    import numpy as np

    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as error:
        raise ImportError(
            "run_litert needs the LiteRT interpreter: pip install ai-edge-litert"
        ) from error
    with _native_log_held():  # the interpreter's one-line notice of its CPU delegate
        runner = Interpreter(model_path=os.fspath(path)).get_signature_runner()
        (name,) = runner.get_input_details()
        outputs = runner(**{name: np.asarray(images, "float32")})
    return [outputs[key] for key in sorted(outputs, key=_output_number)]


def _check_exportable(model, path, quantize):
    """The model's ``(H, W, C)`` input size, after the checks ``export_litert`` raises for."""
    import keras

    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise ValueError(
            f"LiteRT export runs on the tensorflow backend, not {backend}: rebuild the model "
            "under KERAS_BACKEND=tensorflow (weights load on any backend)."
        )
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}, got {quantize!r}.")
    if not path.endswith(".tflite"):
        raise ValueError(f"LiteRT files end in .tflite; got {path!r}.")
    return check_model_and_path(model, path, "LiteRT", "model.tflite")


@contextlib.contextmanager
def _native_log_held():
    """Holds back what is written to file descriptor 2 (the C++ converter's and
    interpreter's logs: a dozen INFO and WARNING lines a file); writes it out if
    the block raises."""
    sys.stderr.flush()
    saved = os.dup(2)
    failed = True
    with tempfile.TemporaryFile() as held:
        os.dup2(held.fileno(), 2)
        try:
            yield
            failed = False
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            if failed:
                held.seek(0)
                sys.stderr.write(held.read().decode(errors="replace"))


def _output_number(name):
    """``output_12`` -> 12: the model's output order (a plain sort puts 10 before 2)."""
    return int(name.rsplit("_", 1)[-1])
