"""The model families and their registry: the one place that knows which families exist.

Each family lives in a folder of its own (``ae_vae/``, ``cvae/``, ``gan/``, ``latent_diffusion/``): a torch-free
:class:`~explorer.families.base.Family` declaration in its ``__init__`` and its torch side in
``ops.py``. The rest of the app asks the registry (:func:`get`, :func:`of`) what a family can do,
how it trains, evaluates and samples; it never branches on a family's name. A new family is one
folder and one :func:`register` call (tests/families/ adds a throwaway one).
"""

from __future__ import annotations

from explorer.errors import ConfigError, plain
from explorer.families.base import Family
from explorer.frontdoor import lazy

_REGISTRY: dict[str, Family] = {}


def register(family: Family) -> Family:
    """Add (or replace) a family; its name is what cards store as "kind"."""
    _REGISTRY[family.name] = family
    return family


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def names(base_run: bool | None = False) -> tuple[str, ...]:
    """The families of image models (the Train form's and a card's kinds); with base_run=True
    those trained over another run's codes; with None all of them."""
    return tuple(f.name for f in all_families(base_run))


def all_families(base_run: bool | None = False) -> tuple[Family, ...]:
    return tuple(f for f in _REGISTRY.values() if base_run is None or f.base_run == base_run)


def over_runs() -> tuple[Family, ...]:
    """The families trained over another run's codes (a learned prior over a base's codes)."""
    return all_families(base_run=True)


def folder_family(folder) -> Family | None:
    """The family over another run's codes whose files `folder` holds, if any."""
    return next((f for f in over_runs() if f.owns(folder)), None)


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
    from explorer.families import ae_vae, cvae, gan, latent_diffusion

    for family in (*ae_vae.FAMILIES, cvae.FAMILY, gan.FAMILY, latent_diffusion.DECLARATION):
        register(family)


_register_builtins()


# What the pages may use: each module, and the names offered from it (explorer/frontdoor.py).
OFFERS = {
    "config": "ARCHS ModelConfig parse_hidden",
    "gan.measures": "collapse_warning",
    "generate": "same_style",
    "latent_diffusion": "DiffusionConfig DiffusionTrainConfig",
    "latent_diffusion.files": "list_priors load_prior priors_of",
    "latent_diffusion.jobs": "job_items job_model",
    "latent_diffusion.views": "arrow_grid movie_frames MOVIE_POINTS reverse_process sample_images "
                              "scored_rows shipped_rows strip_steps",
    "models": "Autoencoder",
}
__getattr__, __dir__ = lazy(__name__, OFFERS, globals())
