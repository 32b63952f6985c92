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
