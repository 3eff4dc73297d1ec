"""keras_nest.distribute: the backend's data-parallel strategy, on 4 virtual CPU devices.

The four-device run is compared with a one-device run and, on JAX, with two
processes of two devices each, joined on this machine as two hosts would be.
"""

import json
import os
import socket
import subprocess
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from keras_nest import distribute
from tests.backends import REPO
from tests.conftest import BACKEND
from tests.training.distributed_run import FIRST_STEPS, run

RUN_SECONDS = 600  # the longest a run of tests/training/distributed_run.py may take
ENVIRONMENT = {**os.environ, "KERAS_BACKEND": BACKEND, "TF_CPP_MIN_LOG_LEVEL": "3"}


def _command(devices, workdir, *process):
    """The command line of ``tests/training/distributed_run.py``."""
    arguments = [str(devices), str(workdir), *map(str, process)]
    return [sys.executable, "-m", "tests.training.distributed_run", *arguments]


def _printed(stdout):
    """The run's result: the JSON line it printed last (Gloo prints lines of its own)."""
    return json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1])


def _history(devices, workdir):
    """The result of ``tests/training/distributed_run.py`` on ``devices`` devices, run in a
    process of its own (the devices are set before the backend starts)."""
    result = subprocess.run(
        _command(devices, workdir),
        cwd=REPO,
        env=ENVIRONMENT,
        capture_output=True,
        text=True,
        timeout=RUN_SECONDS,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return _printed(result.stdout)


def _free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _two_host_histories(folder):
    """The results of processes 0 and 1 of a two-process JAX run, two CPU devices each.

    Process 0 joins through ``distribute.initialize``'s arguments, process 1
    through the environment variables that ``distribute.auto`` reads. When one
    fails or the run outlasts :data:`RUN_SECONDS`, both are ended and the
    assertion shows their stderr.
    """
    port = _free_port()
    joining = [
        ((0, 2, port), {}),
        (
            (),
            {
                "KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{port}",
                "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
                "KERAS_DISTRIBUTION_PROCESS_ID": "1",
            },
        ),
    ]
    processes = []
    for index, (arguments, variables) in enumerate(joining):
        with (
            open(folder / f"stdout{index}", "w") as out,
            open(folder / f"stderr{index}", "w") as err,
        ):
            processes.append(
                subprocess.Popen(
                    _command(2, folder / f"host{index}", *arguments),
                    cwd=REPO,
                    env={**ENVIRONMENT, **variables},
                    stdout=out,
                    stderr=err,
                )
            )
    deadline = time.monotonic() + RUN_SECONDS
    while any(p.poll() is None for p in processes) and time.monotonic() < deadline:
        if any(p.returncode for p in processes):  # one failed: the other would wait for it
            break
        time.sleep(1)
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait()
    failures = [
        f"process {index} (exit {process.returncode}):\n"
        + (folder / f"stderr{index}").read_text()[-3000:]
        for index, process in enumerate(processes)
        if process.returncode
    ]
    assert not failures, "\n".join(failures)
    return [_printed((folder / f"stdout{index}").read_text()) for index in range(2)]


@pytest.fixture(scope="module")
def four_devices(tmp_path_factory):
    """``(workdir, result)`` of the run on 4 devices, which both comparisons use."""
    workdir = tmp_path_factory.mktemp("four_devices")
    return workdir, _history(4, workdir)


def _assert_same_trajectory(history, expected):
    """Per-epoch ``history`` is ``expected``'s: the schedule exactly, the rest to float32
    drift (a third epoch's loss: 3e-5 relative on a Xeon with AVX-512, 4.3e-4 on an EPYC
    without, as float32 sums in another order drift apart by an amount that depends on the
    CPU's kernels)."""
    np.testing.assert_allclose(history["learning_rate"], expected["learning_rate"], rtol=1e-6)
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(history[key], expected[key], rtol=5e-3, err_msg=key)
    for key in ("accuracy", "val_accuracy"):
        np.testing.assert_allclose(history[key], expected[key], atol=0.01, err_msg=key)


def _assert_same_first_steps(workdir, expected_workdir):
    """The weights in ``workdir`` start as in ``expected_workdir`` and after
    :data:`FIRST_STEPS` updates differ by float32 rounding only (measured 2e-5 of the
    distance travelled; a replica that applied only its own shard's gradient would be off
    by about half of it)."""
    start, expected, weights = (
        np.load(folder / f"weights_{steps}.npy")
        for folder, steps in (
            (expected_workdir, 0),
            (expected_workdir, FIRST_STEPS),
            (workdir, FIRST_STEPS),
        )
    )
    np.testing.assert_array_equal(np.load(workdir / "weights_0.npy"), start)
    travelled = np.linalg.norm(expected - start)
    assert travelled > 0.1
    assert np.linalg.norm(weights - expected) < 1e-3 * travelled


@pytest.mark.skipif(BACKEND not in ("jax", "tensorflow"), reason="data parallel: jax, tensorflow")
def test_four_devices_follow_the_single_device_trajectory(tmp_path, four_devices):
    single = run(1, tmp_path)  # in this process: one device needs no process of its own
    parallel_workdir, parallel = four_devices
    assert single["replicas"] == 1
    assert parallel["replicas"] == 4, parallel["description"]
    expected = {"jax": "DataParallel", "tensorflow": "MirroredStrategy"}[BACKEND]
    assert parallel["description"].startswith(expected)
    _assert_same_first_steps(parallel_workdir, tmp_path)
    assert single["history"]["loss"][-1] < 0.75 * single["history"]["loss"][0]  # it learns
    _assert_same_trajectory(parallel["history"], single["history"])


@pytest.mark.skipif(BACKEND != "jax", reason="multi-host data parallel: jax")
def test_two_hosts_follow_the_four_device_trajectory(tmp_path, four_devices):
    four_workdir, four = four_devices
    first, second = _two_host_histories(tmp_path)
    for result in (first, second):
        assert result["replicas"] == 4
        assert result["description"] == "DataParallel on 4 CPU devices on 2 hosts"
    # Each host read its half of every global batch: the updates and metrics are the
    # four-device run's, and both hosts log the same global metrics.
    _assert_same_first_steps(tmp_path / "host0", four_workdir)
    _assert_same_trajectory(first["history"], four["history"])
    assert second["history"] == first["history"]


def test_jax_evaluation_padding_gives_the_real_images_metrics():
    # The padding is plain tf.data, so it is checked on every backend.
    replicas = distribute.Replicas("jax", 4, "4 test devices")
    images = np.arange(10, dtype="float32").reshape(10, 1)
    labels = np.eye(2, dtype="float32")[np.arange(10) % 2]
    batches = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
    padded_batches = replicas.evaluation_data(batches, 4, num_examples=10)
    # A static batch size: several JAX processes' auto-sharding reads it.
    assert [spec.shape[0] for spec in padded_batches.element_spec] == [4, 4, 4]
    padded = list(padded_batches)
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


def test_virtual_cpu_devices_must_come_before_the_backend_starts(monkeypatch):
    # The 4-device runs above make theirs in fresh processes, keeping the suite's XLA flags.
    monkeypatch.setenv("XLA_FLAGS", "--xla_backend_optimization_level=0")
    keras.ops.ones(1)  # starts the backend's devices
    if BACKEND == "torch":
        distribute.virtual_cpu_devices(3)  # one device: nothing to do
    else:
        with pytest.raises(RuntimeError, match=rf"virtual_cpu_devices\(3\) came after {BACKEND}"):
            distribute.virtual_cpu_devices(3)
    assert os.environ["XLA_FLAGS"] == "--xla_backend_optimization_level=0"
