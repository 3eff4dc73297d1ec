"""Running one saved model under every Keras backend: the running one in this process,
each other in a process of its own that serves the whole test session."""

import json
import os
import subprocess
import sys
import tempfile

import numpy as np

import keras_nest
from tests.conftest import BACKEND, outputs_of

BACKENDS = ("jax", "tensorflow", "torch")
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Computes the outputs each line of stdin asks for, one JSON list
# [build, weights, images, out] a line, and answers "done" when ``out`` is written.
_WORKER_SCRIPT = """
import json, sys, keras, numpy as np, keras_nest
for line in sys.stdin:
    build, weights, images, out = json.loads(line)
    model = eval(build)
    model.load_weights(weights)
    np.save(out, keras.ops.convert_to_numpy(model(np.load(images))))
    keras.backend.clear_session()
    print("done", flush=True)
"""
_workers = {}


def _worker(backend):
    """The process that computes outputs on ``backend``, started at its first use and kept
    for the session: importing a backend and Keras takes 7-9 s on 2 CPU cores."""
    worker = _workers.get(backend)
    if worker is None or worker.poll() is not None:
        stderr = tempfile.TemporaryFile("w+")
        worker = subprocess.Popen(
            [sys.executable, "-c", _WORKER_SCRIPT],
            env=dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="3"),
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
        worker.stderr_file = stderr
        _workers[backend] = worker
    return worker


def _outputs_in_worker(backend, build, weights, images_path, out):
    worker = _worker(backend)
    worker.stdin.write(json.dumps([build, os.fspath(weights), images_path, out]) + "\n")
    worker.stdin.flush()
    if worker.stdout.readline().strip() != "done":
        worker.wait()
        worker.stderr_file.seek(0)
        raise AssertionError(f"the {backend} process failed:\n{worker.stderr_file.read()[-3000:]}")
    return np.load(out)


def outputs_on_every_backend(build, weights, images, workdir):
    """``{backend: outputs}`` of ``eval(build)`` with ``weights`` loaded, on ``images``.

    The running backend computes in this process; each other backend in a process of
    its own, which serves every call of this test process.

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
        outputs[backend] = _outputs_in_worker(backend, build, weights, images_path, out)
    return outputs
