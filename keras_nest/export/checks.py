"""The checks every file export makes before it starts: a model it can trace, a file it can write."""

import os


def check_model_and_path(model, path, what, example):
    """The model's ``(H, W, C)`` input size, or a one-line ValueError.

    Args:
        model: the model to export: built, fixed-size images, float32 policy.
        path: the file to write (a str), in an existing, writable folder.
        what: the format's name in messages ("ONNX", "LiteRT").
        example: a file name for the message when ``path`` is a folder.
    """
    try:
        shape = tuple(model.input_shape)
    except AttributeError:
        raise ValueError(
            f"{model.name!r} was never built: {what} export takes a model with an input "
            "shape (None, H, W, 3), as every keras_nest model has once created."
        ) from None
    if len(shape) != 4 or None in shape[1:]:
        raise ValueError(
            f"{what} export takes a model of fixed-size images (None, H, W, C); "
            f"{model.name!r} takes {shape}."
        )
    if model.dtype_policy.name != "float32":
        raise ValueError(
            f"{what} export takes float32 models; {model.name!r} computes in "
            f"{model.dtype_policy.name}. Rebuild it under the float32 policy and load its weights."
        )
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"{path!r} is a folder; {what} export writes a file (e.g. {example}).")
    if not os.path.isdir(folder):
        raise ValueError(f"No folder {folder!r} to write {os.path.basename(path)!r} in.")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"The folder {folder!r} is not writable.")
    return shape[1:]
