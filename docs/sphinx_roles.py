"""Griffe extension: the Sphinx roles of the docstrings (:func:`name`) in markdown.

A role's target is looked up from the docstring's own scope, as Python would, and
becomes an optional cross-reference: a link where the site documents that object,
else the name as code.
"""

import re

import griffe

# :func:`name`, :py:class:`~module.Name`, ...: the target, without "~" or a trailing "()".
ROLE = re.compile(r":(?:py:)?[a-z]+:`~?([\w.]+?)(?:\(\))?`")


class SphinxRoles(griffe.Extension):
    def on_object(self, *, obj, **kwargs):
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(
                lambda match: _reference(obj, match[1]), obj.docstring.value
            )


def _reference(obj, name):
    """An optional autorefs link to ``name`` as seen from ``obj``."""
    first, dot, rest = name.partition(".")
    try:
        identifier = obj.resolve(first) + dot + rest
    except griffe.NameResolutionError:
        identifier = name
    return f'<autoref identifier="{identifier}" optional><code>{name}</code></autoref>'
