"""Running one saved model under every Keras backend: the running one in this process,
each other in a process of its own."""

import os
import subprocess
import sys

import numpy as np

import keras_nest
from tests.conftest import BACKEND, outputs_of

BACKENDS = ("jax", "tensorflow", "torch")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

_LOGITS_SCRIPT = """
import sys, keras, numpy as np, keras_nest
build, weights, images, out = sys.argv[1:]
model = eval(build)
model.load_weights(weights)
np.save(out, keras.ops.convert_to_numpy(model(np.load(images))))
"""


def outputs_on_every_backend(build, weights, images, workdir):
    """``{backend: outputs}`` of ``eval(build)`` with ``weights`` loaded, on ``images``.

    The running backend computes in this process; each other backend in a fresh one.

    Args:
        build: a Python expression that builds the model with ``keras_nest``.
        weights: a ``.weights.h5`` file saved from the same model.
        images: a numpy batch.
        workdir: a folder for the exchanged files.
    """
    images_path = os.path.join(workdir, "images.npy")
    np.save(images_path, images)
    model = eval(build, {"keras_nest": keras_nest})
    model.load_weights(weights)
    outputs = {BACKEND: np.asarray(outputs_of(model, images))}
    for backend in [backend for backend in BACKENDS if backend != BACKEND]:
        out = os.path.join(workdir, f"{backend}.npy")
        env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3")
        subprocess.run(
            [sys.executable, "-c", _LOGITS_SCRIPT, build, os.fspath(weights), images_path, out],
            check=True,
            env=env,
            cwd=REPO,
            capture_output=True,
        )
        outputs[backend] = np.load(out)
    return outputs
