"""Predict, then reveal: the class's answers beside the true one — a bar per option (multiple
choice) or per value (a number), and dots on the map (a click) — and the plane a student clicks.

Arrays and strings in, plotly figures out. Students' names and options are a user's text:
escaped for plotly's labels (:func:`explorer.usertext.html`), shown as typed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from explorer.figures.plots import PALETTE
from explorer.usertext import html

TRUE_COLOUR, OTHER_COLOUR, CLASS_COLOUR = "#59a14f", "#bab0ac", "#e15759"
MARGIN = dict(l=10, r=10, t=40, b=10)
CLICK_GRID = 41  # clickable positions per side of the plane: any click lands near one
CLICK_NAME = "anywhere"
ANSWERS_NAME = "answers"


def _bars(labels: list[str], counts: list[int], true_index: int | None, x_title: str,
          height: int) -> go.Figure:
    colours = [TRUE_COLOUR if i == true_index else PALETTE[0] for i in range(len(labels))]
    fig = go.Figure(go.Bar(x=[html(s, 60) for s in labels], y=counts, marker_color=colours,
                           text=counts, textposition="outside", name=ANSWERS_NAME,
                           hovertemplate="%{x}: %{y} answers<extra></extra>"))
    top = max(counts, default=0)
    fig.update_layout(height=height, margin=MARGIN, showlegend=False, bargap=0.3)
    fig.update_xaxes(title=x_title, type="category")
    fig.update_yaxes(title="students", range=[0, top * 1.25 + 1], dtick=max(1, round(top / 5)))
    return fig


def choice_figure(options: Sequence[str], answers: Sequence[str], truth: str | None,
                  height: int = 360) -> go.Figure:
    """One bar per option, its count of answers; the true option's bar in green."""
    counts = Counter(answers)
    labels = list(options)
    true_index = labels.index(truth) if truth in labels else None
    fig = _bars(labels, [counts.get(o, 0) for o in labels], true_index, "answer", height)
    if true_index is not None:
        fig.add_annotation(x=html(labels[true_index], 60), y=counts.get(truth, 0),
                           text="true answer", showarrow=True, arrowhead=2, ay=-36,
                           yshift=22,  # above the bar's count
                           font=dict(color=TRUE_COLOUR))
    return fig


def number_figure(answers: Sequence[float], truth: float | None, height: int = 360,
                  bins: int = 12) -> go.Figure:
    """The answers' histogram: a bar per value when they are few whole numbers (with the true
    value's bar in green even if no one answered it), else `bins` equal bins; a green line at
    the true value."""
    values = np.asarray(answers, dtype=np.float64)
    every = [*values.tolist(), *([] if truth is None else [float(truth)])]
    whole = all(float(v).is_integer() for v in every)
    if whole and len(set(every)) <= 25:
        lo, hi = (int(min(every)), int(max(every))) if every else (0, 0)
        if hi - lo <= 40:
            keys = list(range(lo, hi + 1))
            counts = Counter(int(v) for v in values)
            true_index = keys.index(int(truth)) if truth is not None else None
            return _bars([str(k) for k in keys], [counts.get(k, 0) for k in keys],
                         true_index, "answer", height)
    fig = go.Figure()
    if len(values):
        fig.add_trace(go.Histogram(x=values, nbinsx=bins, marker_color=PALETTE[0],
                                   name=ANSWERS_NAME))
    if truth is not None:
        fig.add_vline(x=float(truth), line=dict(color=TRUE_COLOUR, width=4),
                      annotation_text=f"true answer {float(truth):g}",
                      annotation_font_color=TRUE_COLOUR)
    fig.update_layout(height=height, margin=MARGIN, showlegend=False)
    fig.update_xaxes(title="answer")
    fig.update_yaxes(title="students")
    return fig


def _plane_axes(fig: go.Figure, extent: Sequence[float], height: int) -> go.Figure:
    x0, x1, y0, y1 = (float(v) for v in extent)
    fig.update_xaxes(range=[x0, x1], title="z[0]", constrain="domain")
    fig.update_yaxes(range=[y0, y1], title="z[1]", constrain="domain", scaleanchor="x",
                     scaleratio=1)
    fig.update_layout(height=height, margin=MARGIN, uirevision="keep")
    return fig


def click_plane_figure(codes2d: np.ndarray, extent: Sequence[float],
                       height: int = 420) -> go.Figure:
    """The map a student clicks on: the test codes in grey (no classes: that is the question)
    over a grid of invisible clickable positions, so a click between codes counts too. The
    figure never depends on the click (a changed figure would drop the selection)."""
    x0, x1, y0, y1 = (float(v) for v in extent)
    k = np.arange(CLICK_GRID) + 0.5
    xs, ys = x0 + k * (x1 - x0) / CLICK_GRID, y0 + k * (y1 - y0) / CLICK_GRID
    fig = go.Figure()
    fig.add_trace(go.Scattergl(
        x=np.tile(xs, CLICK_GRID), y=np.repeat(ys, CLICK_GRID), mode="markers", name=CLICK_NAME,
        showlegend=False, marker=dict(size=14, color="black", opacity=0,
                                      line=dict(width=2, color="white")),
        selected=dict(marker=dict(opacity=1)), unselected=dict(marker=dict(opacity=0)),
        hovertemplate="(%{x:.2f}, %{y:.2f})<extra>click to answer</extra>"))
    fig.add_trace(go.Scattergl(x=codes2d[:, 0], y=codes2d[:, 1], mode="markers", name="codes",
                               showlegend=False, hoverinfo="skip",
                               marker=dict(size=4, color=OTHER_COLOUR, opacity=0.7),
                               unselected=dict(marker=dict(opacity=0.7))))
    fig.update_layout(dragmode="pan", clickmode="event+select")
    return _plane_axes(fig, extent, height)


def click_reveal_figure(codes2d: np.ndarray, labels: np.ndarray, label: int | None,
                        label_name: str, extent: Sequence[float], points: Sequence[Sequence[float]],
                        names: Sequence[str], truth: Sequence[float] | None,
                        height: int = 420) -> go.Figure:
    """The class's clicks as black dots (hover: the student's name) over the test codes, those
    of class `label` in colour (where the answer really lies), the true point as a green star."""
    fig = go.Figure()
    mine = labels == label if label is not None else np.zeros(len(labels), bool)
    fig.add_trace(go.Scattergl(x=codes2d[~mine, 0], y=codes2d[~mine, 1], mode="markers",
                               name="other digits", marker=dict(size=4, color=OTHER_COLOUR,
                                                                opacity=0.6), hoverinfo="skip"))
    if mine.any():
        fig.add_trace(go.Scattergl(x=codes2d[mine, 0], y=codes2d[mine, 1], mode="markers",
                                   name=html(f"the {label_name}s' codes"), hoverinfo="skip",
                                   marker=dict(size=6, color=CLASS_COLOUR, opacity=0.8)))
    if truth is not None:
        fig.add_trace(go.Scatter(x=[truth[0]], y=[truth[1]], mode="markers", name="true answer",
                                 marker=dict(size=24, symbol="star", color=TRUE_COLOUR,
                                             line=dict(width=2, color="black"))))
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    fig.add_trace(go.Scatter(x=pts[:, 0], y=pts[:, 1], mode="markers", name=ANSWERS_NAME,
                             marker=dict(size=14, color="black", line=dict(width=2,
                                                                           color="white")),
                             hovertext=[html(n, 40) for n in names], hoverinfo="text"))
    _plane_axes(fig, extent, height)
    # Under the plane: above it the legend would sit under plotly's toolbar.
    return fig.update_layout(legend=dict(orientation="h", y=-0.12, yanchor="top", x=0),
                             margin=dict(MARGIN, b=70))
