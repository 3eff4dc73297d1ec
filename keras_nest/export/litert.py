"""LiteRT (TensorFlow Lite) export through Keras (``model.export(format="litert")``), tensorflow.

    keras_nest.export.export_litert(model, "cct.tflite", quantize="dynamic_int8")
    outputs = keras_nest.export.run_litert("cct.tflite", images)   # [(N, C), ...]

The file holds the model's forward pass as one signature: input float32
``(N, S, S, 3)`` prepared images (``N`` free: the interpreter resizes),
one ``(N, C)`` output per model output (a DVT cascade: one per exit).
``quantize="dynamic_int8"`` stores the weights as int8 (dynamic-range
quantization: activations stay float, no calibration data).
"""

import os

QUANTIZATIONS = (None, "dynamic_int8")


def export_litert(model, path, quantize=None, verbose=False):
    """Writes ``model`` as a ``.tflite`` file at ``path``; returns ``path``.

    Args:
        model: a built keras_nest model, float32 policy, tensorflow backend.
        path: the file to write.
        quantize: None (float32) or "dynamic_int8".
        verbose: print Keras's export summary.

    Raises:
        ValueError: another backend, an unknown ``quantize``, a mixed-precision
            model, a folder that does not exist.
    """
    import keras
    import tensorflow as tf

    from keras_nest.layers.compute_paths import exporting

    backend = keras.backend.backend()
    if backend != "tensorflow":
        raise ValueError(
            f"LiteRT export runs on the tensorflow backend, not {backend}: build the model "
            "with KERAS_BACKEND=tensorflow (weights load on any backend)."
        )
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}, got {quantize!r}.")
    if model.dtype_policy.name != "float32":
        raise ValueError(
            f"LiteRT export takes float32 models; {model.name!r} computes in "
            f"{model.dtype_policy.name}. Rebuild it under the float32 policy and load its weights."
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"No folder {folder!r} to write {os.path.basename(path)!r} in.")
    options = {"optimizations": [tf.lite.Optimize.DEFAULT]} if quantize else {}
    with exporting():
        model.export(str(path), format="litert", verbose=verbose, **options)
    return str(path)


def run_litert(path, images):
    """The outputs of the ``.tflite`` file at ``path`` on ``images``: a list of arrays.

    Args:
        path: a file :func:`export_litert` wrote.
        images: ``(N, S, S, 3)`` float32 prepared images.

    Returns:
        One ``(N, C)`` float32 array per model output, in the model's order.
    """
    import numpy as np
    import tensorflow as tf

    interpreter = tf.lite.Interpreter(model_path=str(path))
    runner = interpreter.get_signature_runner()
    (name,) = runner.get_input_details()
    outputs = runner(**{name: np.asarray(images, "float32")})
    return [outputs[key] for key in sorted(outputs, key=_output_number)]


def _output_number(name):
    """``output_12`` -> 12: the model's output order (a plain sort puts 10 before 2)."""
    return int(name.rsplit("_", 1)[-1])
