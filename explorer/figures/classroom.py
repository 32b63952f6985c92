"""The class dashboard's figures: every student's test loss per epoch, overlaid, and the
class's runs on the rate–distortion plane, each point named after its student in its own colour.

The class's points are drawn alone: they are never joined to the shipped β sweeps (a student's
β=1 run is not a point of that sweep). Names are escaped for plotly, whose text understands a
few HTML tags: a student called ``<b>x</b>`` is shown as typed.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go

from explorer.figures.plots import PALETTE

MARGIN = dict(l=10, r=10, t=30, b=10)


def _name(text: str) -> str:
    return html.escape(str(text), quote=False)


def _colors(names: list[str]) -> dict[str, str]:
    """One colour per student, in order of first appearance."""
    out: dict[str, str] = {}
    for name in names:
        out.setdefault(name, PALETTE[len(out) % len(PALETTE)])
    return out


def class_curves_figure(curves: list[dict], height: int = 300) -> go.Figure:
    """curves: {"student", "run", "epochs", "loss"} per run."""
    colors = _colors([c["student"] for c in curves])
    fig = go.Figure()
    for c in curves:
        fig.add_trace(go.Scatter(x=c["epochs"], y=c["loss"], mode="lines+markers",
                                 name=_name(c["student"]), line=dict(color=colors[c["student"]]),
                                 hovertext=_name(c["run"]), hoverinfo="text+y"))
    fig.update_layout(height=height, margin=MARGIN, xaxis_title="epoch",
                      yaxis_title="test loss (the training objective, per image)",
                      legend=dict(orientation="h", y=-0.25))
    return fig


def class_rd_figure(points: list[dict], height: int = 360) -> go.Figure:
    """points: {"student", "run", "rate", "distortion"}: nats per image, rate = KL(q(z|x)‖p(z))
    and distortion = −E log p(x|z) (Alemi et al. 2018, "Fixing a Broken ELBO")."""
    drawn = [p for p in points if p.get("rate") is not None]
    colors = _colors([p["student"] for p in drawn])
    fig = go.Figure()
    for p in drawn:
        fig.add_trace(go.Scatter(
            x=[p["rate"]], y=[p["distortion"]], mode="markers+text", text=[_name(p["student"])],
            textposition="top center", name=_name(p["student"]),
            marker=dict(size=12, color=colors[p["student"]]), hovertext=[_name(p["run"])],
            showlegend=False))
    fig.update_layout(height=height, margin=MARGIN,
                      xaxis_title="rate: KL in nats per image",
                      yaxis_title="distortion: −log p(x|z) in nats per image")
    return fig
