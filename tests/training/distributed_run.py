"""Trains the digits recipe, made small and deterministic, on N devices; prints its history.

    KERAS_BACKEND=jax python -m tests.training.distributed_run DEVICES WORKDIR
    KERAS_BACKEND=jax python -m tests.training.distributed_run DEVICES WORKDIR ID PROCESSES PORT

N > 1 makes N virtual CPU devices before the backend starts (XLA's host
device count on JAX, logical CPU devices on TensorFlow), so it must run in a
fresh process. With the last three arguments (JAX only) it is process ``ID``
of ``PROCESSES``, each with DEVICES devices, joined through
``keras_nest.distribute.initialize`` with the coordinator on
``127.0.0.1:PORT``; without them, the ``KERAS_DISTRIBUTION_*`` variables that
``distribute.auto`` reads may join it instead. Each process needs its own
WORKDIR. Saves the weights before training and after the first
``FIRST_STEPS`` updates (``WORKDIR/weights_{0,N}.npy``, flattened) and prints
one JSON line: the replicas' description and the per-epoch history.
"""

import json
import os
import sys

FIRST_STEPS = 8


def run(devices, workdir, process_id=None, num_processes=None, port=None):
    """The run's result: ``{"replicas", "description", "history"}``. With one device it
    may run in a process that has started its backend already."""
    import keras
    import numpy as np

    from keras_nest import distribute
    from keras_nest.training import resolve_recipe, train

    if devices > 1:
        distribute.virtual_cpu_devices(devices)  # keeps the suite's other XLA flags

    class SaveFirstWeights(keras.callbacks.Callback):
        """Saves all weights, flattened, before training and after ``FIRST_STEPS`` updates."""

        def save(self, steps):
            weights = [keras.ops.convert_to_numpy(w).ravel() for w in self.model.weights]
            np.save(os.path.join(workdir, f"weights_{steps}.npy"), np.concatenate(weights))

        def on_train_begin(self, logs=None):
            self.save(0)

        def on_epoch_begin(self, epoch, logs=None):
            self.epoch = epoch

        def on_train_batch_end(self, batch, logs=None):
            if self.epoch == 0 and batch + 1 == FIRST_STEPS:
                self.save(FIRST_STEPS)

    if num_processes:
        distribute.initialize(f"127.0.0.1:{port}", num_processes, process_id)
    replicas = distribute.auto()
    recipe = resolve_recipe(
        "digits",
        overrides={
            "epochs": 2,
            "warmup_epochs": 0.5,
            "image_size": 16,
            "batch_size": 64,
            "augmentation": "none",  # tf.data's parallel random ops are not ordered
            "model_options": {"attention_dropout": 0.0, "drop_path_rate": 0.0},
        },
    )
    callbacks = [SaveFirstWeights()]
    _, history = train(recipe, workdir, verbose=0, replicas=replicas, callbacks=callbacks)
    return {
        "replicas": replicas.num_replicas,
        "description": replicas.description,
        "history": history,
    }


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]), sys.argv[2], *map(int, sys.argv[3:]))))
