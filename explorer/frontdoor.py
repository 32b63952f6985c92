"""Each layer's package is its front door: the pages (``explorer/ui``) import a package —
``explorer.analysis``, ``explorer.classroom``, ``explorer.data``, ``explorer.families``,
``explorer.jobs``, ``explorer.lessons``, ``explorer.runs``, ``explorer.training`` — and never one
of its modules, so the modules can move and split without a page changing.

A package lists what it offers in a table, module → the names it offers from it (``"view":
"ModelView decode"``; ``"score_floor=floor"`` offers the module's ``floor`` as ``score_floor``, where
a bare name would say too little beside the package's other names); a name is imported
from its module on first use (PEP 562), so opening the first page does not import torch because a
door names a function that needs it. Nothing is cached in the package: a test that replaces a
function in its module replaces it for the pages too.
"""

from __future__ import annotations

import importlib


def offered(table: dict[str, str]) -> dict[str, tuple[str, str]]:
    """A package's table as name offered → (module, the module's name for it)."""
    names: dict[str, tuple[str, str]] = {}
    for module, words in table.items():
        for word in words.split():
            name, _, attr = word.partition("=")
            if name in names:
                raise ValueError(f"{name} is offered twice ({names[name][0]} and {module})")
            names[name] = (module, attr or name)
    return names


def lazy(package: str, table: dict[str, str], namespace: dict):
    """The ``__getattr__`` and ``__dir__`` of `package`, which offers `table`'s names (module,
    relative to the package → its names, separated by spaces)."""
    names = offered(table)

    def __getattr__(name: str):
        try:
            module, attr = names[name]
        except KeyError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        return getattr(importlib.import_module(f"{package}.{module}"), attr)

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
