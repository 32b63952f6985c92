"""The class dashboard's figures: every student's test loss per epoch, overlaid, and the
class's runs on the rate–distortion plane, each point named after its student in its own colour.

The class's points are drawn alone: they are never joined to the shipped β sweeps (a student's
β=1 run is not a point of that sweep). Names are escaped for plotly, whose text understands a
few HTML tags: a student called ``<b>x</b>`` is shown as typed.
"""

from __future__ import annotations

import html

import plotly.graph_objects as go

from explorer.figures.plots import PALETTE, unchecked_figure

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
    """curves: {"student", "run", "epochs", "loss"} per run.

    Redrawn every 2 s on the projector with a trace per run: the traces are plain data and plotly's
    checks are skipped (~75 ms for 30 students on a loaded core; tests check the figure is the one
    plotly would build)."""
    colors = _colors([c["student"] for c in curves])
    data = [{"type": "scatter", "x": c["epochs"], "y": c["loss"], "mode": "lines+markers",
             "name": _name(c["student"]), "line": {"color": colors[c["student"]]},
             "hovertext": _name(c["run"]), "hoverinfo": "text+y"} for c in curves]
    layout = {"height": height, "margin": MARGIN, "xaxis": {"title": {"text": "epoch"}},
              "yaxis": {"title": {"text": "test loss (the training objective, per image)"}},
              "legend": {"orientation": "h", "y": -0.25}}
    return unchecked_figure(data, layout)


def class_rd_figure(points: list[dict], height: int = 360) -> go.Figure:
    """points: {"student", "run", "rate", "distortion"}: nats per image, rate = KL(q(z|x)‖p(z))
    and distortion = −E log p(x|z) (Alemi et al. 2018, "Fixing a Broken ELBO"). Built as plain
    data, like :func:`class_curves_figure`."""
    drawn = [p for p in points if p.get("rate") is not None]
    colors = _colors([p["student"] for p in drawn])
    data = [{"type": "scatter", "x": [p["rate"]], "y": [p["distortion"]],
             "mode": "markers+text", "text": [_name(p["student"])],
             "textposition": "top center", "name": _name(p["student"]),
             "marker": {"size": 12, "color": colors[p["student"]]},
             "hovertext": [_name(p["run"])], "showlegend": False} for p in drawn]
    layout = {"height": height, "margin": MARGIN,
              "xaxis": {"title": {"text": "rate: KL in nats per image"}},
              "yaxis": {"title": {"text": "distortion: −log p(x|z) in nats per image"}}}
    return unchecked_figure(data, layout)
