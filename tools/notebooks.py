"""Notebooks from the keras.io-format examples: ``examples/X.py`` -> ``examples/ipynb/X.ipynb``.

    python tools/notebooks.py           # writes every notebook
    python tools/notebooks.py --check   # exit status 1, naming them, if any is out of date

A top-level string statement of the script (its docstring and every ``\"\"\"``
block between code) becomes a markdown cell, each run of code between them a
code cell; the header's ``Title:`` becomes the notebook's heading. The
notebooks are outputs of this converter, never edited by hand.
"""

import argparse
import ast
import inspect
import pathlib
import sys

REPO = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
NOTEBOOKS = EXAMPLES / "ipynb"
HEADER_FIELDS = (
    "Title",
    "Author",
    "Date created",
    "Last modified",
    "Description",
    "Accelerator",
    "Full run",
    "Reduced run",
)


def example_scripts():
    """Every example script, sorted by name."""
    return sorted(EXAMPLES.glob("*.py"))


def header(source):
    """``{field: value}`` of the script's docstring (the fields of ``HEADER_FIELDS``)."""
    docstring = ast.get_docstring(ast.parse(source), clean=True) or ""
    fields = {}
    for line in docstring.splitlines():
        name, colon, value = line.partition(":")
        if colon and name.strip() in HEADER_FIELDS:
            fields[name.strip()] = value.strip()
    return fields


def cells(source):
    """``[(kind, text)]``, kind "markdown" or "code", in the script's order.

    Markdown: the text of each top-level string statement, dedented. Code:
    the lines between them, without leading and trailing blank lines.
    """
    lines = source.splitlines()
    result = []
    start = 0  # first line (0-based) not yet in a cell
    for node in ast.parse(source).body:
        is_prose = isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if not (is_prose and isinstance(node.value.value, str)):
            continue
        _add_code(result, lines[start : node.lineno - 1])
        result.append(("markdown", inspect.cleandoc(node.value.value)))
        start = node.end_lineno
    _add_code(result, lines[start:])
    return result


def _add_code(result, lines):
    text = "\n".join(lines).strip("\n")
    if text.strip():
        result.append(("code", text))


def notebook(script):
    """The notebook of ``script`` (a path), as an ``nbformat`` node."""
    import nbformat  # only here: the site's build reads the scripts with this module too

    parts = titled_cells(script.read_text())
    book = nbformat.v4.new_notebook()
    book.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for index, (kind, text) in enumerate(parts):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        book.cells.append(make(text, id=f"{script.stem}-{index}"))
    return book


def titled_cells(source):
    """:func:`cells`, the docstring's cell made a title cell of the header's fields (the
    notebooks' and the site's pages' first cell)."""
    fields = header(source)
    parts = cells(source)
    if parts and parts[0][0] == "markdown" and "Title" in fields:
        parts[0] = ("markdown", _header_markdown(fields))
    return parts


def _header_markdown(fields):
    """The docstring's fields as a title cell."""
    lines = [f"# {fields['Title']}", ""]
    for name in HEADER_FIELDS[1:]:
        if name in fields:
            lines.append(f"**{name}:** {fields[name]}<br>")
    return "\n".join(lines)


def notebook_path(script):
    return NOTEBOOKS / f"{script.stem}.ipynb"


def rendered(script):
    """The text of ``script``'s notebook file, as written."""
    import nbformat

    return nbformat.writes(notebook(script)) + "\n"


def main():
    parser = argparse.ArgumentParser(description="Write or check the examples' notebooks.")
    parser.add_argument("--check", action="store_true", help="only report stale notebooks")
    args = parser.parse_args()
    stale = []
    for script in example_scripts():
        path = notebook_path(script)
        text = rendered(script)
        if path.exists() and path.read_text() == text:
            continue
        stale.append(path.relative_to(REPO))
        if not args.check:
            NOTEBOOKS.mkdir(exist_ok=True)
            path.write_text(text)
    orphans = sorted(
        path.relative_to(REPO)
        for path in NOTEBOOKS.glob("*.ipynb")
        if not (EXAMPLES / f"{path.stem}.py").exists()
    )
    if args.check and (stale or orphans):
        for path in stale:
            print(f"out of date: {path} (run `make notebooks`)")
        for path in orphans:
            print(f"no script: {path}")
        return 1
    for path in orphans:
        path.unlink()
    for path in stale:
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
