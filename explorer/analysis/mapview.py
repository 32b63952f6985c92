"""The plain logic behind the latent map: a plotly selection event -> test-image indices, which
selection wins when clicks, a search and two maps compete, and what a colouring is called (the
figure itself is :func:`explorer.figures.map.map_figure`); on the decode-anywhere plane, a click
-> the latent code of the clicked position.

Kept out of the pages so it can be unit-tested: AppTest cannot drive a plotly selection, but it
can check that a selection event turns into the right test-image indices.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from explorer import families

# What the 2-D map can be coloured by: the option (also its value in code) -> its label.
COLOURS = {"class": "class", "error": "reconstruction error", "kl": "KL per image",
           "z": "one latent dimension"}
VAE_ONLY = ("kl",)
# The reconstruction error in each likelihood's own units (see metrics.per_image_recon_nll).
RECON_TITLES = {
    "bernoulli": "reconstruction error, BCE nats per image",
    "binarized": "reconstruction error, BCE nats per image (binarised image)",
    "gaussian": "reconstruction error, Gaussian NLL nats per image",
}


def colour_options(kind: str) -> list[str]:
    """The colourings a model of `kind` offers: KL needs a posterior (a VAE)."""
    return [c for c in COLOURS if families.get(kind).posterior or c not in VAE_ONLY]


def colour_title(colour: str, kind: str, likelihood: str, dim: int = 0) -> str:
    """The colour bar's title for a continuous colouring, naming the quantity and its units."""
    if colour == "error":
        return RECON_TITLES[likelihood]
    if colour == "kl":
        return "KL(q(z|x) ‖ N(0, I)), nats per image"
    if colour == "z":
        posterior = families.get(kind).posterior
        return f"z[{dim}], posterior mean μ" if posterior else f"z[{dim}], code value"
    raise ValueError(f"{colour!r} is not a continuous colouring")


def selected_indices(selection: Mapping | None, limit: int | None = None) -> list[int]:
    """Test-set indices of the points in a plotly selection event, in order, without repeats."""
    if not selection:
        return []
    points = selection.get("points") or []
    seen: dict[int, None] = {}
    for p in points:
        value = p.get("customdata") if isinstance(p, Mapping) else None
        if isinstance(value, list | tuple):
            value = value[0] if value else None
        if value is None:
            continue
        try:
            seen.setdefault(int(value), None)
        except (TypeError, ValueError):
            continue
    out = list(seen)
    return out[:limit] if limit else out


def in_click_order(previous: Sequence[int], current: Sequence[int]) -> list[int]:
    """`current`'s indices with those already chosen before first, in their old order, then the
    new ones: plotly lists selected points by trace, not by when they were clicked."""
    now = set(current)
    kept = [i for i in previous if i in now]
    seen = set(kept)
    return kept + [i for i in current if i not in seen]


def pair_for_interpolation(indices: Sequence[int],
                           labels: Sequence[int] | None = None) -> tuple[int, int] | None:
    """Two selected images to send to the interpolation page: the first chosen, and the next
    one of another class if there is one (a box or lasso often holds many of one digit), else
    the second chosen."""
    if len(indices) < 2:
        return None
    first = int(indices[0])
    if labels is not None:
        for i in indices[1:]:
            if labels[int(i)] != labels[first]:
                return first, int(i)
    return first, int(indices[1])


@dataclass(frozen=True)
class Kept:
    """The points chosen by clicking, and the figure they were chosen on: `figure` is
    (model, search, picture); `inherited` when they came from an earlier figure."""

    figure: tuple[Hashable, Hashable, Hashable]
    clicks: tuple[int, ...] = ()
    inherited: bool = False


def choose(picked: Sequence[int], found: Sequence[int], figure: tuple[Hashable, Hashable, Hashable],
           kept: Kept | None) -> tuple[list[int], Kept]:
    """What the map shows as chosen, and what to keep for the next run.

    A changed figure starts unselected in Streamlit, so the newest action wins: points `picked`
    on this figure; else points clicked on an earlier picture of the same model and search (a
    UMAP map replacing its PCA stand-in, another colouring), kept; else what the search `found`
    (a new search changes the figure, dropping older clicks).
    """
    if picked:
        clicks = in_click_order(kept.clicks if kept else (), picked)
        return clicks, Kept(figure, tuple(clicks))
    if kept and kept.clicks and kept.figure[:2] == figure[:2] and (
            kept.figure != figure or kept.inherited):
        return list(kept.clicks), Kept(figure, kept.clicks, inherited=True)
    return [int(i) for i in found], Kept(figure)


def newest_selection(selections: Mapping[str, Sequence[int]], seen: Mapping[str, Sequence[int]],
                     chosen: Sequence[int]) -> list[int]:
    """Two maps that ring each other's selection: the newest selection on any chart (one not
    `seen` on that chart at the last run), else the one `chosen` before. A chart whose figure
    changed starts empty, which never clears the choice."""
    for key, picked in selections.items():
        if picked and list(picked) != list(seen.get(key, ())):
            return list(picked)
    return list(chosen)


# ----------------------------------------------------------------------------------------------
# the decode-anywhere plane (:func:`explorer.figures.map.plane_figure`)


def clicked_position(selection: Mapping | None) -> tuple[float, float] | None:
    """The (x, y) of the point clicked on the plane, from a plotly selection event: a test code
    or one of the invisible grid points alike. With several points selected (shift-click), the
    last one listed; None when nothing with finite coordinates is selected."""
    if not selection:
        return None
    for p in reversed(selection.get("points") or []):
        if not isinstance(p, Mapping):
            continue
        try:
            x, y = float(p["x"]), float(p["y"])
        except (KeyError, TypeError, ValueError):
            continue
        if math.isfinite(x) and math.isfinite(y):
            return x, y
    return None


def plane_code(base: np.ndarray, dims: Sequence[int], position: Sequence[float]) -> np.ndarray:
    """The latent code a point of the plane stands for: `base` (D,) with dimensions dims[0] and
    dims[1] set to the point's (x, y); (D,) float32. For a 2-D latent it is the point itself."""
    z = np.array(base, dtype=np.float32).reshape(-1)  # a copy: the base stays as it was
    i, j = (int(d) for d in dims)
    z[i], z[j] = position
    return z


def position_text(position: Sequence[float]) -> str:
    """A position for the URL (``?plane_at=0.512,-1.3``): short, and read back by
    :func:`parse_position`."""
    return ",".join(f"{float(v):.4g}" for v in position)


def parse_position(text: str | None) -> tuple[float, float] | None:
    """The (x, y) in a link's ``plane_at``, or None when it is missing or not two finite
    numbers."""
    try:
        x, y = (float(v) for v in str(text).split(","))
    except (TypeError, ValueError):
        return None
    return (x, y) if math.isfinite(x) and math.isfinite(y) else None
