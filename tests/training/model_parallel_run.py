"""Runs a small ViT and NesT unsharded and model-parallel on 8 virtual CPU devices; prints JSON.

    python -m tests.training.model_parallel_run

Makes the devices before JAX starts (and sets KERAS_BACKEND=jax), so it must
run in a fresh process. On a mesh of ``DATA`` x ``MODEL`` devices, for each
model built twice with the same weights, plain and in ``model_parallel``'s
scope, it records the largest difference of their predictions, the shape of
every variable and of its shards (optimizer variables included), the loss of
one AdamW step of the model-parallel one and the smallest change it made to a
variable. Then the errors of a model whose widths do not split and of a mesh
that does not fit.
"""

import json
import os

DATA, MODEL = 2, 4
BATCH = 8


def _builders():
    """``{name: build()}``: tiny models whose split widths are multiples of ``MODEL``."""
    from keras_nest.models.nest import Nest
    from keras_nest.models.vit import ViT

    return {
        "vit": lambda: ViT(
            patch_size=4,
            embed_dim=16,
            num_layers=1,
            num_heads=2,
            input_shape=(16, 16, 3),
            classes=10,
        ),
        "nest": lambda: Nest(
            depths=(1, 1),
            embed_dims=16,
            num_heads=2,
            patch_size=4,
            block_size=2,
            attention="multi_query",
            input_shape=(16, 16, 3),
            classes=10,
        ),
    }


def _shards(variables):
    """``{path: {"shape": full shape, "shards": its distinct shard shapes, "devices": count}}``."""
    return {
        v.path: {
            "shape": list(v.shape),
            "shards": sorted({tuple(s.data.shape) for s in v.value.addressable_shards}),
            "devices": len(v.value.addressable_shards),
        }
        for v in variables
    }


def _compare(build, replicas, images, labels):
    """Predictions of ``build()``, plain and model-parallel; shards and one step of the latter."""
    import keras
    import numpy as np

    plain = build()
    # Random values everywhere: ViT's classifier starts at zero, which would hide the rest.
    random = np.random.default_rng(0)
    weights = [random.normal(0, 0.3, w.shape) for w in plain.get_weights()]
    plain.set_weights(weights)
    expected = plain.predict_on_batch(images)
    with replicas.scope():
        sharded = build()
        sharded.set_weights(weights)
        predicted = sharded.predict_on_batch(images)
        loss = keras.losses.SparseCategoricalCrossentropy()
        sharded.compile(optimizer=keras.optimizers.AdamW(1e-3), loss=loss)
        loss = sharded.train_on_batch(images, labels)
    steps = [np.max(np.abs(a - b)) for a, b in zip(sharded.get_weights(), weights)]
    return {
        "prediction_difference": float(np.max(np.abs(predicted - expected))),
        "variables": _shards(sharded.weights),
        "optimizer_variables": _shards(sharded.optimizer.variables),
        "loss": float(loss),
        "smallest_step": float(min(steps)),
    }


def _error(function):
    """The message of the ValueError ``function()`` raises, or None."""
    try:
        function()
    except ValueError as error:
        return str(error)
    return None


def main():
    os.environ["KERAS_BACKEND"] = "jax"
    import numpy as np

    from keras_nest import distribute
    from keras_nest.models.vit import ViT

    distribute.virtual_cpu_devices(DATA * MODEL)  # keeps the suite's other XLA flags

    replicas = distribute.model_parallel(MODEL)
    random = np.random.default_rng(0)
    images = random.normal(size=(BATCH, 16, 16, 3)).astype("float32")
    labels = random.integers(0, 10, size=BATCH)
    results = {
        name: _compare(build, replicas, images, labels) for name, build in _builders().items()
    }

    def indivisible():  # 6 channels, 2 heads: a qkv projection 18 wide
        with replicas.scope():
            ViT(patch_size=8, embed_dim=6, num_layers=1, num_heads=2, input_shape=(16, 16, 3))

    results["errors"] = {
        "indivisible": _error(indivisible),
        "mesh": _error(lambda: distribute.model_parallel(3)),
    }
    results["replicas"] = replicas.num_replicas
    results["description"] = replicas.description
    print(json.dumps(results))


if __name__ == "__main__":
    main()
