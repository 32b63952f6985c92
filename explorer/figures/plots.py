"""The plotly figures the pages draw: the class colours and traces every map shares, the Inside
page's pictures (usage bars, holes, posterior ellipses, the training replay), the Train page's
loss curves and the rate–distortion plane. The latent map's own figures are in
:mod:`explorer.figures.map`.

Built here rather than in the pages so they stay thin and can be unit-tested; the numbers behind
them come from :mod:`explorer.analysis.inspect_latent`, :mod:`explorer.analysis.projection` and
:mod:`explorer.analysis.replay`.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from explorer import usertext
from explorer.images import to_uint8

# The modules that compute what some figures show (inspect_latent, metrics, replay) import torch:
# those figures import them when drawn, so the latent map, the first page, draws without torch.

if TYPE_CHECKING:
    from explorer.analysis.inspect_latent import LatentUsage
    from explorer.jobs import JobState

# Ten well-separated colours (Tableau 10), one per class.
PALETTE = ("#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
AXIS_NAMES = {"latent": ("z[0]", "z[1]"), "pca": ("PC 1", "PC 2"),
              "umap": ("UMAP 1", "UMAP 2"), "tsne": ("t-SNE 1", "t-SNE 2")}
PRIOR_COLOR, DATA_COLOR = "#ffd166", "#06d6a0"
PART_TITLES = {"loss": "Loss", "recon": "Reconstruction", "kl": "KL", "sparsity": "Sparsity (L1)",
               "g_loss": "Generator loss", "d_loss": "Discriminator loss"}
TRAIN_COLOR, TEST_COLOR = "#83c9ff", "#0068c9"
MAX_CURVE_POINTS = 1000  # per trace: keeps each redraw light at two polls a second
NO_MARGIN = dict(l=10, r=10, t=10, b=10)


def class_color(c: int) -> str:
    return PALETTE[c % len(PALETTE)]


def class_traces(coords: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                 marker_size: int = 5, opacity: float = 0.8, outline: bool = False,
                 animated: bool = False) -> list[go.Scattergl] | list[go.Scatter]:
    """One scatter trace per class present (so the legend toggles classes), in its colour.

    Each point carries its index into `coords` as customdata, which is how a selection maps back
    to test images. `animated` gives plain SVG scatters without hover labels, for the frames of
    an animation (plotly animates SVG traces, not WebGL ones). Coordinates with three columns
    give 3-D scatters (go.Scatter3d), which plotly can rotate but not select in.
    """
    coords = np.asarray(coords, dtype=np.float32)  # float32 typed arrays keep the payload small
    labels = np.asarray(labels)
    index = np.arange(len(coords), dtype=np.int32)
    marker = dict(size=marker_size, opacity=opacity)
    if outline:
        marker["line"] = dict(width=0.5, color="black")
    traces = []
    for c, name in enumerate(map(usertext.html, class_names)):  # a user's names, as text
        members = labels == c
        if not members.any():
            continue
        points = dict(x=coords[members, 0], y=coords[members, 1], mode="markers", name=name,
                      marker={**marker, "color": class_color(c)})
        if coords.shape[1] == 3:
            traces.append(go.Scatter3d(
                **points, z=coords[members, 2], customdata=index[members],
                hovertemplate=f"#%{{customdata}} · {name}<extra></extra>"))
        elif animated:
            traces.append(go.Scatter(**points))
        else:
            # A selection dims the rest hard and enlarges the chosen, so they stand out.
            traces.append(go.Scattergl(
                **points, customdata=index[members], legendgroup=str(name),
                selected=dict(marker=dict(opacity=1.0, size=marker_size + 4)),
                unselected=dict(marker=dict(opacity=0.08)),
                hovertemplate=f"#%{{customdata}} · {name}<extra></extra>"))
    return traces


# ----------------------------------------------------------------------------------------------
# inside the latent space


def usage_figure(usage: LatentUsage, height: int = 320) -> go.Figure:
    """Bars per dimension, most used first; active dimensions dark, inactive ones pale."""
    from explorer.analysis.metrics import ACTIVE_THRESHOLD

    order = usage.order
    active = usage.variance[order] > ACTIVE_THRESHOLD
    what = "KL (nats)" if usage.is_vae else "code variance"
    fig = go.Figure(
        go.Bar(
            x=[f"z[{d}]" for d in order],
            y=usage.values[order],
            marker_color=["#0068c9" if a else "#bcd6f0" for a in active],
            customdata=np.where(active, "active", "inactive"),
            hovertemplate=f"%{{x}}: %{{y:.3f}} {what.split()[-1].strip('()')} "
                          "(%{customdata})<extra></extra>",
        )
    )
    fig.update_layout(height=height, margin=NO_MARGIN,
                      xaxis=dict(title="dimension (most used first)", type="category"),
                      yaxis_title=what)
    return fig


def image_source(image: np.ndarray):
    """A PIL image of a [0, 1] picture, for a figure's layout image."""
    from PIL import Image

    return Image.fromarray(to_uint8(image))


def _contour_traces(xs, ys, density, levels, legend_name: str, color: str,
                    dash: str) -> list[go.Contour]:
    """One single-level contour line per level (plotly spaces levels evenly; ours are not), all
    under one legend entry so a click hides them together."""
    return [
        go.Contour(
            x=xs, y=ys, z=density, showscale=False, hoverinfo="skip", name=legend_name,
            legendgroup=legend_name, showlegend=k == 0,
            contours=dict(coloring="none", start=level, end=level, size=1.0),
            line=dict(color=color, width=2, dash=dash),
        )
        for k, level in enumerate(levels)
    ]


def prior_circles(sigmas: Sequence[float], name: str = "prior N(0, I): 1, 2, 3σ") -> list:
    """The prior's contours at `sigmas`: for N(0, I) in 2-D, circles of those radii (one legend
    entry, so a click hides them together), drawn thick enough to see on any plane's scale."""
    t = np.linspace(0.0, 2.0 * np.pi, 121)
    return [go.Scatter(x=s * np.cos(t), y=s * np.sin(t), mode="lines", hoverinfo="skip",
                       name=name, legendgroup=name, showlegend=k == 0,
                       line=dict(color=PRIOR_COLOR, width=3, dash="dash"))
            for k, s in enumerate(sigmas)]


def holes_figure(
    image: np.ndarray | None,
    extent: Sequence[float],
    codes2d: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    class_names: Sequence[str] = (),
    show_prior: bool = True,
    show_data: bool = True,
    image_opacity: float = 1.0,
    axis_names: tuple[str, str] = ("z[0]", "z[1]"),
    height: int = 560,
    density_points: int = 90,
) -> go.Figure:
    """The decoded grid as the background of the plane, the codes on top, and optionally the
    prior's 1-2-3 sigma contours and the data density's 50/90/99% contours."""
    from explorer.analysis.inspect_latent import (
        PRIOR_SIGMAS,
        data_density,
        grid_centres,
        mass_levels,
    )

    x0, x1, y0, y1 = (float(v) for v in extent)
    fig = go.Figure()
    if image is not None:
        fig.add_layout_image(
            source=image_source(image), xref="x", yref="y", x=x0, y=y1,
            sizex=x1 - x0, sizey=y1 - y0, sizing="stretch", layer="below",
            opacity=image_opacity,
        )
    xs, ys = grid_centres(extent, density_points)
    if show_data and codes2d is not None and len(codes2d) > 1:
        density = data_density(codes2d, xs, ys)
        cell = (x1 - x0) * (y1 - y0) / density_points**2
        levels = mass_levels(density, cell)
        fig.add_traces(_contour_traces(xs, ys, density, levels,
                                       "codes' density: 50, 90, 99%", DATA_COLOR, "solid"))
    if codes2d is not None and labels is not None:
        fig.add_traces(class_traces(codes2d, labels, class_names, opacity=0.9, outline=True))
    if show_prior:  # on top, and exact circles: a contour of a 90×90 grid over an AE's wide
        # plane (−25…5) was a few pixels across and thin, nearly invisible
        fig.add_traces(prior_circles(PRIOR_SIGMAS))
    fig.update_xaxes(range=[x0, x1], title=axis_names[0], showgrid=False, zeroline=False,
                     constrain="domain")
    fig.update_yaxes(range=[y0, y1], title=axis_names[1], showgrid=False, zeroline=False,
                     scaleanchor="x", scaleratio=1, constrain="domain")
    # Twelve entries in presenter mode's large text outgrow the plot's height: the legend may
    # run down beside the x axis's labels to the figure's foot rather than scroll.
    fig.update_layout(height=height, margin=NO_MARGIN,
                      plot_bgcolor="black", legend=dict(itemsizing="constant", maxheight=height),
                      uirevision="keep")
    return fig


def ellipses_figure(
    mu: np.ndarray,
    logvar: np.ndarray,
    chosen: Sequence[int],
    labels: np.ndarray,
    class_names: Sequence[str],
    dims: tuple[int, int] = (0, 1),
    n_sigma: float = 1.0,
    height: int = 560,
) -> go.Figure:
    """All codes faint, the chosen images' posterior n_sigma ellipses in their class colours,
    and the prior's 1 and 2 sigma circles."""
    from explorer.analysis.inspect_latent import posterior_ellipse

    i, j = dims
    fig = go.Figure()
    fig.add_trace(go.Scattergl(
        x=mu[:, i], y=mu[:, j], mode="markers", name="all test codes",
        marker=dict(size=3, color="#c8c8c8"), hoverinfo="skip",
    ))
    t = np.linspace(0.0, 2.0 * math.pi, 96)
    for s in (1.0, 2.0):
        fig.add_trace(go.Scatter(
            x=s * np.cos(t), y=s * np.sin(t), mode="lines", name="prior N(0, I): 1σ, 2σ",
            line=dict(color="#b08900", width=1.5, dash="dash"), hoverinfo="skip",
            legendgroup="prior", showlegend=s == 1.0,
        ))
    for k in chosen:
        c = int(labels[k])
        color = class_color(c)
        ex, ey = posterior_ellipse(mu[k], logvar[k], dims, n_sigma)
        sx, sy = np.exp(0.5 * logvar[k, [i, j]])
        fig.add_trace(go.Scatter(
            x=ex, y=ey, mode="lines", fill="toself", opacity=0.45, name=f"#{k}",
            line=dict(color=color, width=1.5), showlegend=False,
            hovertemplate=f"#{k} · {usertext.html(class_names[c])}<br>σ = ({sx:.3f}, {sy:.3f})<extra></extra>",
        ))
        fig.add_trace(go.Scatter(
            x=[mu[k, i]], y=[mu[k, j]], mode="markers+text", text=[str(k)],
            textposition="top center", marker=dict(size=7, color=color,
                                                   line=dict(width=1, color="black")),
            showlegend=False, hovertemplate=f"#{k} · {usertext.html(class_names[c])}<extra></extra>",
        ))
    fig.update_xaxes(title=f"z[{i}]")
    fig.update_yaxes(title=f"z[{j}]", scaleanchor="x", scaleratio=1)
    fig.update_layout(height=height, margin=NO_MARGIN, uirevision="keep")
    return fig


def replay_figure(coords: np.ndarray, epochs: np.ndarray, labels: np.ndarray,
                  class_names: Sequence[str], axis_names: tuple[str, str] = ("1", "2"),
                  height: int = 560, frame_ms: int = 300) -> go.Figure:
    """A plotly animation of the codes, one frame per recorded epoch, with Play and a slider.

    Axes are fixed over all frames (from the full range of every frame), so the points move on
    one map instead of the map rescaling under them.
    """
    coords = np.asarray(coords, dtype=np.float32)

    def traces(frame: np.ndarray) -> list[go.Scatter]:
        return class_traces(frame, labels, class_names, animated=True)

    names = [f"epoch {int(e)}" for e in epochs]
    lo, hi = coords.reshape(-1, 2).min(0), coords.reshape(-1, 2).max(0)
    pad = 0.05 * np.maximum(hi - lo, 1e-6)
    fig = go.Figure(data=traces(coords[0]),
                    frames=[go.Frame(data=traces(f), name=nm) for f, nm in zip(coords, names,
                                                                                strict=True)])
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=10, b=120),  # room for Play and the slider
        xaxis=dict(range=[float(lo[0] - pad[0]), float(hi[0] + pad[0])], title=axis_names[0],
                   autorange=False),
        yaxis=dict(range=[float(lo[1] - pad[1]), float(hi[1] + pad[1])], title=axis_names[1],
                   autorange=False),
        legend=dict(title="class", itemsizing="constant"),
        **play_controls(names, frame_ms, redraw=True),
    )
    return fig


def play_controls(names: Sequence[str], frame_ms: int, redraw: bool) -> dict:
    """Layout of an animated figure's Play / Pause buttons and its frame slider (below the plot,
    which keeps a 120 px bottom margin for them): `names` are the frames', in order."""
    still = dict(duration=0)
    play = dict(frame=dict(duration=frame_ms, redraw=redraw), transition=still,
                fromcurrent=True, mode="immediate")
    pause = dict(frame=dict(duration=0, redraw=False), mode="immediate", transition=still)
    return dict(
        updatemenus=[dict(
            type="buttons", direction="left", x=0.0, y=-0.2, xanchor="left", yanchor="top",
            showactive=False, pad=dict(r=10, t=0),
            buttons=[dict(label="▶ Play", method="animate", args=[None, play]),
                     dict(label="❚❚ Pause", method="animate", args=[[None], pause])])],
        sliders=[dict(
            active=0, x=0.2, len=0.8, y=-0.14, yanchor="top", pad=dict(t=0, b=0),
            currentvalue=dict(prefix="", visible=True),
            steps=[dict(label=nm, method="animate",
                        args=[[nm], dict(frame=dict(duration=0, redraw=redraw),
                                         mode="immediate", transition=still)])
                   for nm in names])],
    )


# ----------------------------------------------------------------------------------------------
# training


def loss_figure(state: JobState, likelihood: str = "bernoulli") -> go.Figure | None:
    """Training loss per step (thin line) and test loss per epoch (markers), one panel per part.

    The Gaussian's loss is its squared error: nats less a constant (n log(pi)/2 per image, the
    fixed variance 1/2), and the axis says so.

    Redrawn every few seconds on every training student's page: the panels, titles and styles
    are built and checked by plotly once per set of panels (:func:`_loss_template`); each redraw
    only puts the numbers in, unchecked (plotly's checks took ~90 ms a figure on an idle core,
    most of a loaded server's time with a class training)."""
    from explorer.analysis.replay import thin

    if not state.steps:
        return None
    known = [p for p in PART_TITLES if p in state.steps[-1]]
    # An AE's only part is its loss: one panel. A GAN has no single loss: one per player.
    parts = known if len(known) > 2 or "loss" not in known else ["loss"]
    template = _loss_template(tuple(parts), likelihood)
    per_epoch = max(state.steps_per_epoch, 1)
    steps = thin(state.steps, MAX_CURVE_POINTS)
    x_steps = [s["step"] / per_epoch for s in steps]
    data = []
    for col, part in enumerate(parts):
        tested = [h for h in state.history if h.get("test") and part in h["test"]]
        train, test = template["data"][2 * col: 2 * col + 2]
        data.append({**train, "x": x_steps, "y": [s.get(part) for s in steps]})
        data.append({**test, "x": [h["epoch"] for h in tested],
                     "y": [h["test"][part] for h in tested]})
    return unchecked_figure(data, template["layout"])


def unchecked_figure(data: list[dict], layout: dict) -> go.Figure:
    """A figure from plain data, without plotly's checks (tens of milliseconds a figure): for
    figures redrawn every few seconds whose every key a test has plotly check. The layout gets
    plotly's default theme, as a checked figure does."""
    layout = {**copy.deepcopy({k: v for k, v in layout.items() if k != "template"}),
              "template": _default_theme()}
    return go.Figure({"data": data, "layout": layout}, _validate=False)


@functools.cache
def _default_theme() -> dict:
    return go.Figure().to_dict()["layout"].get("template", {})


@functools.lru_cache(maxsize=16)
def _loss_template(parts: tuple[str, ...], likelihood: str) -> dict:
    """The loss figure's panels without their numbers, built and checked by plotly once."""
    fig = make_subplots(rows=1, cols=len(parts), subplot_titles=[PART_TITLES[p] for p in parts])
    for col, _ in enumerate(parts, start=1):
        fig.add_trace(go.Scatter(x=[], y=[], mode="lines",
                                 line={"width": 1, "color": TRAIN_COLOR},
                                 name="train (per step)", legendgroup="train",
                                 showlegend=col == 1), row=1, col=col)
        fig.add_trace(go.Scatter(x=[], y=[], mode="lines+markers",
                                 line={"width": 2, "color": TEST_COLOR}, marker={"size": 7},
                                 name="test (per epoch)", legendgroup="test",
                                 showlegend=col == 1), row=1, col=col)
    fig.update_xaxes(title_text="epoch", title_standoff=4)
    unit = ("squared error per image (nats − a constant)" if likelihood == "gaussian"
            else "nats per image")
    fig.update_yaxes(title_text=unit, row=1, col=1)
    fig.update_layout(
        height=300,
        margin={"l": 10, "r": 10, "t": 60, "b": 10},
        legend={"orientation": "h", "x": 0, "y": 1.12, "yanchor": "bottom"},
    )
    return fig.to_dict()
