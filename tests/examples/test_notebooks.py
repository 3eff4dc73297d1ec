"""The notebooks in examples/ipynb/ are the converter's output of today's scripts, and run."""

import nbclient
import nbformat
import pytest

from tests.conftest import BACKEND
from tests.examples.running import EXAMPLES_BACKEND, REDUCED_ENVIRONMENT
from tools import notebooks

SCRIPTS = notebooks.example_scripts()


@pytest.mark.parametrize("script", SCRIPTS, ids=[script.stem for script in SCRIPTS])
def test_notebook_is_up_to_date(script):
    path = notebooks.notebook_path(script)
    assert path.exists(), f"{path.name} is missing: run `make notebooks`"
    assert path.read_text() == notebooks.rendered(script), f"{path.name}: run `make notebooks`"


def test_no_notebook_without_a_script():
    scripts = {script.stem for script in SCRIPTS}
    assert {path.stem for path in notebooks.NOTEBOOKS.glob("*.ipynb")} <= scripts


@pytest.mark.skipif(
    BACKEND != EXAMPLES_BACKEND, reason=f"examples run in the {EXAMPLES_BACKEND} run"
)
def test_demo_notebook_runs_end_to_end(tmp_path, monkeypatch):
    # The kernel inherits this process's environment: the reduced size, this backend, and
    # matplotlib's default backend in a kernel (inline figures), not the scripts' Agg.
    for name, value in {**REDUCED_ENVIRONMENT, "KERAS_BACKEND": BACKEND}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("MPLBACKEND")
    book = nbformat.read(notebooks.NOTEBOOKS / "train_digits.ipynb", as_version=4)
    client = nbclient.NotebookClient(
        book, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    printed = "".join(
        output.get("text", "")
        for cell in book.cells
        if cell.cell_type == "code"
        for output in cell.outputs
    )
    assert "held-out accuracy:" in printed
    assert "the reloaded model gives the same predictions: True" in printed
    figures = [
        output
        for cell in book.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if "image/png" in output.get("data", {})
    ]
    assert figures, "the notebook shows its figure"
    assert (tmp_path / "runs/examples/train_digits/nest_digits.keras").exists()
