"""The latent map's figures: test codes placed in 2-D, coloured by class or by one number per
image (with its colour bar), with rings around chosen points; the codes in 3-D
(:func:`map_3d_figure`); and the "decode anywhere" plane (:func:`plane_figure`), a 2-D slice of
the latent space that answers a click anywhere, not only on a code.

Every point carries its test-set index as customdata, which is how a plotly selection maps back to
test images (:func:`explorer.analysis.mapview.selected_indices`). Classes are coloured the same way in all
of them (:func:`explorer.figures.plots.class_traces`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import plotly.graph_objects as go

from explorer import usertext
from explorer.figures.plots import AXIS_NAMES, NO_MARGIN, class_traces, image_source

VALUE_PERCENTILES = (1.0, 99.0)  # a continuous colour spans these, so a few outliers wash nothing out
# Blue below the centre, red above, grey at it: RdBu's white middle vanished on the white page.
DIVERGING = [[0.0, "#053061"], [0.25, "#4393c3"], [0.5, "#a0a0a0"], [0.75, "#d6604d"],
             [1.0, "#67001f"]]


TOOLBAR_PX = 40  # the top margin of a map: plotly's toolbar floats there, over the right side


def legend_room(height: int) -> int:
    """The most a legend beside a map of `height` px may take, in px: from the plot's top to
    the figure's foot. Plotly's default, the plot area's height alone (less the x axis's labels
    and title), makes ten classes in presenter mode's large text scroll."""
    return height - TOOLBAR_PX


def value_trace(coords: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                values: np.ndarray, title: str, centre: float | None = None,
                marker_size: int = 5) -> go.Scattergl:
    """All points in one WebGL trace, coloured by `values` (one per point) on a colour bar titled
    `title`. With a `centre` the scale diverges around it (e.g. 0 for a code dimension).

    The colours span the 1st to 99th percentile; hovering shows each point's own value.
    """
    values = np.asarray(values, dtype=np.float32)
    finite = values[np.isfinite(values)]
    lo, hi = np.percentile(finite, VALUE_PERCENTILES) if len(finite) else (0.0, 1.0)
    if centre is not None:
        reach = max(abs(lo - centre), abs(hi - centre)) or 1.0
        lo, hi = centre - reach, centre + reach
    index = np.arange(len(coords), dtype=np.int32)
    return go.Scattergl(
        x=coords[:, 0], y=coords[:, 1], mode="markers", name=title, showlegend=False,
        customdata=index, text=np.asarray([usertext.html(n) for n in class_names] or [""],
                                           dtype=object)[np.asarray(labels)],
        marker=dict(size=marker_size, opacity=0.8, color=values, cmin=float(lo), cmax=float(hi),
                    colorscale=DIVERGING if centre is not None else "Viridis",
                    colorbar=dict(title=dict(text=title, side="right"), thickness=14)),
        selected=dict(marker=dict(opacity=1.0, size=marker_size + 4)),
        unselected=dict(marker=dict(opacity=0.08)),
        hovertemplate="#%{customdata} · %{text} · %{marker.color:.3g}<extra></extra>")


def ring_trace(coords: np.ndarray, chosen: Iterable[int], name: str = "chosen",
               marker_size: int = 5) -> go.Scattergl:
    """Rings around chosen points, which keep their own colour inside."""
    picked = np.fromiter(chosen, dtype=np.int64)
    return go.Scattergl(
        x=coords[picked, 0], y=coords[picked, 1], mode="markers", name=name,
        customdata=picked.astype(np.int32), hoverinfo="skip",
        marker=dict(size=marker_size + 9, color="rgba(0,0,0,0)",
                    line=dict(width=2, color="black")))


def map_figure(
    coords: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    method: str = "umap",
    highlight: Iterable[int] = (),
    height: int = 560,
    marker_size: int = 5,
    values: np.ndarray | None = None,
    values_title: str = "",
    centre: float | None = None,
    highlight_name: str = "chosen",
    legend: bool = True,
) -> go.Figure:
    """A WebGL scatter of (N, 2) coordinates: one trace per class, or with `values` one trace
    coloured by them (see :func:`value_trace`); `highlight` rings chosen points.

    Rings are not for a chart whose selection is live unless the page expects it: a changed
    figure makes Streamlit drop the selection (see :func:`explorer.analysis.mapview.choose`).
    """
    coords = np.asarray(coords, dtype=np.float32)  # float32 typed arrays keep the payload small
    if values is None:
        fig = go.Figure(class_traces(coords, labels, class_names, marker_size))
    else:
        fig = go.Figure(value_trace(coords, labels, class_names, values, values_title, centre,
                                    marker_size))
    highlight = list(highlight)
    if highlight:
        fig.add_trace(ring_trace(coords, highlight, highlight_name, marker_size))
    x_name, y_name = AXIS_NAMES.get(method, ("1", "2"))
    # The legend starts at the plot's top, under plotly's toolbar (which floats in the top
    # margin, on the right), and may run down to the figure's foot (beside the x axis's labels)
    # rather than scroll; beside a colour bar it moves above the plot, on the left.
    place = dict(y=1.0, yanchor="top", maxheight=legend_room(height)) if values is None else \
        dict(orientation="h", x=0, y=1.0, yanchor="bottom")
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=TOOLBAR_PX, b=10),  # room above the plot for the toolbar
        showlegend=legend,
        # No gap between classes (each its own legend group): ten of them fit beside the plot
        # without a scrollbar, even in presenter mode's large text.
        legend=dict(title="class" if values is None else None, itemsizing="constant",
                    tracegroupgap=0, **place),
        # Streamlit's chart selects a clicked point only while the drag tool is pan or zoom (with
        # box or lasso it turns click selection off), so the map opens in pan mode, where a click
        # selects and shift-click adds; box and lasso are in the toolbar for groups.
        dragmode="pan",
        clickmode="event+select",
        xaxis_title=x_name,
        yaxis_title=y_name,
        uirevision="keep",  # keeps zoom and legend toggles across reruns
    )
    if method == "latent":
        fig.update_yaxes(scaleanchor="x", scaleratio=1)  # a true picture of the latent plane
    return fig


# ----------------------------------------------------------------------------------------------
# the codes in 3-D, and the decode-anywhere plane

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
    clicked point appears, black ringed in white. `image`, when given, is the decoded manifold (from
    :func:`explorer.analysis.inspect_latent.decoded_grid`) drawn under everything, aligned with `extent`.
    The figure never depends on what was clicked: a changed figure would drop the selection.
    """
    from explorer.analysis.inspect_latent import grid_centres  # torch's module: imported when drawn

    x0, x1, y0, y1 = (float(v) for v in extent)
    fig = go.Figure()
    if image is not None:
        fig.add_layout_image(source=image_source(image), xref="x", yref="y", x=x0, y=y1,
                             sizex=x1 - x0, sizey=y1 - y0, sizing="stretch", layer="below",
                             opacity=0.85)
    xs, ys = grid_centres(extent, grid_n)  # (n,) each, ascending
    fig.add_trace(go.Scattergl(
        x=np.tile(xs, grid_n), y=np.repeat(ys, grid_n), mode="markers", name=GRID_NAME,
        # Invisible until clicked; the clicked point is black ringed in white, so it shows on
        # the white plane and on the decoded manifold's black tiles alike.
        showlegend=False, marker=dict(size=12, color="black", opacity=0,
                                      line=dict(width=2, color="white")),
        selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=0)),
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
        margin=dict(l=10, r=10, t=TOOLBAR_PX, b=10),  # room above the plot for the toolbar
        # Under the toolbar, with no gap between classes, down to the figure's foot at most:
        # ten classes fit without a scrollbar, even in presenter mode's large text.
        legend=dict(title="class", itemsizing="constant", y=1.0, yanchor="top",
                    tracegroupgap=0, maxheight=legend_room(height)),
        dragmode="pan",  # Streamlit selects on click only under pan or zoom
        clickmode="event+select",
        uirevision="keep",
    )
    return fig
