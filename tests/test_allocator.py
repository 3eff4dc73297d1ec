"""import keras_nest makes TensorFlow keep freed CPU memory for reuse (keras_nest/allocator.py)."""

import os
import subprocess
import sys

import pytest

from keras_nest import allocator
from tests.conftest import BACKEND

# Without the BFC allocator TensorFlow keeps no statistics and get_memory_info raises.
PROBE = """
import keras
import keras_nest
import tensorflow as tf
tf.ones((256, 256)) * 2.0
print(tf.config.experimental.get_memory_info("CPU:0")["peak"])
"""


@pytest.mark.skipif(BACKEND != "tensorflow", reason="one process of TensorFlow's is enough")
def test_import_gives_tensorflow_its_bfc_allocator_on_cpu():
    environment = {key: value for key, value in os.environ.items()
                   if key != allocator.ENVIRONMENT_VARIABLE}  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert int(result.stdout.split()[-1]) >= 256 * 256 * 4


def test_a_value_the_user_set_is_kept(monkeypatch):
    monkeypatch.setenv(allocator.ENVIRONMENT_VARIABLE, "false")
    assert allocator.keep_cpu_memory_for_reuse() == "false"
    monkeypatch.delenv(allocator.ENVIRONMENT_VARIABLE)
    assert allocator.keep_cpu_memory_for_reuse() == "true"
    assert os.environ[allocator.ENVIRONMENT_VARIABLE] == "true"
