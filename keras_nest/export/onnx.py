"""ONNX export through Keras (``model.export(format="onnx")``), from jax or tensorflow.

    keras_nest.export.export_onnx(model, "nest_tiny.onnx")
    session = onnxruntime.InferenceSession("nest_tiny.onnx")
    probabilities, = session.run(None, {"images": images})   # (N, S, S, 3) float32

The file holds the model's own forward pass, inputs and outputs named the
same from either backend:

- input ``images``: float32 ``(batch, H, W, C)``, ``model.input_shape``
  with a free ``batch``: images already prepared
  (:func:`keras_nest.preprocessing.preprocess_input`) at the model's size;
- one output per model output, in the model's order, named as
  ``model.output_names`` and shaped as the model's, ``batch`` first: a
  classifier gives ``predictions``, float32 ``(batch, C)`` (probabilities
  under the default softmax head); a DVT cascade of ``K`` exits gives
  ``exit1_predictions`` ... ``exitK_predictions``, coarse to fine.

tensorflow converts through tf2onnx, jax through jax2onnx (the converters
Keras calls); both trace the model inside
:func:`keras_nest.layers.compute_paths.exporting`, so jax writes no op
onnxruntime cannot run. The torch backend is refused: Keras's torch exporter
fails on these models once the batch dimension is free.
"""

import os
import warnings

from keras_nest.export.checks import check_model_and_path


def export_onnx(model, path, *, opset=None, verbose=False):
    """Writes ``model`` as an ONNX file at ``path`` (see the module's input and output names).

    Args:
        model: a built keras_nest model (float32 policy) on the jax or
            tensorflow backend, ``model.input_shape`` ``(None, H, W, C)``.
        path: the ``.onnx`` file to write (str or path-like); its folder must exist.
        opset: the ONNX opset; default the converter's (tf2onnx's on
            tensorflow, jax2onnx's on jax).
        verbose: print the converter's summary.

    Returns:
        ``path``, as a str.

    Raises:
        ValueError: the torch backend, a model never built (no input shape)
            or not for fixed-size images, a policy other than float32, a
            ``path`` that cannot be written.
    """
    import keras

    from keras_nest.layers.compute_paths import exporting

    path = os.fspath(path)
    size = _check_exportable(model, path)
    signature = [keras.InputSpec(shape=(None, *size), dtype="float32", name="images")]
    with exporting(), warnings.catch_warnings():
        # Keras's tf2onnx patch asks NumPy for ``np.object``, which NumPy 2 warns of.
        warnings.filterwarnings("ignore", "In the future `np.object`", FutureWarning)
        model.export(path, format="onnx", verbose=verbose, input_signature=signature,
                     opset_version=opset)  # fmt: skip
    _name_outputs(path, model.output_names)
    return path


def _check_exportable(model, path):
    """The model's ``(H, W, C)`` input size, after the checks ``export_onnx`` raises for."""
    import keras

    backend = keras.backend.backend()
    if backend not in ("jax", "tensorflow"):
        raise ValueError(
            f"ONNX export runs on the jax or tensorflow backend, not {backend} (Keras's "
            f"{backend} exporter fails on a free batch size): build the model with "
            "KERAS_BACKEND=jax or tensorflow (weights load on any backend)."
        )
    return check_model_and_path(model, path, "ONNX", "model.onnx")


def _name_outputs(path, names):
    """Names the file's outputs ``names`` (in order) and the first dimension of every
    input and output ``batch``, in place of the converter's names.

    Each output gets an ``Identity`` node from the converter's tensor, so no
    other node changes; weights stored outside the file stay where they are.
    """
    import onnx

    proto = onnx.load(path, load_external_data=False)
    graph = proto.graph
    for output, name in zip(graph.output, names):
        graph.node.append(onnx.helper.make_node("Identity", [output.name], [name]))
        output.name = name
    for value in (*graph.input, *graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    onnx.save(proto, path)
