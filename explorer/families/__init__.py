"""The model families and their registry: the one place that knows which families exist.

Each family lives in a folder of its own (``ae_vae/``, ``cvae/``, ``gan/``): a torch-free
:class:`~explorer.families.base.Family` declaration in its ``__init__`` and its torch side in
``ops.py``. The rest of the app asks the registry (:func:`get`, :func:`of`) what a family can do,
how it trains, evaluates and samples; it never branches on a family's name. A new family is one
folder and one :func:`register` call (tests/families/ adds a throwaway one).
"""

from __future__ import annotations

from explorer.errors import ConfigError, plain
from explorer.families.base import Family

_REGISTRY: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add (or replace) a family; its name is what cards store as "kind"."""
    _REGISTRY[family.name] = family
    return family


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def names() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def all_families() -> tuple[Family, ...]:
    return tuple(_REGISTRY.values())


def get(kind: str) -> Family:
    try:
        return _REGISTRY[kind]
    except (KeyError, TypeError):
        raise ConfigError(
            f"Unknown model kind '{plain(str(kind), 40)}': choose one of "
            f"{', '.join(_REGISTRY)}.") from None


def of(thing) -> Family:
    """The family of a model, a ModelConfig, a card's config or a store entry."""
    for attr in ("cfg", "config"):
        if hasattr(thing, attr):
            thing = getattr(thing, attr)
            break
    return get(getattr(thing, "kind", thing))


def capabilities(kind: str) -> frozenset[str]:
    return get(kind).capabilities


def _register_builtins() -> None:
    from explorer.families import ae_vae, cvae, gan

    for family in (*ae_vae.FAMILIES, cvae.FAMILY, gan.FAMILY):
        register(family)


_register_builtins()
