"""The latent map as a plotly figure, and the plain logic behind its selections.

Kept out of the page so it can be unit-tested: AppTest cannot drive a plotly selection, but it
can check that a selection event turns into the right test-image indices.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

# Ten well-separated colours (Tableau 10), one per class.
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
AXIS_NAMES = {"latent": ("z[0]", "z[1]"), "pca": ("PC 1", "PC 2"),
              "umap": ("UMAP 1", "UMAP 2"), "tsne": ("t-SNE 1", "t-SNE 2")}


def map_figure(
    coords: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    method: str = "umap",
    highlight: Iterable[int] = (),
    height: int = 560,
    marker_size: int = 5,
) -> go.Figure:
    """A WebGL scatter of (N, 2) coordinates, one trace per class (so the legend toggles classes).

    Each point carries its test-set index as customdata, which is how selections map back to
    images. Coordinates go over as float32 typed arrays to keep the payload small.
    """
    coords = np.asarray(coords, dtype=np.float32)
    labels = np.asarray(labels)
    fig = go.Figure()
    index = np.arange(len(coords), dtype=np.int32)
    for c, name in enumerate(class_names):
        members = labels == c
        if not members.any():
            continue
        fig.add_trace(
            go.Scattergl(
                x=coords[members, 0],
                y=coords[members, 1],
                mode="markers",
                name=str(name),
                customdata=index[members],
                marker=dict(size=marker_size, color=PALETTE[c % len(PALETTE)], opacity=0.8),
                hovertemplate=f"#%{{customdata}} · {name}<extra></extra>",
            )
        )
    picked = np.fromiter(highlight, dtype=np.int64)
    if len(picked):
        # Rings around chosen points (e.g. a drawing's nearest neighbours). Not for a chart whose
        # selection is live: a changed figure makes Streamlit drop the selection.
        fig.add_trace(
            go.Scattergl(
                x=coords[picked, 0], y=coords[picked, 1], mode="markers", name="chosen",
                customdata=picked.astype(np.int32), hoverinfo="skip",
                marker=dict(size=marker_size + 9, color="rgba(0,0,0,0)",
                            line=dict(width=2, color="black")),
            )
        )
    x_name, y_name = AXIS_NAMES.get(method, ("1", "2"))
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),  # room above the plot for plotly's toolbar
        legend=dict(title="class", itemsizing="constant", y=1, yanchor="top"),
        dragmode="lasso",
        xaxis_title=x_name,
        yaxis_title=y_name,
        uirevision="keep",  # keeps zoom and legend toggles across reruns
    )
    if method == "latent":
        fig.update_yaxes(scaleanchor="x", scaleratio=1)  # a true picture of the latent plane
    return fig


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
