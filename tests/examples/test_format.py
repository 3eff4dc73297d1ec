"""Every example is in the keras.io format, and the converter splits scripts as it says."""

import re
import subprocess
import sys
import textwrap

import pytest

from tools import notebooks

SCRIPTS = notebooks.example_scripts()
MOST_CODE_LINES = 300


@pytest.fixture(params=SCRIPTS, ids=[script.stem for script in SCRIPTS])
def script(request):
    return request.param


def test_header_has_every_field(script):
    fields = notebooks.header(script.read_text())
    assert set(notebooks.HEADER_FIELDS) <= set(fields), set(notebooks.HEADER_FIELDS) - set(fields)
    description = fields["Description"]
    assert len(description) <= 100 and description.endswith("."), description
    assert ". " not in description, f"one sentence: {description}"
    assert fields["Accelerator"] in ("GPU", "TPU", "None")
    command = f"python examples/{script.name}"
    assert command in fields["Full run"] and "KERAS_NEST_EXAMPLE_SIZE" not in fields["Full run"]
    settings, found, _ = fields["Reduced run"].partition(command)
    assert found and "KERAS_NEST_EXAMPLE_SIZE=reduced" in settings.split(), fields["Reduced run"]


def test_reads_the_reduced_setting_once_and_stays_short(script):
    source = script.read_text()
    setting = 'REDUCED = os.environ.get("KERAS_NEST_EXAMPLE_SIZE") == "reduced"'
    assert source.count(setting) == 1
    assert source.count('os.environ.get("KERAS_NEST_EXAMPLE_SIZE")') == 1
    code = [text for kind, text in notebooks.cells(source) if kind == "code"]
    code_lines = sum(1 for text in code for line in text.splitlines() if line.strip())
    assert code_lines <= MOST_CODE_LINES, code_lines


def test_papers_link_to_arxiv_abstract_pages(script):
    links = re.findall(r"https?://(?:www\.)?arxiv\.org/(\w+)/", script.read_text())
    assert set(links) <= {"abs"}, links


def test_black_formatted():
    result = subprocess.run(
        [sys.executable, "-m", "black", "-l", "100", "--check", "--quiet", *map(str, SCRIPTS)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_converter_makes_prose_markdown_and_code_cells():
    source = textwrap.dedent('''\
        """
        Title: T
        Description: D.
        """

        """
        ## Setup

        Text.
        """

        import os

        x = 1
        """Inline."""


        def f():
            """A function's docstring stays code."""
        ''')
    assert notebooks.cells(source) == [
        ("markdown", "Title: T\nDescription: D."),
        ("markdown", "## Setup\n\nText."),
        ("code", "import os\n\nx = 1"),
        ("markdown", "Inline."),
        ("code", 'def f():\n    """A function\'s docstring stays code."""'),
    ]
    assert notebooks.header(source) == {"Title": "T", "Description": "D."}
