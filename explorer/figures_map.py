"""The latent map's figures: test codes placed in 2-D, coloured by class or by one number per
image (with its colour bar), with rings around chosen points.

Every point carries its test-set index as customdata, which is how a plotly selection maps back to
test images (:func:`explorer.mapview.selected_indices`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import plotly.graph_objects as go

from explorer.figures import AXIS_NAMES, class_traces

VALUE_PERCENTILES = (1.0, 99.0)  # a continuous colour spans these, so a few outliers wash nothing out


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
        customdata=index, text=np.asarray(class_names, dtype=object)[np.asarray(labels)],
        marker=dict(size=marker_size, opacity=0.8, color=values, cmin=float(lo), cmax=float(hi),
                    colorscale="RdBu_r" if centre is not None else "Viridis",
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
    figure makes Streamlit drop the selection (see :func:`explorer.mapview.choose`).
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
    # The legend starts below plotly's toolbar, which floats over the plot's top right; beside a
    # colour bar it moves above the plot, on the left.
    place = dict(y=0.92, yanchor="top") if values is None else \
        dict(orientation="h", x=0, y=1.0, yanchor="bottom")
    fig.update_layout(
        height=height,
        margin=dict(l=10, r=10, t=40, b=10),  # room above the plot for plotly's toolbar
        showlegend=legend,
        legend=dict(title="class" if values is None else None, itemsizing="constant", **place),
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
