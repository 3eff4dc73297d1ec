"""The documentation site builds with every warning an error, and a broken reference fails it."""

import pathlib
import subprocess
import sys

import pytest
import yaml

from tests.conftest import BACKEND
from tools import notebooks

REPO = pathlib.Path(__file__).resolve().parent.parent
BUILD_SECONDS = 180

pytestmark = pytest.mark.skipif(BACKEND != "tensorflow", reason="the site is backend-free")


def build(site_dir, config=None):
    """``mkdocs build --strict`` from the repository root, of its mkdocs.yml or of
    ``config`` (a dict, given on stdin: relative paths still start at the root)."""
    command = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)]
    if config is not None:
        command += ["--config-file", "-"]
    return subprocess.run(
        command,
        cwd=REPO,
        input=None if config is None else yaml.safe_dump(config),
        capture_output=True,
        text=True,
        timeout=BUILD_SECONDS,
    )


def test_site_has_the_readme_the_api_and_every_example(tmp_path):
    result = build(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Quickstart" in (tmp_path / "index.html").read_text()
    layers = (tmp_path / "api" / "layers" / "index.html").read_text()
    assert 'id="keras_nest.layers.TransformerBlock"' in layers
    for script in notebooks.example_scripts():
        page = (tmp_path / "examples" / script.stem / "index.html").read_text()
        assert notebooks.header(script.read_text())["Title"] in page, script.name
    digits = (tmp_path / "examples" / "train_digits" / "index.html").read_text()
    assert "Introduction" in digits and 'class="highlight"' in digits  # prose and code


def test_broken_reference_fails_the_build(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "broken.md").write_text("# Broken\n\nSee [this][keras_nest.no_such_thing].\n")
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text())
    config["docs_dir"] = str(docs)  # the generated pages and the broken one only
    del config["nav"]
    result = build(tmp_path / "site", config)
    assert result.returncode != 0
    assert "keras_nest.no_such_thing" in result.stderr, result.stderr
