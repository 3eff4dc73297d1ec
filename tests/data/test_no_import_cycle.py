"""Preprocessing sits below both models and data: neither imports the other."""

import ast
import os
import subprocess
import sys

import pytest

PACKAGE = os.path.join(os.path.dirname(__file__), "..", "..", "keras_nest")


def imported_modules(subpackage):
    """``{module: file}`` of every keras_nest import in ``subpackage``, lazy ones too."""
    found = {}
    for folder, _, files in os.walk(os.path.join(PACKAGE, subpackage)):
        for file in (f for f in files if f.endswith(".py")):
            path = os.path.join(folder, file)
            with open(path) as source:
                tree = ast.parse(source.read())
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module:
                    names = [f"{node.module}.{alias.name}" for alias in node.names]
                else:
                    continue
                for name in names:
                    if name.startswith("keras_nest."):
                        found[name] = os.path.relpath(path, PACKAGE)
    return found


@pytest.mark.parametrize(
    "subpackage, forbidden",
    [
        ("models", ("keras_nest.data",)),
        ("data", ("keras_nest.models",)),
        ("preprocessing", ("keras_nest.data", "keras_nest.models")),
    ],
)
def test_no_import_across(subpackage, forbidden):
    crossing = {
        name: path
        for name, path in imported_modules(subpackage).items()
        if name.startswith(tuple(f"{prefix}." for prefix in forbidden))
    }
    assert not crossing, f"keras_nest/{subpackage} imports {crossing}"


def test_data_imports_without_models():
    """As the ``keras-nest`` command imports it (``import keras_nest`` alone imports every model).

    Keras is not imported either (0.4 s).
    """
    code = (
        "import sys; sys.argv = ['keras-nest']; import keras_nest.data; "
        "print(' '.join({m.split('.')[1] for m in sys.modules if m.startswith('keras_nest.')}))\n"
        "print('keras' in sys.modules)"
    )
    env = dict(os.environ, KERAS_BACKEND="numpy")
    root = os.path.join(PACKAGE, "..")
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=root, capture_output=True, text=True, check=True
    )
    subpackages, keras_imported = result.stdout.splitlines()[-2:]
    assert {"data", "preprocessing"} <= set(subpackages.split())
    assert "models" not in subpackages.split() and keras_imported == "False"
