"""The latent map's other views as plotly figures: the codes in 3-D (:func:`map_3d_figure`) and
the "decode anywhere" plane (:func:`plane_figure`), a 2-D slice of the latent space that answers
a click anywhere, not only on a code.

The 2-D map itself is :func:`explorer.figures.map_figure`; classes are coloured the same way in
all three (:func:`explorer.figures.class_traces`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from explorer.figures import NO_MARGIN, class_traces, image_source
from explorer.inspect_latent import grid_centres

# How each method names its axes, numbered from 1 (a latent's own axes from 0: z[0], z[1], ...).
AXIS_PATTERNS = {"latent": "z[{}]", "pca": "PC {}", "umap": "UMAP {}", "tsne": "t-SNE {}"}
CLICK_GRID = 41  # clickable positions per side of the plane: any click lands near one
GRID_NAME = "anywhere"  # the invisible trace of clickable positions


def axis_titles(method: str, k: int) -> list[str]:
    """The k axis titles of a map drawn by `method`: ``["PC 1", "PC 2", "PC 3"]``, or
    ``["z[0]", "z[1]", "z[2]"]`` for the latent itself."""
    first = 0 if method == "latent" else 1
    pattern = AXIS_PATTERNS.get(method, "{}")
    return [pattern.format(first + n) for n in range(k)]


def map_3d_figure(coords: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                  method: str = "umap", height: int = 560, marker_size: int = 2) -> go.Figure:
    """A rotatable 3-D scatter of (N, 3) coordinates, one trace per class in its map colour,
    each point hovering as ``#index · class``.

    A latent of its own (``method == "latent"``) keeps its true proportions; a projection's axes
    are drawn as a cube, since their scales mean little.
    """
    coords = np.asarray(coords, dtype=np.float32)
    if coords.ndim != 2 or coords.shape[1] != 3:
        raise ValueError(f"A 3-D map needs (N, 3) coordinates, got {coords.shape}.")
    fig = go.Figure(class_traces(coords, labels, class_names, marker_size, opacity=0.8))
    x, y, z = axis_titles(method, 3)
    fig.update_layout(
        height=height,
        margin=NO_MARGIN,
        scene=dict(xaxis_title=x, yaxis_title=y, zaxis_title=z,
                   aspectmode="data" if method == "latent" else "cube"),
        legend=dict(title="class", itemsizing="constant"),
        uirevision="keep",  # the camera stays where the user turned it across reruns
    )
    return fig


def plane_figure(
    codes2d: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    extent: Sequence[float],
    axis_names: tuple[str, str] = ("z[0]", "z[1]"),
    image: np.ndarray | None = None,
    grid_n: int = CLICK_GRID,
    height: int = 520,
) -> go.Figure:
    """The test codes over a plane of the latent space that answers a click anywhere.

    Behind the codes lies a `grid_n` x `grid_n` grid of invisible points tiling `extent`
    (x0, x1, y0, y1), so a click between codes still selects a position (plotly picks the nearest
    point within 20 px, and the grid's points are closer than that at any usual size). The
    clicked point turns black. `image`, when given, is the decoded manifold (from
    :func:`explorer.inspect_latent.decoded_grid`) drawn under everything, aligned with `extent`.
    The figure never depends on what was clicked: a changed figure would drop the selection.
    """
    x0, x1, y0, y1 = (float(v) for v in extent)
    fig = go.Figure()
    if image is not None:
        fig.add_layout_image(source=image_source(image), xref="x", yref="y", x=x0, y=y1,
                             sizex=x1 - x0, sizey=y1 - y0, sizing="stretch", layer="below",
                             opacity=0.85)
    xs, ys = grid_centres(extent, grid_n)  # (n,) each, ascending
    fig.add_trace(go.Scattergl(
        x=np.tile(xs, grid_n), y=np.repeat(ys, grid_n), mode="markers", name=GRID_NAME,
        showlegend=False, marker=dict(size=10, color="rgba(0,0,0,0)"),
        selected=dict(marker=dict(color="black", size=12)),
        hovertemplate=f"{axis_names[0]} = %{{x:.2f}}, {axis_names[1]} = %{{y:.2f}}"
                      "<extra>click to decode</extra>",
    ))
    # Over the decoded manifold the codes are smaller and fainter, so the decodes show through.
    codes = class_traces(codes2d, labels, class_names, marker_size=5 if image is None else 4,
                         opacity=0.9 if image is None else 0.6)
    for trace in codes:  # a clicked position must not hide the codes around it
        trace.unselected = dict(marker=dict(opacity=0.4))
    fig.add_traces(codes)
    fig.update_xaxes(range=[x0, x1], title=axis_names[0], constrain="domain",
                     showgrid=image is None, zeroline=image is None)
    fig.update_yaxes(range=[y0, y1], title=axis_names[1], constrain="domain",
                     showgrid=image is None, zeroline=image is None,
                     scaleanchor="x", scaleratio=1)  # a true picture of the plane
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),  # room above the plot for plotly's toolbar
        legend=dict(title="class", itemsizing="constant", y=0.92, yanchor="top"),
        dragmode="pan",  # Streamlit selects on click only under pan or zoom
        clickmode="event+select",
        uirevision="keep",
    )
    return fig
