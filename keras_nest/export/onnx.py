"""ONNX export through Keras (``model.export(format="onnx")``), from jax or tensorflow.

    keras_nest.export.export_onnx(model, "nest_tiny.onnx")
    session = onnxruntime.InferenceSession("nest_tiny.onnx")
    probabilities = session.run(None, {"images": images})     # (N, S, S, 3) float32

The file holds the model's own forward pass: one input ``images``, float32
``(N, S, S, 3)`` already prepared (:func:`keras_nest.preprocessing.preprocess_input`),
``N`` free; one output per model output, ``(N, C)`` (a DVT cascade: one per
exit, coarse to fine). tensorflow converts through tf2onnx, jax through
jax2onnx; the output names are theirs.
"""

import os


def export_onnx(model, path, opset=None, verbose=False):
    """Writes ``model`` as an ONNX file at ``path``; returns ``path``.

    Args:
        model: a built keras_nest model (float32 policy) on the jax or
            tensorflow backend.
        path: the ``.onnx`` file to write.
        opset: the ONNX opset; default the converter's.
        verbose: print the converter's summary.

    Raises:
        ValueError: the torch backend, a mixed-precision model, a folder
            that does not exist.
    """
    import keras

    from keras_nest.export.saved_model import check_backend
    from keras_nest.layers.compute_paths import exporting

    check_backend("ONNX")
    if model.dtype_policy.name != "float32":
        raise ValueError(
            f"ONNX export takes float32 models; {model.name!r} computes in "
            f"{model.dtype_policy.name}. Rebuild it under the float32 policy and load its weights."
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise ValueError(f"No folder {folder!r} to write {os.path.basename(path)!r} in.")
    size = model.input_shape[1:]
    signature = [keras.InputSpec(shape=(None, *size), dtype="float32", name="images")]
    with exporting():
        model.export(str(path), format="onnx", verbose=verbose, input_signature=signature,
                     opset_version=opset)  # fmt: skip
    return str(path)
