"""Runs exported SavedModels with plain TensorFlow and Keras's TFSMLayer, no keras_nest.

    KERAS_BACKEND=tensorflow python tests/export/serve_plain.py INPUTS.npz OUTPUTS.npz DIR...

``INPUTS.npz`` holds ``images`` (float32, prepared), ``photos`` (uint8,
one size) and ``photos_prepared`` (float32, the photos prepared by hand).
For each SavedModel directory ``d``, ``OUTPUTS.npz`` gets ``d/<signature>/<output>``.
"""

import os
import sys

import keras
import numpy as np
import tensorflow as tf


def main(inputs_path, outputs_path, *directories):
    inputs = np.load(inputs_path)
    results = {}
    for directory in directories:
        name = os.path.basename(directory)
        served = tf.saved_model.load(directory)
        calls = {
            "serve_preprocessed": served.signatures["serve_preprocessed"](
                images=tf.constant(inputs["images"])
            ),
            "serving_default": served.signatures["serving_default"](
                images=tf.constant(inputs["photos"])
            ),
            "photos_prepared": served.signatures["serve_preprocessed"](
                images=tf.constant(inputs["photos_prepared"])
            ),
            "tfsm_layer": keras.layers.TFSMLayer(directory, call_endpoint="serve_preprocessed")(
                inputs["images"]
            ),
        }
        if "serve_with_thresholds" in served.signatures:
            calls["with_thresholds"] = served.signatures["serve_with_thresholds"](
                images=tf.constant(inputs["photos"]),
                thresholds=tf.constant(inputs[f"{name}_thresholds"]),
            )
        for call, outputs in calls.items():
            for key, value in outputs.items():
                results[f"{name}/{call}/{key}"] = np.asarray(value)
    np.savez(outputs_path, **results)


if __name__ == "__main__":
    main(*sys.argv[1:])
