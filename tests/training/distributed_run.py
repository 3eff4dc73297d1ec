"""Trains the digits recipe, made small and deterministic, on N devices; prints its history.

    KERAS_BACKEND=jax python -m tests.training.distributed_run DEVICES WORKDIR

N > 1 makes N virtual CPU devices before the backend starts (XLA's host
device count on JAX, logical CPU devices on TensorFlow), so it must run in a
fresh process. Prints one JSON line: the replicas' description and the
per-epoch history.
"""

import json
import os
import sys


def main(devices, workdir):
    backend = os.environ["KERAS_BACKEND"]
    if backend == "jax" and devices > 1:
        os.environ["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    import tensorflow as tf

    if backend == "tensorflow" and devices > 1:
        cpu = tf.config.list_physical_devices("CPU")[0]
        logical = [tf.config.LogicalDeviceConfiguration()] * devices
        tf.config.set_logical_device_configuration(cpu, logical)

    from keras_nest import distribute
    from keras_nest.training import resolve_recipe, train

    replicas = distribute.auto()
    recipe = resolve_recipe(
        "digits",
        overrides={
            "epochs": 3,
            "warmup_epochs": 1,
            "image_size": 16,
            "batch_size": 64,
            "augmentation": "none",  # tf.data's parallel random ops are not ordered
            "model_options": {"attention_dropout": 0.0, "drop_path_rate": 0.0},
        },
    )
    _, history = train(recipe, workdir, verbose=0, replicas=replicas)
    print(
        json.dumps(
            {
                "replicas": replicas.num_replicas,
                "description": replicas.description,
                "history": history,
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
