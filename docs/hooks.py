"""MkDocs hooks: the pages that come from the repository's own files, made at build time.

- ``index.md`` is ``README.md`` and ``examples/index.md`` is ``examples/README.md``;
- ``examples/<name>.md`` is ``examples/<name>.py``: its top-level strings as markdown, the
  code between them as python blocks (split by ``tools/notebooks.py``, as the notebooks are),
  each listed under "Examples" in the navigation.

A generated page sits where its source sits in the repository, so its relative links
keep their meaning: a link to another of these sources is pointed at its page, a link
to any other file of the repository (a figure, a script) copies that file into the site,
and a link to nothing is left for the strict build to report.
"""

import functools
import importlib.util
import pathlib
import posixpath
import re

from mkdocs.structure.files import File

REPO = pathlib.Path(__file__).resolve().parent.parent
EXAMPLES_SECTION = "Examples"  # the navigation section the example pages join
# An inline markdown link or image: [text](target "title"), the target without spaces.
LINK = re.compile(r"(!?\[[^\]]*\]\()([^)\s]+)")


def _import_notebooks():
    spec = importlib.util.spec_from_file_location("notebooks", REPO / "tools" / "notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


notebooks = _import_notebooks()


def on_config(config):
    """Lists every example script's page in the navigation's examples section."""
    for section in config.nav or []:
        if isinstance(section, dict) and EXAMPLES_SECTION in section:
            for script in notebooks.example_scripts():
                title = notebooks.header(script.read_text()).get("Title", script.stem)
                section[EXAMPLES_SECTION].append({title: f"examples/{script.stem}.md"})
    return config


def on_files(files, config):
    """Adds the generated pages and the repository files they link to."""
    page_uris = {"README.md": "index.md", "examples/README.md": "examples/index.md"}
    page_uris.update(
        {
            f"examples/{script.name}": f"examples/{script.stem}.md"
            for script in notebooks.example_scripts()
        }
    )
    linked_files = set()
    for source, uri in page_uris.items():
        relink = functools.partial(
            _relink, source=source, page_uris=page_uris, linked_files=linked_files
        )
        if source.endswith(".py"):
            content = _example_markdown(source, relink)
        else:
            content = relink((REPO / source).read_text())
        files.append(File.generated(config, uri, content=content))
    for path in sorted(linked_files):
        if files.get_file_from_path(path) is None:
            files.append(File.generated(config, path, abs_src_path=str(REPO / path)))
    return files


def _example_markdown(source, relink):
    """The page of the example script ``source``: its cells as the notebook has them, the
    markdown ones passed through ``relink``."""
    parts = notebooks.titled_cells((REPO / source).read_text())
    return "\n\n".join(
        relink(text) if kind == "markdown" else f"```python\n{text}\n```" for kind, text in parts
    )


def _relink(markdown, source, page_uris, linked_files):
    """``markdown`` (of repository file ``source``) with its relative links fitted to the site.

    Links to a file in ``page_uris`` point at its page; other repository files they
    link to are added to ``linked_files`` (repository paths) to be copied as they are.
    """
    folder = posixpath.dirname(source)

    def fit(match):
        prefix, target = match.groups()
        path, hash_mark, anchor = target.partition("#")
        if not path or "://" in path or path.startswith(("/", "mailto:")):
            return match.group(0)
        repo_path = posixpath.normpath(posixpath.join(folder, path))
        if repo_path in page_uris:
            page = posixpath.relpath(page_uris[repo_path], folder or ".")
            return f"{prefix}{page}{hash_mark}{anchor}"
        if (REPO / repo_path).is_file():
            linked_files.add(repo_path)
        return match.group(0)

    return LINK.sub(fit, markdown)
