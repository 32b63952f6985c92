"""Each layer's package is its front door: the pages (``explorer/ui``) import a package —
``explorer.analysis``, ``explorer.classroom``, ``explorer.data``, ``explorer.families``,
``explorer.jobs``, ``explorer.lessons``, ``explorer.runs``, ``explorer.training`` — and never one
of its modules, so the modules can move and split without a page changing.

A package lists what it offers in a table, name → the module that defines it; a name is imported
from its module on first use (PEP 562), so opening the first page does not import torch because a
door names a function that needs it. Nothing is cached in the package: a test that replaces a
function in its module replaces it for the pages too.
"""

from __future__ import annotations

import importlib


def lazy(package: str, table: dict[str, str], namespace: dict):
    """The ``__getattr__`` and ``__dir__`` of `package`, whose `table` maps a name it offers to
    ``"module"`` (same name there) or ``"module:name"``, relative to the package."""

    def __getattr__(name: str):
        try:
            where = table[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        module, _, attr = where.partition(":")
        return getattr(importlib.import_module(f"{package}.{module}"), attr or name)

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(table))

    return __getattr__, __dir__
