"""Figures that place whole models side by side: the rate–distortion plane (Alemi et al. 2018)
and the generators' precision against recall (Kynkäänniemi et al. 2019). The per-model figures
are in :mod:`explorer.figures`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go

from explorer.figures import NO_MARGIN, class_color

if TYPE_CHECKING:
    from explorer.rdplane import RDPoint


# ----------------------------------------------------------------------------------------------
# the rate–distortion plane


def rate_distortion_figure(points: Sequence[RDPoint], current: str | None = None,
                           height: int = 520) -> go.Figure:
    """Models at (rate, distortion): iso-ELBO diagonals R + D = c, the slope -1 (β = 1) line
    through the best -ELBO, the floor, models differing only in β joined in order of β, and AEs
    (unbounded rate) at the right edge. Each marker's customdata is its model id."""
    vaes = [p for p in points if p.rate is not None]
    aes = [p for p in points if p.rate is None]
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
                                     name="iso-ELBO: R + D = const", legendgroup="iso",
                                     showlegend=i == 0))
        fig.add_trace(go.Scatter(x=[0, best - d_lo], y=[best, d_lo], mode="lines",
                                 hoverinfo="skip", line=dict(color="#e15759", width=1.5),
                                 name=f"β = 1 line (slope −1): −ELBO {best:.1f}"))
    fig.add_hline(y=floor, line=dict(color="#555555", dash="dash"),
                  annotation_text=f"floor {floor:.1f} nats", annotation_position="top left")
    for body in dict.fromkeys(p.body for p in vaes):
        curve = sorted((p for p in vaes if p.body == body), key=lambda p: p.beta)
        if len(curve) > 1:
            fig.add_trace(go.Scatter(x=[p.rate for p in curve], y=[p.distortion for p in curve],
                                     mode="lines", line=dict(color="#9c755f", width=1),
                                     hoverinfo="skip", name=f"β sweep: {body}"))

    def markers(group, x, symbol, name, hover):
        chosen = [p.id == current for p in group]
        fig.add_trace(go.Scatter(
            x=x, y=[p.distortion for p in group], mode="markers+text", name=name,
            text=[f"β={p.beta:g}" if p.kind == "vae" else "AE" for p in group],
            textposition="top center", customdata=[p.id for p in group],
            hovertext=[hover(p) for p in group], hoverinfo="text",
            marker=dict(size=[16 if c else 11 for c in chosen], symbol=symbol,
                        color=["#f28e2b" if c else "#4e79a7" for c in chosen],
                        line=dict(width=1, color="black"))))

    if vaes:
        markers(vaes, [p.rate for p in vaes], "circle", "VAE", lambda p: (
            f"{p.name}<br>β = {p.beta:g}<br>rate {p.rate:.2f} · distortion {p.distortion:.2f}"
            f"<br>−ELBO {p.neg_elbo:.2f}"))
    if aes:
        markers(aes, [r_max] * len(aes), "triangle-right", "AE (rate unbounded, at the edge)",
                lambda p: f"{p.name}<br>autoencoder: no finite rate<br>distortion {p.distortion:.2f}")
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=30, b=10), clickmode="event+select",
        xaxis=dict(title="rate R = KL(q(z|x) ‖ p(z)), nats", range=[0, r_max * 1.05]),
        yaxis=dict(title="distortion D = −log p(x|z), nats", range=[d_lo, d_hi]),
        legend=dict(orientation="h", y=-0.18, yanchor="top"))


    return fig


def precision_recall_figure(rows: dict[str, dict[str, float]]) -> go.Figure:
    """Each generator as a point (recall, precision); the floor (train vs test images) as a star.
    Sharp samples that miss modes sit high and left; blurry ones that cover the data, low and
    right."""
    fig = go.Figure()
    for i, (name, s) in enumerate(rows.items()):
        floor = name.startswith("real")
        fig.add_trace(go.Scatter(
            x=[s["recall"]], y=[s["precision"]], mode="markers+text", text=[name],
            textposition="top center", name=name, showlegend=False,
            marker={"size": 16 if floor else 12, "symbol": "star" if floor else "circle",
                    "color": "#444" if floor else class_color(i)}))
    fig.update_layout(xaxis={"title": "recall (the data covered)", "range": [-0.05, 1.05]},
                      yaxis={"title": "precision (samples realistic)", "range": [-0.05, 1.1]},
                      height=420, margin=NO_MARGIN)
    return fig
