"""Every example runs top to bottom at its reduced size (the demo runs at full size, as a
notebook: tests/examples/test_notebooks.py)."""

import subprocess
import sys

import pytest

from tests.conftest import BACKEND
from tests.examples.running import EXAMPLES_BACKEND, reduced_environment
from tools import notebooks

SCRIPTS = [script for script in notebooks.example_scripts() if script.stem != "train_digits"]


@pytest.mark.skipif(
    BACKEND != EXAMPLES_BACKEND, reason=f"examples run in the {EXAMPLES_BACKEND} run"
)
@pytest.mark.parametrize("script", SCRIPTS, ids=[script.stem for script in SCRIPTS])
def test_example_runs_at_reduced_size(script, tmp_path):
    result = subprocess.run(
        [sys.executable, str(script)],
        cwd=tmp_path,
        env=reduced_environment(BACKEND),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-4000:]
    assert "Traceback" not in result.stderr, result.stderr[-4000:]
    assert "Warning:" not in result.stderr, result.stderr[-4000:]  # Python's warnings
