"""keras_nest.distribute.model_parallel: transformer kernels split over a (2 data x 4 model) mesh."""

import json
import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from keras_nest import distribute
from keras_nest.layers import Mlp, MultiHeadSelfAttention
from keras_nest.models.compact import CVT
from keras_nest.models.dvt import DVT
from tests.backends import REPO
from tests.conftest import BACKEND, shapes_only
from tests.training.model_parallel_run import DATA, MODEL

jax_only = pytest.mark.skipif(BACKEND != "jax", reason="keras.distribution is JAX-only")

# Which axis of a variable the model axis splits, by the end of its path; optimizer
# variables name theirs with "_" (adam_w/block_0_attn_qkv_kernel_momentum).
SPLIT_AXES = {
    "attn/qkv/kernel": 1,
    "attn/qkv/bias": 0,
    "attn/proj/kernel": 0,
    "mlp/fc1/kernel": 1,
    "mlp/fc1/bias": 0,
    "mlp/fc2/kernel": 0,
}


def _split_axis(path):
    """The axis of the variable at ``path`` that should be split, or None."""
    flat = path.replace("/", "_")
    for end, axis in SPLIT_AXES.items():
        end = end.replace("/", "_")
        if (
            flat.endswith(end)
            or flat.endswith(f"{end}_momentum")
            or flat.endswith(f"{end}_velocity")
        ):
            return axis
    return None


@pytest.fixture(scope="module")
def run():
    """The JSON of one ``tests/training/model_parallel_run.py`` run (8 virtual CPU devices)."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.training.model_parallel_run"],
        cwd=REPO,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@jax_only
def test_sharded_models_predict_as_the_unsharded_ones(run):
    assert run["replicas"] == DATA
    assert run["description"] == "ModelParallel on 8 CPU devices (2 data x 4 model)"
    for name in ("vit", "nest"):
        assert run[name]["prediction_difference"] < 1e-5, name


@jax_only
def test_each_device_holds_a_quarter_of_each_split_variable(run):
    for name, blocks in (("vit", 1), ("nest", 2)):
        for kind, per_block in (("variables", 6), ("optimizer_variables", 12)):
            split = 0
            for path, variable in run[name][kind].items():
                shard = list(variable["shape"])
                axis = _split_axis(path)
                if axis is not None:
                    shard[axis] //= MODEL
                    split += 1
                assert variable["devices"] == DATA * MODEL, path
                assert variable["shards"] == [shard], path
            # Momentum and velocity of each split kernel are split too.
            assert split == per_block * blocks, (name, kind)


@jax_only
def test_a_sharded_training_step_updates_every_variable(run):
    for name in ("vit", "nest"):
        assert np.isfinite(run[name]["loss"]), name
        # AdamW's first step moves every weight by about its learning rate, 1e-3.
        assert run[name]["smallest_step"] > 5e-4, name


@jax_only
def test_a_width_or_mesh_that_does_not_split_is_named(run):
    assert run["errors"] == {
        "indivisible": "block_0/attn/qkv/kernel (6, 18) does not split over model_devices=4: "
        "pick a divisor of 18.",
        "mesh": "8 devices do not split into groups of model_devices=3: "
        "pass a divisor of the device count.",
    }


@jax_only
def test_one_layout_map_splits_every_familys_transformer_layers():
    mesh = keras.distribution.DeviceMesh(
        (1, 1), ("batch", "model"), keras.distribution.list_devices()[:1]
    )
    layouts = distribute.layout_map(mesh)
    with shapes_only():
        models = [  # Compact Transformers without a qkv bias; DVT's Performers and reuse layers
            CVT(num_layers=1, num_heads=2, mlp_ratio=2, embed_dim=16, input_shape=(16, 16, 3)),
            DVT(token_grids=(7, 14), embed_dim=16, depth=1, num_heads=2, backbone="t2t"),
        ]
        for model in models:
            expected = {}
            for layer in model._flatten_layers():
                if isinstance(layer, MultiHeadSelfAttention):
                    expected[layer.qkv.kernel.path] = (None, "model")
                    if layer.qkv_bias:
                        expected[layer.qkv.bias.path] = ("model",)
                    expected[layer.proj.kernel.path] = ("model", None)
                if isinstance(layer, Mlp):
                    expected[layer.fc1.kernel.path] = (None, "model")
                    expected[layer.fc1.bias.path] = ("model",)
                    expected[layer.fc2.kernel.path] = ("model", None)
            split = {v.path: tuple(layouts[v.path].axes) for v in model.weights if layouts[v.path]}
            assert split == expected and len(split) >= 5, model.name


@pytest.mark.skipif(BACKEND == "jax", reason="the other backends refuse")
def test_model_parallel_needs_jax():
    with pytest.raises(ValueError, match="Model parallelism needs the JAX backend"):
        distribute.model_parallel(MODEL)
