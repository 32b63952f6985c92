"""What a map of latent codes is asked for: the method (PCA, t-SNE, UMAP), its settings, seed and
number of dimensions, checked once, with the stable key its cached and shipped files are named by
(:mod:`explorer.analysis.projection` fits it; :mod:`explorer.analysis.projection_files` stores it).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from explorer.errors import ConfigError

METHODS = ("umap", "pca", "tsne")
COMPONENTS = (2, 3)  # a map on the screen, or one to rotate in 3-D
TITLES = {"umap": "UMAP", "pca": "PCA", "tsne": "t-SNE"}


@dataclass(frozen=True)
class ProjectionParams:
    """What to draw and how. Only the fields of the chosen method matter (see :meth:`key`)."""

    method: str = "umap"
    n_neighbors: int = 15
    min_dist: float = 0.1
    perplexity: float = 30.0
    seed: int = 0
    n_components: int = 2  # 2 for the map, 3 for the 3-D view

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ConfigError(
                f"Unknown projection method {self.method!r}; choose one of {', '.join(METHODS)}."
            )
        # Sliders and numpy hand over numpy scalars or ints where floats are meant; normalise so
        # that equal settings give equal keys (30 and 30.0 must name the same cache file).
        try:
            n_neighbors = _as_int(self.n_neighbors)
            seed = _as_int(self.seed)
            n_components = _as_int(self.n_components)
            min_dist = float(self.min_dist)
            perplexity = float(self.perplexity)
        except (TypeError, ValueError):
            raise ConfigError(
                "Projection settings must be numbers: n_neighbors and seed whole numbers, "
                "min_dist and perplexity decimals."
            ) from None
        if not 2 <= n_neighbors <= 10_000:
            raise ConfigError(f"n_neighbors must be between 2 and 10000; got {n_neighbors}.")
        if not 0.0 <= min_dist <= 1.0:  # umap needs min_dist <= spread, and spread is 1
            raise ConfigError(f"min_dist must be between 0 and 1; got {min_dist}.")
        if not (math.isfinite(perplexity) and perplexity > 0):
            raise ConfigError(f"perplexity must be a positive number; got {perplexity}.")
        if not 0 <= seed < 2**32:
            raise ConfigError(f"seed must be between 0 and 2**32 - 1; got {seed}.")
        if n_components not in COMPONENTS:
            raise ConfigError(f"A map has 2 or 3 dimensions; got n_components={n_components}.")
        object.__setattr__(self, "n_neighbors", n_neighbors)
        object.__setattr__(self, "seed", seed)
        object.__setattr__(self, "min_dist", min_dist)
        object.__setattr__(self, "perplexity", perplexity)
        object.__setattr__(self, "n_components", n_components)

    def key(self) -> str:
        """A short, stable, file-name-safe name for these settings, e.g. ``umap-n15-d0.1-s0``
        (a 3-D map adds ``-c3``: ``umap-n15-d0.1-s0-c3``).

        Settings the method ignores are left out, so changing the t-SNE perplexity never
        invalidates a cached UMAP map; the 2-D maps keep the names they had before 3-D maps
        existed, so no cached or shipped map goes stale.
        """
        if self.method == "umap":
            key = f"umap-n{self.n_neighbors}-d{self.min_dist!r}-s{self.seed}"
        elif self.method == "tsne":
            key = f"tsne-p{self.perplexity!r}-s{self.seed}"
        else:
            key = f"pca-s{self.seed}"
        return key if self.n_components == 2 else f"{key}-c{self.n_components}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> ProjectionParams:
        if not isinstance(d, dict):
            raise ConfigError("Projection settings must be a JSON object.")
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def _as_int(x: Any) -> int:
    if isinstance(x, bool) or int(x) != x:
        raise ValueError(x)
    return int(x)
