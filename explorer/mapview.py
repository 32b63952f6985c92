"""The plain logic behind the latent map's selections: a plotly selection event -> test-image
indices (the figure itself is :func:`explorer.figures.map_figure`), or, on the decode-anywhere
plane, -> the latent code of the clicked position.

Kept out of the page so it can be unit-tested: AppTest cannot drive a plotly selection, but it
can check that a selection event turns into the right test-image indices.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np


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


# ----------------------------------------------------------------------------------------------
# the decode-anywhere plane (:func:`explorer.figures_map.plane_figure`)


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
