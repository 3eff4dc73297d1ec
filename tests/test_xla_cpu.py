"""import keras_nest gives JAX's CPU matrix products to XLA's own kernels where measured faster."""

import glob
import importlib.metadata
import os
import subprocess
import sys

import pytest

from keras_nest import xla_cpu
from tests.conftest import BACKEND

CHOICE = f"{xla_cpu.FLAG}={xla_cpu.WITHOUT_DOTS}"
MEASURED = {"cpu_flags": ["sse2", "avx512f"], "jaxlib_version": "0.10.2"}


@pytest.mark.parametrize(
    "backend, user_flags, machine, expected",
    [
        ("jax", None, MEASURED, CHOICE),
        ("jax", "--xla_force_host_platform_device_count=4", MEASURED,
         f"--xla_force_host_platform_device_count=4 {CHOICE}"),
        ("tensorflow", None, MEASURED, None),  # TensorFlow's own XLA may not know the flag
        ("jax", f"{xla_cpu.FLAG}=individual_dot,individual_convolution,reduce", MEASURED,
         f"{xla_cpu.FLAG}=individual_dot,individual_convolution,reduce"),  # the user's choice
        ("jax", None, {**MEASURED, "jaxlib_version": "0.11.0"}, None),  # not measured
        ("jax", None, {**MEASURED, "cpu_flags": ["sse2", "avx2"]}, None),  # no AVX-512
    ],
)  # fmt: skip
def test_the_flag_is_added_only_where_measured(monkeypatch, backend, user_flags, machine, expected):
    if user_flags is None:
        monkeypatch.delenv("XLA_FLAGS", raising=False)
    else:
        monkeypatch.setenv("XLA_FLAGS", user_flags)
    xla_cpu.prefer_xla_dots(backend, **machine)
    assert os.environ.get("XLA_FLAGS") == expected


PROBE = """
import keras_nest
import jax.numpy as jnp
(jnp.ones((64, 32)) @ jnp.ones((32, 16))).block_until_ready()
"""


@pytest.mark.skipif(BACKEND != "jax", reason="XLA's CPU flags are JAX's")
def test_xla_compiles_with_the_choice_made_at_import(tmp_path):
    environment = {key: value for key, value in os.environ.items() if key != "XLA_FLAGS"}
    environment.update(KERAS_BACKEND="jax", XLA_FLAGS=f"--xla_dump_to={tmp_path}")
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    paths = glob.glob(f"{tmp_path}/*.debug_options")
    assert paths, "XLA wrote no options"
    options = "".join(open(path).read() for path in paths)
    assert "ynn_fusion_type: LIBRARY_FUSION_TYPE_REDUCE" in options
    jaxlib = importlib.metadata.version("jaxlib")
    measured = "avx512f" in xla_cpu._cpu_flags() and jaxlib.startswith(xla_cpu.MEASURED_JAXLIB)
    assert ("LIBRARY_FUSION_TYPE_INDIVIDUAL_DOT" in options) != measured
