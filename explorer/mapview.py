"""The plain logic behind the latent map's selections: a plotly selection event -> test-image
indices (the figure itself is :func:`explorer.figures.map_figure`).

Kept out of the page so it can be unit-tested: AppTest cannot drive a plotly selection, but it
can check that a selection event turns into the right test-image indices.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


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


def pair_for_interpolation(indices: Sequence[int]) -> tuple[int, int] | None:
    """The first two distinct selected images, to send to the interpolation page."""
    return (int(indices[0]), int(indices[1])) if len(indices) >= 2 else None
