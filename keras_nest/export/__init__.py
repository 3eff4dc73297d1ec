"""Export for serving: SavedModel with image signatures, ONNX and LiteRT.

Each function traces the model inside ``compute_paths.exporting()``, so the
file holds ops its readers know (TensorFlow, onnxruntime, the LiteRT
interpreter). TensorFlow is imported when a function runs, not here.
"""

from keras_nest.export.litert import export_litert, run_litert
from keras_nest.export.onnx import export_onnx
from keras_nest.export.saved_model import export_saved_model
from keras_nest.export.serving import ServingConfig, serving_config, serving_config_for_recipe

__all__ = [
    "ServingConfig",
    "export_litert",
    "export_onnx",
    "export_saved_model",
    "run_litert",
    "serving_config",
    "serving_config_for_recipe",
]
