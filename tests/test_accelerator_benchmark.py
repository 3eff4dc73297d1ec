"""benchmarks/accelerator.sh in its CPU dry run (so that the GPU/TPU check does not rot) and
its table of chip peaks."""

import csv
import glob
import math
import os
import subprocess
import sys

import pytest

from benchmarks.accelerator import MODELS, MODES, peak_tflops
from tests.conftest import BACKEND

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NUMBERS = (
    "batch", "image_size", "steps", "repeats", "images_per_second", "spread_low", "spread_high",
    "warmup_seconds", "gflops_per_image", "achieved_tflops", "peak_tflops", "mfu",
)  # fmt: skip

pytestmark = pytest.mark.skipif(
    BACKEND != "tensorflow", reason="the script runs on jax whatever the backend; once is enough"
)


def test_dry_run_writes_every_model_and_mode(tmp_path):
    env = {key: value for key, value in os.environ.items() if key != "KERAS_BACKEND"}
    env["PYTHON"] = sys.executable  # without KERAS_BACKEND: the script's default, jax
    command = ["bash", os.path.join(REPO, "benchmarks", "accelerator.sh")]
    command += ["--dry-run", "--out-dir", str(tmp_path)]
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    (table,) = glob.glob(str(tmp_path / "accelerator_*.csv"))
    assert result.stdout.splitlines()[-1].endswith(f"wrote {table} and {table[:-4]}.png")
    with open(table) as file:
        rows = list(csv.DictReader(file))
    assert sorted((row["model"], row["mode"]) for row in rows) == sorted(
        (model, mode) for model in MODELS for mode in MODES
    )
    for row in rows:
        numbers = {key: float(row[key]) for key in NUMBERS}
        assert all(math.isfinite(n) and n > 0 for n in numbers.values()), row
        achieved = numbers["images_per_second"] * numbers["gflops_per_image"] / 1e3
        assert achieved == pytest.approx(numbers["achieved_tflops"], rel=2e-3)
        assert numbers["mfu"] == pytest.approx(achieved / numbers["peak_tflops"], rel=2e-3)
    gflops = {(row["model"], row["mode"]): float(row["gflops_per_image"]) for row in rows}
    for model in MODELS:  # a training step is three forward passes
        assert gflops[model, "train"] == pytest.approx(3 * gflops[model, "infer"], rel=2e-3)
    with open(table[:-4] + ".png", "rb") as file:
        assert file.read(8) == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "device, peak",
    [
        ("NVIDIA H100 80GB HBM3", 989),
        ("NVIDIA H100 PCIe", 756),
        ("NVIDIA H200", 989),
        ("NVIDIA A100-SXM4-80GB", 312),
        ("NVIDIA L4", 121),
        ("TPU v5 lite", 197),
        ("TPU v5", 459),
    ],
)
def test_peak_by_device_name(device, peak):
    assert peak_tflops(device) == peak


def test_unknown_device_asks_for_its_peak():
    with pytest.raises(SystemExit, match="--peak-tflops"):
        peak_tflops("NVIDIA L40S")
