"""Figures that place whole models side by side: the rate–distortion plane (Alemi et al. 2018)
and the generators' precision against recall (Kynkäänniemi et al. 2019). The per-model figures
are in :mod:`explorer.figures.plots`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from explorer.figures.map import legend_room
from explorer.figures.plots import NO_MARGIN, PALETTE, class_color

if TYPE_CHECKING:
    from explorer.analysis.rdplane import RDPoint

MODEL_COLOUR, CURRENT_COLOUR = PALETTE[0], PALETTE[1]  # a model on the plane; the sidebar's
SWEEP_COLOURS = PALETTE[3:]  # one per β sweep: not the models' blue, current orange, red β=1 line
# One per owner of runs trained here (students in a class): darker than the sweeps' colours.
OWNER_COLOURS = ("#1b9e77", "#7570b3", "#d95f02", "#e7298a", "#66a61e", "#a6761d", "#1f78b4",
                 "#6a3d9a", "#b15928", "#33a02c", "#fb9a99", "#cab2d6")

SYMBOLS = ("circle", "diamond", "square", "triangle-up")


# ----------------------------------------------------------------------------------------------
# the rate–distortion plane


def rate_distortion_figure(points: Sequence[RDPoint], current: str | None = None,
                           height: int = 520, owners: dict[str, str] | None = None) -> go.Figure:
    """Models at (rate, distortion): iso-ELBO diagonals R + D = c, the slope -1 (β = 1) line
    through the best -ELBO, the floor, each shipped β sweep (:func:`explorer.analysis.rdplane.sweeps`)
    joined in order of β in its own colour, and AEs (unbounded rate) at the right edge. Runs
    trained here are points of their own, never joined to a sweep: one trace per owner
    (`owners`: run id -> the student's name, "you", ...), in the owner's colour, each point
    labelled with the owner's name. Each marker's customdata is its model id."""
    from explorer.analysis.rdplane import sweeps  # torch's module: imported when drawn
    from explorer.usertext import html as safe

    vaes = [p for p in points if p.rate is not None]
    floor = min((p.floor for p in points), default=0.0)
    r_max = max((p.rate for p in vaes), default=10.0) * 1.25 + 1.0
    d_all = [p.distortion for p in points]
    d_lo, d_hi = min([floor, *d_all]), max(d_all, default=floor + 10.0)
    d_lo, d_hi = d_lo - 0.05 * (d_hi - d_lo + 1), d_hi + 0.1 * (d_hi - d_lo + 1)
    fig = go.Figure()
    best = min((p.neg_elbo for p in vaes), default=None)
    if best is not None:
        for i, c in enumerate(np.linspace(best, best + 0.6 * (d_hi - d_lo + r_max), 5)[1:]):
            fig.add_trace(go.Scatter(x=[0, c - d_lo], y=[c, d_lo], mode="lines", hoverinfo="skip",
                                     line=dict(color="#cccccc", width=1, dash="dot"),
                                     name="equal total loss", legendgroup="iso",
                                     showlegend=i == 0))
        fig.add_trace(go.Scatter(x=[0, best - d_lo], y=[best, d_lo], mode="lines",
                                 hoverinfo="skip", line=dict(color="#e15759", width=1.5),
                                 name="β = 1 line"))
    fig.add_hline(y=floor, line=dict(color="#555555", dash="dash"),
                  annotation_text=f"floor {floor:.1f} nats", annotation_position="top left")
    x_of = {p.id: (p.rate if p.rate is not None else r_max) for p in points}  # AEs at the edge

    def hover(p: RDPoint) -> str:
        if p.rate is None:
            return f"{p.name}<br>autoencoder: no finite rate<br>distortion {p.distortion:.2f}"
        return (f"{p.name}<br>β = {p.beta:g}<br>rate {p.rate:.2f} · distortion "
                f"{p.distortion:.2f}<br>−ELBO {p.neg_elbo:.2f}")

    def models(group, name, colour, symbol="circle", size=11, line=None, text=None):
        """One trace of models; a click on one gives its id (customdata)."""
        fig.add_trace(go.Scatter(
            x=[x_of[p.id] for p in group], y=[p.distortion for p in group], name=name,
            mode="markers" + ("+lines" if line else "") + ("+text" if text else ""),
            text=text, textposition="top center", customdata=[p.id for p in group],
            hovertext=[hover(p) for p in group], hoverinfo="text", line=line,
            marker=dict(size=size, symbol=symbol, color=colour,
                        line=dict(width=1, color="black"))))

    # Each β sweep in its own colour, its points labelled with their β. Models outside a sweep
    # carry no label (β is on hover): several runs of one β would print theirs over each other.
    curves = sweeps(points)
    for k, (body, curve) in enumerate(curves.items()):
        colour = SWEEP_COLOURS[k % len(SWEEP_COLOURS)]
        models(curve, f"β sweep: {body}", colour, line=dict(color=colour, width=1.5),
               text=[f"β={p.beta:g}" for p in curve])
    swept = {p.id for curve in curves.values() for p in curve}
    shipped = [p for p in points if p.id.startswith("pretrained/")]
    if rest := [p for p in shipped if p.rate is not None and p.id not in swept
                and p.id != current]:
        models(rest, "VAE", MODEL_COLOUR)
    if rest := [p for p in shipped if p.rate is None and p.id != current]:
        models(rest, "AE (right edge)", MODEL_COLOUR, "triangle-right")
    # Runs trained here: each owner's points in the owner's colour, named, markers only.
    owners = owners or {}
    by_owner: dict[str, list[RDPoint]] = {}
    for p in points:
        if not p.id.startswith("pretrained/") and p.id != current:
            by_owner.setdefault(owners.get(p.id) or p.name, []).append(p)
    for k, (owner, group) in enumerate(sorted(by_owner.items(), key=lambda o: o[0].casefold())):
        label = safe(owner, 40)
        models(group, label, OWNER_COLOURS[k % len(OWNER_COLOURS)], size=12,
               symbol=["circle" if p.rate is not None else "triangle-right" for p in group],
               text=[label] * len(group))
    for p in points:
        if p.id == current:  # drawn last, so on top of its sweep's point
            run = not p.id.startswith("pretrained/")
            models([p], "the model you explore", CURRENT_COLOUR,
                   "circle" if p.rate is not None else "triangle-right", size=16,
                   text=[safe(owners.get(p.id) or p.name, 40)] if run else None)
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=30, b=10), clickmode="event+select",
        # Plain words first, the letter second; the formulas are in the page's caption. (With
        # the formula the y title outgrew a projector's plot and was clipped at its top.)
        xaxis=dict(title="rate R: what the code carries, nats per image",
                   range=[0, r_max * 1.05]),
        yaxis=dict(title="distortion D: rebuild cost, nats",
                   range=[d_lo, d_hi]),
        # Above the plot, where plotly makes room for it whatever the font: below, it sat on
        # the x-axis title once presenter mode enlarged the text.
        legend=dict(orientation="h", x=0, y=1.02, yanchor="bottom"))
    return fig


def precision_recall_figure(rows: dict[str, dict[str, float]]) -> go.Figure:
    """Each generator as a point (recall, precision), with its spread over sampling seeds as error
    bars where the row has one (`precision_sd`, `recall_sd`); the real images' reference (train
    vs test) as a star.
    Sharp samples that miss modes sit high and left; blurry ones that cover the data, low and
    right. Names are in the legend and on hover, not printed beside the points: a dozen models
    crowd one corner, and their names would print over each other."""
    fig = go.Figure()
    height = max(420, 60 + 36 * len(rows))  # px: room for one legend line per model
    for i, (name, s) in enumerate(rows.items()):
        floor = name.startswith("real")
        fig.add_trace(go.Scatter(
            x=[s["recall"]], y=[s["precision"]], mode="markers", name=name,
            error_x={"array": [s.get("recall_sd") or 0.0], "visible": "recall_sd" in s,
                     "thickness": 1},
            error_y={"array": [s.get("precision_sd") or 0.0], "visible": "precision_sd" in s,
                     "thickness": 1},
            hovertemplate=f"{name}<br>recall %{{x:.3f}} · precision %{{y:.3f}}<extra></extra>",
            # Past ten models the colours repeat: a second shape keeps each legend entry unique.
            marker={"size": 16 if floor else 12,
                    "symbol": "star" if floor else SYMBOLS[(i // len(PALETTE)) % len(SYMBOLS)],
                    "color": "#444" if floor else class_color(i),
                    "line": {"width": 1, "color": "white"}}))
    fig.update_layout(xaxis={"title": "data covered (recall)", "range": [-0.05, 1.05]},
                      yaxis={"title": "realistic samples (precision)", "range": [-0.05, 1.1]},
                      # Tall enough that a dozen names, in presenter mode's large text too, fit
                      # from the plot's top to the figure's foot without a scrollbar.
                      legend={"title": "model", "y": 1.0, "yanchor": "top",
                              "maxheight": legend_room(height)},
                      height=height, margin=NO_MARGIN)
    return fig
