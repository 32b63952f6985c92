"""The latent diffusion page's figures, from arrays: the reverse process as a plotly animation on
the 2-D latent map, and one moment t of it with the learned denoising direction as arrows.

No computing here beyond scaling arrows to the grid: the arrays come from
:mod:`explorer.families.latent_diffusion.views`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from explorer.figures.plots import class_traces, play_controls

NOISE_COLOUR = "#333333"
PATH_COLOUR = "#d62728"


def _ranges(*arrays: np.ndarray) -> tuple[list[float], list[float]]:
    pts = np.concatenate([np.asarray(a, dtype=np.float32).reshape(-1, 2) for a in arrays])
    lo, hi = np.percentile(pts, 0.5, axis=0), np.percentile(pts, 99.5, axis=0)
    pad = 0.08 * np.maximum(hi - lo, 1e-6)
    return [float(lo[0] - pad[0]), float(hi[0] + pad[0])], [float(lo[1] - pad[1]),
                                                            float(hi[1] + pad[1])]


def _moving(points: np.ndarray, name: str) -> go.Scatter:
    return go.Scatter(x=points[:, 0], y=points[:, 1], mode="markers", name=name,
                      marker=dict(size=3, color=NOISE_COLOUR, opacity=0.55))


def movie_figure(path: np.ndarray, ts: Sequence[int], codes: np.ndarray, labels: np.ndarray,
                 class_names: Sequence[str], height: int = 560, frame_ms: int = 250) -> go.Figure:
    """The reverse process as an animation: `path` (F, n, 2) the samples at each shown frame (the
    first is the noise, the last the codes), `ts` their timesteps; the test images' codes (faint,
    by class) stay put beneath. Play and a slider over t, as plotly's own controls."""
    background = class_traces(codes, labels, class_names, marker_size=4, opacity=0.25,
                              animated=True)
    names = [f"t = {int(t)}" for t in ts]
    frames = [go.Frame(data=[_moving(p, "samples")], traces=[len(background)], name=nm)
              for p, nm in zip(path, names, strict=True)]
    fig = go.Figure(data=[*background, _moving(path[0], "samples")], frames=frames)
    xr, yr = _ranges(codes, path[-1])
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=10, b=120),
        xaxis=dict(range=xr, title="z[0]", autorange=False),
        yaxis=dict(range=yr, title="z[1]", autorange=False),
        legend=dict(title="test codes", itemsizing="constant"),
        **play_controls(names, frame_ms, redraw=False),
    )
    return fig


def moment_figure(points: np.ndarray, t: int, grid: np.ndarray, arrows: np.ndarray,
                  codes: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                  followed: np.ndarray | None = None, height: int = 560) -> go.Figure:
    """One moment of the reverse process: the samples at timestep t (clickable: each carries its
    index), −ε̂ at grid points as arrows (each scaled so the longest spans one grid cell), the
    test codes faintly, and a followed sample's path (F, 2) from noise to code."""
    fig = go.Figure(class_traces(codes, labels, class_names, marker_size=4, opacity=0.2,
                                 animated=True))
    for trace in fig.data:
        trace.update(hoverinfo="skip", legendgroup="codes")
    cell = float(np.min(np.diff(np.unique(grid[:, 0])))) if len(grid) > 1 else 1.0
    lengths = np.linalg.norm(arrows, axis=1)
    scale = 0.9 * cell / max(float(lengths.max()), 1e-12)
    tips = grid + scale * arrows
    xs = np.full(3 * len(grid), np.nan, dtype=np.float32)
    ys = xs.copy()
    xs[0::3], xs[1::3] = grid[:, 0], tips[:, 0]
    ys[0::3], ys[1::3] = grid[:, 1], tips[:, 1]
    fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="−ε̂ (denoising direction)",
                             line=dict(color="#1f77b4", width=1.5), hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=tips[:, 0], y=tips[:, 1], mode="markers", showlegend=False,
                             marker=dict(size=4, color="#1f77b4"), hoverinfo="skip"))
    index = np.arange(len(points), dtype=np.int32)
    fig.add_trace(go.Scatter(
        x=points[:, 0], y=points[:, 1], mode="markers", name=f"samples at t = {t}",
        customdata=index, marker=dict(size=5, color=NOISE_COLOUR, opacity=0.6),
        hovertemplate="sample #%{customdata}<extra></extra>"))
    if followed is not None:
        fig.add_trace(go.Scatter(x=followed[:, 0], y=followed[:, 1], mode="lines+markers",
                                 name="followed sample", hoverinfo="skip",
                                 line=dict(color=PATH_COLOUR, width=2),
                                 marker=dict(size=6, color=PATH_COLOUR)))
    xr, yr = _ranges(codes, grid)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10),
                      xaxis=dict(range=xr, title="z[0]"), yaxis=dict(range=yr, title="z[1]"),
                      legend=dict(itemsizing="constant"), clickmode="event+select",
                      dragmode="pan")
    return fig
