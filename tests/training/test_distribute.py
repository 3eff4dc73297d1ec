"""keras_nest.distribute: the backend's data-parallel strategy, on 4 virtual CPU devices."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from keras_nest import distribute
from tests.backends import REPO
from tests.conftest import BACKEND
from tests.training.distributed_run import FIRST_STEPS


def _history(devices, workdir):
    """The per-epoch history of ``tests/training/distributed_run.py`` on ``devices`` devices."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.training.distributed_run", str(devices), str(workdir)],
        cwd=REPO,
        env={**os.environ, "KERAS_BACKEND": BACKEND, "TF_CPP_MIN_LOG_LEVEL": "3"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(BACKEND not in ("jax", "tensorflow"), reason="data parallel: jax, tensorflow")
def test_four_devices_follow_the_single_device_trajectory(tmp_path):
    single = _history(1, tmp_path / "single")
    parallel = _history(4, tmp_path / "parallel")
    assert single["replicas"] == 1
    assert parallel["replicas"] == 4, parallel["description"]
    expected = {"jax": "DataParallel", "tensorflow": "MirroredStrategy"}[BACKEND]
    assert parallel["description"].startswith(expected)

    # The same updates: after the first steps, the two runs' weights differ by float32
    # rounding only (measured 2e-5 of the distance travelled; a replica that applied only
    # its own shard's gradient would be off by about half of it).
    start, one, four = (
        np.load(tmp_path / run / f"weights_{steps}.npy")
        for run, steps in (("single", 0), ("single", FIRST_STEPS), ("parallel", FIRST_STEPS))
    )
    np.testing.assert_array_equal(np.load(tmp_path / "parallel" / "weights_0.npy"), start)
    travelled = np.linalg.norm(one - start)
    assert travelled > 0.1
    assert np.linalg.norm(four - one) < 1e-3 * travelled

    # Then the same trajectory. Float32 sums in another order drift apart over many
    # steps, by an amount that depends on the CPU's kernels (a third epoch's loss: 3e-5
    # relative on a Xeon with AVX-512, 4.3e-4 on an EPYC without), so the later epochs are
    # compared loosely; the schedule exactly.
    one, four = single["history"], parallel["history"]
    assert one["loss"][-1] < 0.75 * one["loss"][0]  # the run learns
    np.testing.assert_allclose(four["learning_rate"], one["learning_rate"], rtol=1e-6)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(four[key], one[key], rtol=5e-3, err_msg=key)
    for key in ("accuracy", "val_accuracy"):
        np.testing.assert_allclose(four[key], one[key], atol=0.01, err_msg=key)


def test_jax_evaluation_padding_gives_the_real_images_metrics():
    # The padding is plain tf.data, so it is checked on every backend.
    replicas = distribute.Replicas("jax", 4, "4 test devices")
    images = np.arange(10, dtype="float32").reshape(10, 1)
    labels = np.eye(2, dtype="float32")[np.arange(10) % 2]
    batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
    padded = list(replicas.evaluation_data(batches, 4, num_examples=10))
    assert [tuple(x.shape) for x, _, _ in padded] == [(4, 1)] * 3
    weights = np.concatenate([w.numpy() for _, _, w in padded])
    np.testing.assert_allclose(weights, [1.2] * 10 + [0.0, 0.0])  # 12 rows for 10 images
    # A weighted mean (accuracy) and a sum over the padded count (the loss) are the real ones.
    values = np.concatenate([x.numpy()[:, 0] for x, _, _ in padded])
    assert np.sum(values * weights) / np.sum(weights) == pytest.approx(images.mean())
    assert np.sum(values * weights) / 12 == pytest.approx(images.mean())
    assert replicas.evaluation_data(batches, 4, 10) is not batches
    assert distribute.Replicas("tensorflow", 4, "x").evaluation_data(batches, 4, 10) is batches


def test_batch_must_split_over_the_replicas():
    replicas = distribute.Replicas("jax", 4, "DataParallel on 4 CPU devices")
    replicas.check_batch_size(64)
    with pytest.raises(ValueError, match="batch size 30 does not split over DataParallel on 4"):
        replicas.check_batch_size(30)


def test_one_device_here():
    replicas = distribute.auto()
    assert replicas.num_replicas == 1 and replicas.backend == BACKEND
    with replicas.scope():
        pass
    if BACKEND != "jax":
        with pytest.raises(ValueError, match="joins JAX processes"):
            distribute.initialize()
