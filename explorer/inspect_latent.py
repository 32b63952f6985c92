"""Looking inside a latent space: how much each dimension is used, where the holes are, how sure
the encoder is, and how the space organised itself while it trained.

* **Usage.** A VAE's KL per dimension (nats) says which dimensions carry information; an AE has no
  KL, so the spread (variance) of its codes stands in. Both give the order in which the
  Interpolate page lists dimensions (:func:`explorer.latent.kl_order`).
* **Holes.** :func:`decoded_grid` decodes a dense grid over a 2-D slice of the latent space;
  :func:`prior_density` and :func:`data_density` say where the prior and the data put their mass.
  An AE leaves regions no code ever visits, and decodes them to garbage; a VAE's KL term pushes
  its codes to fill the prior, so every region decodes to something digit-like.
* **Uncertainty.** A VAE's posterior q(z|x) = N(mu, diag(exp(logvar))) is an axis-aligned
  ellipse in any two dimensions (:func:`posterior_ellipse`).
* **Replay.** :class:`ReplayRecorder` keeps the codes of a fixed set of test images after every
  epoch of a run and writes them beside it (``replay.safetensors``); :func:`replay_coords` puts
  every frame on one shared map.

Figures are plotly, built here (as in :mod:`explorer.mapview`) so pages stay thin.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from explorer import latent
from explorer.atomic import write_atomic
from explorer.errors import ExplorerError
from explorer.metrics import ACTIVE_THRESHOLD, code_variance, eval_mode, kl_per_dimension
from explorer.models import Autoencoder

if TYPE_CHECKING:  # plotly is imported where a figure is built: training needs none of it
    import plotly.graph_objects as go

COLLAPSE_NATS = 0.5  # a total KL below this carries almost nothing about x
PRIOR_SIGMAS = (1.0, 2.0, 3.0)  # circles holding 39%, 86% and 99% of a 2-D standard normal
DATA_MASSES = (0.5, 0.9, 0.99)  # data-density contours holding these shares of the codes
PRIOR_COLOR, DATA_COLOR = "#ffd166", "#06d6a0"


class InspectError(ExplorerError):
    """A choice that cannot be drawn (e.g. the same dimension twice); the message says why."""


# ----------------------------------------------------------------------------------------------
# how much each dimension is used


@dataclass(frozen=True)
class LatentUsage:
    """How a model uses its latent dimensions on some images."""

    values: np.ndarray  # (D,) mean KL per dimension in nats (VAE) or code variance (AE)
    variance: np.ndarray  # (D,) Var_x(E_q[z_d]): what "active" is judged by
    order: np.ndarray  # (D,) dimensions, most used first; the same as latent.kl_order
    active: int  # dimensions with variance above ACTIVE_THRESHOLD (Burda et al. 2016, 5.2)
    total_kl: float | None  # mean total KL in nats; None for an AE

    @property
    def is_vae(self) -> bool:
        return self.total_kl is not None

    @property
    def collapsed(self) -> bool:
        """Posterior collapse: the codes carry (almost) no information, the decoder ignores z."""
        return self.is_vae and (self.total_kl < COLLAPSE_NATS or self.active == 0)


def latent_usage(model: Autoencoder, x: torch.Tensor) -> LatentUsage:
    """KL per dimension (VAE) or code variance (AE) over x, with the order and active units."""
    variance = code_variance(model, x)  # (D,)
    if model.cfg.kind == "vae":
        values = kl_per_dimension(model, x)  # (D,) nats; sums to the mean total KL
        total = float(values.sum())
    else:
        values, total = variance, None
    order = np.argsort(-values, kind="stable")  # exactly latent.kl_order's rule
    active = int((variance > ACTIVE_THRESHOLD).sum())
    return LatentUsage(values, variance, order, active, total)


def usage_figure(usage: LatentUsage, height: int = 320) -> go.Figure:
    """Bars per dimension, most used first; active dimensions dark, inactive ones pale."""
    import plotly.graph_objects as go

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
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10),
                      xaxis=dict(title="dimension (most used first)", type="category"),
                      yaxis_title=what)
    return fig


# ----------------------------------------------------------------------------------------------
# a 2-D slice of the latent space: extent, decoded grid, densities


def check_dims(dims: Sequence[int], latent_dim: int) -> tuple[int, int]:
    i, j = (int(d) for d in dims)
    if i == j:
        raise InspectError("Pick two different dimensions.")
    if not (0 <= i < latent_dim and 0 <= j < latent_dim):
        raise InspectError(f"Dimensions must lie between 0 and {latent_dim - 1}.")
    return i, j


def map_extent(codes2d: np.ndarray, prior_sigma: float = 3.0, margin: float = 0.1,
               clip: float = 0.5) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1) covering the prior's +-prior_sigma square and the codes (their
    clip..100-clip percentiles, so one stray code does not shrink the rest), plus a margin."""
    codes2d = np.asarray(codes2d, dtype=np.float64).reshape(-1, 2)
    lo = np.full(2, -prior_sigma)
    hi = np.full(2, prior_sigma)
    if len(codes2d):
        lo = np.minimum(lo, np.percentile(codes2d, clip, axis=0))
        hi = np.maximum(hi, np.percentile(codes2d, 100 - clip, axis=0))
    pad = margin * (hi - lo)
    lo, hi = lo - pad, hi + pad
    return float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])


def grid_centres(extent: Sequence[float], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Centres of an n x n tiling of extent (x0, x1, y0, y1): xs and ys, both ascending, (n,)."""
    if n < 1:
        raise InspectError(f"A grid needs at least one tile per side, got {n}.")
    x0, x1, y0, y1 = (float(v) for v in extent)
    if not (x1 > x0 and y1 > y0):
        raise InspectError("The map's extent is empty.")
    k = np.arange(n) + 0.5
    return (x0 + k * (x1 - x0) / n).astype(np.float32), (y0 + k * (y1 - y0) / n).astype(np.float32)


def decoded_grid(model: Autoencoder, extent: Sequence[float], n: int = 20,
                 dims: Sequence[int] = (0, 1), center: np.ndarray | None = None,
                 ) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Decode an n x n grid of codes tiling `extent` (x0, x1, y0, y1) of dimensions `dims`,
    other dimensions at `center` (default 0): (image, extent).

    The image is the tiles side by side with no padding, (n * H, n * W) for greyscale or
    (n * H, n * W, C): tile (r, c) is the decoding of the code at the centre of its patch of the
    plane, rows top to bottom following the second dimension *descending*, so drawn over
    `extent` with y pointing up each picture sits where its code is.
    """
    d = model.cfg.latent_dim
    i, j = check_dims(dims, d)
    center = np.zeros(d, dtype=np.float32) if center is None else np.asarray(center, np.float32)
    if center.shape != (d,):
        raise InspectError(f"The centre code must have {d} values, got shape {center.shape}.")
    xs, ys = grid_centres(extent, n)
    z = latent.grid_2d(center, (i, j), ((xs[0], xs[-1]), (ys[0], ys[-1])), n)  # (n*n, D)
    tiles = latent.decode(model, z)  # (n*n, H, W) or (n*n, C, H, W)
    image = latent.image_grid(tiles, ncols=n, pad=0)
    x0, x1, y0, y1 = (float(v) for v in extent)
    return image, (x0, x1, y0, y1)


def prior_density(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """The standard normal N(0, I) in 2-D on the grid xs x ys: (len(ys), len(xs)), rows follow y.

    In two chosen dimensions of a larger latent the prior's marginal is the same N(0, I_2)."""
    xs, ys = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
    r2 = xs[None, :] ** 2 + ys[:, None] ** 2  # (Y, X)
    return np.exp(-0.5 * r2) / (2.0 * math.pi)


def prior_level(sigma: float) -> float:
    """The prior's density on the circle of radius `sigma`: its contour there."""
    return math.exp(-0.5 * sigma**2) / (2.0 * math.pi)


def scott_bandwidth(codes2d: np.ndarray) -> float:
    """Scott's rule for a 2-D Gaussian KDE, n^(-1/6) times the codes' mean standard deviation."""
    codes2d = np.asarray(codes2d, dtype=np.float64).reshape(-1, 2)
    spread = float(codes2d.std(axis=0).mean()) if len(codes2d) > 1 else 1.0
    return max(spread, 1e-3) * max(len(codes2d), 1) ** (-1.0 / 6.0)


def data_density(codes2d: np.ndarray, xs: np.ndarray, ys: np.ndarray,
                 bandwidth: float | None = None) -> np.ndarray:
    """A Gaussian kernel density estimate of the codes on the grid xs x ys, (len(ys), len(xs)).

    An isotropic kernel of std `bandwidth` (default :func:`scott_bandwidth`); the kernel is
    separable, so the sum over codes is one (Y, N) @ (N, X) product. Integrates to 1 over the
    plane (less whatever mass lies outside the grid).
    """
    codes2d = np.asarray(codes2d, dtype=np.float64).reshape(-1, 2)
    if len(codes2d) == 0:
        raise InspectError("There are no codes to estimate a density from.")
    h = float(bandwidth) if bandwidth is not None else scott_bandwidth(codes2d)
    if not (h > 0 and math.isfinite(h)):
        raise InspectError(f"The bandwidth must be a positive number, got {bandwidth}.")
    xs, ys = np.asarray(xs, np.float64), np.asarray(ys, np.float64)
    kx = np.exp(-0.5 * ((xs[None, :] - codes2d[:, :1]) / h) ** 2)  # (N, X)
    ky = np.exp(-0.5 * ((ys[None, :] - codes2d[:, 1:]) / h) ** 2)  # (N, Y)
    return (ky.T @ kx) / (len(codes2d) * 2.0 * math.pi * h * h)  # (Y, X)


def mass_levels(density: np.ndarray, cell_area: float,
                masses: Sequence[float] = DATA_MASSES) -> list[float]:
    """Density thresholds whose contours enclose the given shares of the mass on the grid
    (highest-density regions): the 0.5 contour holds the densest half of the codes."""
    flat = np.sort(np.asarray(density, dtype=np.float64).ravel())[::-1]
    cumulative = np.cumsum(flat) * cell_area
    total = cumulative[-1] if len(cumulative) else 0.0
    if total <= 0:
        return []
    idx = np.searchsorted(cumulative, np.asarray(masses) * total)
    return [float(flat[min(k, len(flat) - 1)]) for k in idx]


def center_code(codes: np.ndarray, how: str = "zero") -> np.ndarray:
    """Where the other dimensions sit for a 2-D slice: "zero" (the prior's centre) or "mean"
    (the data's mean code). (D,) float32."""
    codes = np.asarray(codes, dtype=np.float32)
    if how == "zero":
        return np.zeros(codes.shape[1], dtype=np.float32)
    if how == "mean":
        return codes.mean(axis=0).astype(np.float32)
    raise InspectError(f"Unknown centre {how!r}: choose 'zero' or 'mean'.")


# ----------------------------------------------------------------------------------------------
# uncertainty: the posterior's ellipses


def posteriors(model: Autoencoder, x: torch.Tensor, batch_size: int = 1000
               ) -> tuple[np.ndarray, np.ndarray | None]:
    """mu (N, D) and logvar (N, D) of q(z|x) for every image; logvar is None for an AE."""
    x = torch.as_tensor(x, dtype=torch.float32)
    device = next(model.parameters()).device
    mus, logvars = [], []
    with eval_mode(model), torch.inference_mode():
        for k in range(0, len(x), batch_size):
            post = model.encode(x[k : k + batch_size].to(device))
            mus.append(post.mu.cpu())
            if post.logvar is not None:
                logvars.append(post.logvar.cpu())
    mu = torch.cat(mus).numpy().astype(np.float32)
    return mu, (torch.cat(logvars).numpy().astype(np.float32) if logvars else None)


def posterior_ellipse(mu: np.ndarray, logvar: np.ndarray, dims: Sequence[int] = (0, 1),
                      n_sigma: float = 1.0, n_points: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """The n_sigma contour of an axis-aligned Gaussian posterior in dimensions `dims`: a closed
    polygon (x, y), each (n_points,), whose last point repeats the first.

    The half-axes are n_sigma * sigma_d with sigma_d = exp(logvar_d / 2), so the polygon passes
    through mu +- n_sigma * sigma along each axis.
    """
    if n_points < 4:
        raise InspectError(f"An ellipse needs at least 4 points, got {n_points}.")
    mu, logvar = np.asarray(mu, np.float64).ravel(), np.asarray(logvar, np.float64).ravel()
    i, j = check_dims(dims, len(mu))
    sigma = np.exp(0.5 * logvar[[i, j]])  # (2,)
    t = np.linspace(0.0, 2.0 * math.pi, n_points)
    x = mu[i] + n_sigma * sigma[0] * np.cos(t)
    y = mu[j] + n_sigma * sigma[1] * np.sin(t)
    return x, y


# ----------------------------------------------------------------------------------------------
# pictures


def _image_source(image: np.ndarray):
    from PIL import Image

    return Image.fromarray(latent.to_uint8(image))


def _codes_traces(codes2d: np.ndarray, labels: np.ndarray, class_names: Sequence[str],
                  marker_size: int = 5, opacity: float = 0.9) -> list[go.Scattergl]:
    import plotly.graph_objects as go

    from explorer.mapview import PALETTE

    index = np.arange(len(codes2d), dtype=np.int32)
    traces = []
    for c, name in enumerate(class_names):
        members = labels == c
        if not members.any():
            continue
        traces.append(go.Scattergl(
            x=codes2d[members, 0], y=codes2d[members, 1], mode="markers", name=str(name),
            customdata=index[members], legendgroup=str(name),
            marker=dict(size=marker_size, color=PALETTE[c % len(PALETTE)], opacity=opacity,
                        line=dict(width=0.5, color="black")),
            hovertemplate=f"#%{{customdata}} · {name}<extra></extra>",
        ))
    return traces


def _contour_traces(xs, ys, density, levels, legend_name: str, color: str,
                    dash: str) -> list[go.Contour]:
    """One single-level contour line per level (plotly spaces levels evenly; ours are not), all
    under one legend entry so a click hides them together."""
    import plotly.graph_objects as go

    return [
        go.Contour(
            x=xs, y=ys, z=density, showscale=False, hoverinfo="skip", name=legend_name,
            legendgroup=legend_name, showlegend=k == 0,
            contours=dict(coloring="none", start=level, end=level, size=1.0),
            line=dict(color=color, width=2, dash=dash),
        )
        for k, level in enumerate(levels)
    ]


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
    import plotly.graph_objects as go

    x0, x1, y0, y1 = (float(v) for v in extent)
    fig = go.Figure()
    if image is not None:
        fig.add_layout_image(
            source=_image_source(image), xref="x", yref="y", x=x0, y=y1,
            sizex=x1 - x0, sizey=y1 - y0, sizing="stretch", layer="below",
            opacity=image_opacity,
        )
    xs, ys = grid_centres(extent, density_points)
    if show_prior:
        density = prior_density(xs, ys)
        fig.add_traces(_contour_traces(
            xs, ys, density, [prior_level(s) for s in PRIOR_SIGMAS],
            "prior N(0, I): 1, 2, 3σ", PRIOR_COLOR, "dash"))
    if show_data and codes2d is not None and len(codes2d) > 1:
        density = data_density(codes2d, xs, ys)
        cell = (x1 - x0) * (y1 - y0) / density_points**2
        levels = mass_levels(density, cell)
        fig.add_traces(_contour_traces(xs, ys, density, levels,
                                       "codes' density: 50, 90, 99%", DATA_COLOR, "solid"))
    if codes2d is not None and labels is not None:
        fig.add_traces(_codes_traces(np.asarray(codes2d, np.float32), np.asarray(labels),
                                     class_names))
    fig.update_xaxes(range=[x0, x1], title=axis_names[0], showgrid=False, zeroline=False,
                     constrain="domain")
    fig.update_yaxes(range=[y0, y1], title=axis_names[1], showgrid=False, zeroline=False,
                     scaleanchor="x", scaleratio=1, constrain="domain")
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10),
                      plot_bgcolor="black", legend=dict(itemsizing="constant"),
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
    import plotly.graph_objects as go

    from explorer.mapview import PALETTE

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
        color = PALETTE[c % len(PALETTE)]
        ex, ey = posterior_ellipse(mu[k], logvar[k], dims, n_sigma)
        sx, sy = np.exp(0.5 * logvar[k, [i, j]])
        fig.add_trace(go.Scatter(
            x=ex, y=ey, mode="lines", fill="toself", opacity=0.45, name=f"#{k}",
            line=dict(color=color, width=1.5), showlegend=False,
            hovertemplate=f"#{k} · {class_names[c]}<br>σ = ({sx:.3f}, {sy:.3f})<extra></extra>",
        ))
        fig.add_trace(go.Scatter(
            x=[mu[k, i]], y=[mu[k, j]], mode="markers+text", text=[str(k)],
            textposition="top center", marker=dict(size=7, color=color,
                                                   line=dict(width=1, color="black")),
            showlegend=False, hovertemplate=f"#{k} · {class_names[c]}<extra></extra>",
        ))
    fig.update_xaxes(title=f"z[{i}]")
    fig.update_yaxes(title=f"z[{j}]", scaleanchor="x", scaleratio=1)
    fig.update_layout(height=height, margin=dict(l=10, r=10, t=10, b=10), uirevision="keep")
    return fig


# ----------------------------------------------------------------------------------------------
# training replay

REPLAY_FILE = "replay.safetensors"
REPLAY_FORMAT = "latent-explorer-replay/1"
REPLAY_IMAGES = 500  # test images followed through training: enough to see the shape, cheap
REPLAY_SEED = 0  # which test images: a seeded sample, since a test split may be sorted by class
REPLAY_MAX_FRAMES = 61  # epochs kept; a longer run keeps every other one (first and last stay)
REPLAY_MAX_BYTES = 256 * 1024 * 1024


def replay_file(folder: str | Path) -> Path:
    return Path(folder) / REPLAY_FILE


@dataclass(frozen=True)
class Replay:
    epochs: np.ndarray  # (F,) int, ascending; 0 is the untrained model
    codes: np.ndarray  # (F, N, D) float32, the same N test images in every frame
    labels: np.ndarray  # (N,) int
    model_hash: str
    indices: np.ndarray | None = None  # (N,) which test images, ascending


def _thin(frames: list, limit: int) -> list:
    """Every other frame, always keeping the first and the last, until at most `limit` remain."""
    while len(frames) > limit:
        frames = frames[:-1:2] + [frames[-1]]
    return frames


class ReplayRecorder:
    """Keeps the codes of `n_images` test images before training and after each epoch.

    Used from the training thread (:meth:`watch` wraps the loop's callback); :attr:`frames` may
    be read from any thread. Encoding 500 images once an epoch costs far less than the epoch.
    """

    def __init__(self, n_images: int = REPLAY_IMAGES, max_frames: int = REPLAY_MAX_FRAMES):
        self.n_images, self.max_frames = n_images, max_frames
        self._lock = threading.Lock()
        self._frames: list[tuple[int, np.ndarray]] = []
        self._x: torch.Tensor | None = None
        self.labels: np.ndarray | None = None
        self.indices: np.ndarray | None = None

    def start(self, model: Autoencoder, x_test: torch.Tensor, y_test) -> None:
        """Choose the images and record the untrained codes. All of a small test split, else a
        seeded sample: the first n would do if splits were shuffled, but some are sorted by
        class (mnist-5k's first 500 test images are all 0s to 4s)."""
        n = len(x_test)
        if n > self.n_images:
            chosen = np.random.default_rng(REPLAY_SEED).choice(n, self.n_images, replace=False)
            self.indices = np.sort(chosen)
        else:
            self.indices = np.arange(n)
        self._x = torch.as_tensor(x_test[self.indices], dtype=torch.float32)
        self.labels = np.asarray(y_test, dtype=np.int64)[self.indices]
        self.capture(model, 0)

    def capture(self, model: Autoencoder, epoch: int) -> np.ndarray:
        if self._x is None:
            raise RuntimeError("ReplayRecorder.start must be called before capture.")
        codes = latent.encode_dataset(model, self._x)  # (N, D); eval mode, restored after
        with self._lock:
            self._frames = _thin([*self._frames, (int(epoch), codes)], self.max_frames)
        return codes

    def watch(self, model: Autoencoder, callback: Callable | None) -> Callable:
        """A training callback that records a frame at each epoch's end, then calls `callback`."""
        def on_event(event) -> None:
            if event.kind == "epoch":
                self.capture(model, event.epoch)
            if callback is not None:
                callback(event)
        return on_event

    @property
    def frames(self) -> list[tuple[int, np.ndarray]]:
        with self._lock:
            return list(self._frames)

    def save(self, folder: str | Path, model_hash: str) -> Path:
        frames = self.frames
        if not frames or self.labels is None:
            raise InspectError("Nothing was recorded, so there is no replay to save.")
        epochs = [e for e, _ in frames]
        codes = np.stack([c for _, c in frames])
        return save_replay(folder, epochs, codes, self.labels, model_hash, self.indices)


def save_replay(folder: str | Path, epochs: Sequence[int], codes: np.ndarray,
                labels: np.ndarray, model_hash: str, indices: np.ndarray | None = None) -> Path:
    """Write frames beside a run as ``replay.safetensors``, atomically (temp file + rename).

    Tensors ``epoch_000``, ``epoch_001``, ... (N, D) codes, ``labels`` (N,) and optionally
    ``indices`` (N,) of the test images; the metadata ties the file to the model's content hash.
    """
    from safetensors.numpy import save

    codes = np.asarray(codes, dtype=np.float32)
    if codes.ndim != 3 or len(codes) != len(epochs) or codes.shape[1] != len(labels):
        raise InspectError(f"Replay frames of shape {codes.shape} do not match "
                           f"{len(epochs)} epochs and {len(labels)} labels.")
    tensors = {f"epoch_{int(e):03d}": np.ascontiguousarray(c) for e, c in zip(epochs, codes,
                                                                            strict=True)}
    tensors["labels"] = np.ascontiguousarray(np.asarray(labels, dtype=np.int64))
    if indices is not None:
        tensors["indices"] = np.ascontiguousarray(np.asarray(indices, dtype=np.int64))
    data = save(tensors, metadata={"format": REPLAY_FORMAT, "model_hash": str(model_hash)})
    path = replay_file(folder)
    write_atomic(path, data)
    return path


def load_replay(folder: str | Path, expected_model_hash: str | None = None) -> Replay | None:
    """The replay saved beside a run, or None when there is none, it is not ours, or it belongs
    to other weights than `expected_model_hash`. Never raises for a bad file."""
    from safetensors import SafetensorError, safe_open

    path = replay_file(folder)
    try:
        if not path.is_file() or path.stat().st_size > REPLAY_MAX_BYTES:
            return None
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
            keys = sorted(k for k in f.keys() if k.startswith("epoch_"))
            if meta.get("format") != REPLAY_FORMAT or not keys or "labels" not in f.keys():
                return None
            codes = np.stack([f.get_tensor(k) for k in keys]).astype(np.float32)
            labels = f.get_tensor("labels").astype(np.int64)
            indices = f.get_tensor("indices").astype(np.int64) if "indices" in f.keys() else None
        epochs = np.array([int(k.removeprefix("epoch_")) for k in keys])
    except (SafetensorError, OSError, ValueError, TypeError):
        return None
    if expected_model_hash is not None and meta.get("model_hash") != expected_model_hash:
        return None
    if codes.ndim != 3 or codes.shape[1] != len(labels) or not np.isfinite(codes).all():
        return None
    order = np.argsort(epochs)
    if indices is not None and indices.shape != labels.shape:
        indices = None
    return Replay(epochs[order], codes[order], labels, meta.get("model_hash", ""), indices)


def replay_coords(replay: Replay, method: str = "pca") -> np.ndarray:
    """Every frame on one map, (F, N, 2) float32: the codes themselves for a 2-D latent, else a
    projection fitted once on the final frame (the organised space) that places every earlier
    frame with ``transform``, so all frames share axes and motion means motion."""
    from explorer.projection import ProjectionParams, fit_projection

    frames, n, d = replay.codes.shape
    if d <= 2:
        return fit_projection(replay.codes[-1]).transform(replay.codes.reshape(-1, d)) \
            .reshape(frames, n, 2)
    proj = fit_projection(replay.codes[-1], ProjectionParams(method=method))
    coords = np.empty((frames, n, 2), dtype=np.float32)
    coords[-1] = proj.coords
    if frames > 1:  # one transform call for all the earlier frames: far cheaper than F calls
        coords[:-1] = proj.transform(replay.codes[:-1].reshape(-1, d)).reshape(frames - 1, n, 2)
    return coords


def replay_figure(coords: np.ndarray, epochs: np.ndarray, labels: np.ndarray,
                  class_names: Sequence[str], axis_names: tuple[str, str] = ("1", "2"),
                  height: int = 560, frame_ms: int = 300) -> go.Figure:
    """A plotly animation of the codes, one frame per recorded epoch, with Play and a slider.

    Axes are fixed over all frames (from the full range of every frame), so the points move on
    one map instead of the map rescaling under them.
    """
    import plotly.graph_objects as go

    from explorer.mapview import PALETTE

    coords = np.asarray(coords, dtype=np.float32)
    labels = np.asarray(labels)
    classes = [c for c in range(len(class_names)) if (labels == c).any()]

    def traces(frame: np.ndarray) -> list[go.Scatter]:
        return [go.Scatter(x=frame[labels == c, 0], y=frame[labels == c, 1], mode="markers",
                           name=str(class_names[c]),
                           marker=dict(size=5, color=PALETTE[c % len(PALETTE)], opacity=0.8))
                for c in classes]

    names = [f"epoch {int(e)}" for e in epochs]
    lo, hi = coords.reshape(-1, 2).min(0), coords.reshape(-1, 2).max(0)
    pad = 0.05 * np.maximum(hi - lo, 1e-6)
    fig = go.Figure(data=traces(coords[0]),
                    frames=[go.Frame(data=traces(f), name=nm) for f, nm in zip(coords, names,
                                                                                strict=True)])
    play = dict(frame=dict(duration=frame_ms, redraw=True), transition=dict(duration=0),
                fromcurrent=True, mode="immediate")
    fig.update_layout(
        height=height, margin=dict(l=10, r=10, t=10, b=120),  # room for Play and the slider
        xaxis=dict(range=[float(lo[0] - pad[0]), float(hi[0] + pad[0])], title=axis_names[0],
                   autorange=False),
        yaxis=dict(range=[float(lo[1] - pad[1]), float(hi[1] + pad[1])], title=axis_names[1],
                   autorange=False),
        legend=dict(title="class", itemsizing="constant"),
        updatemenus=[dict(
            type="buttons", direction="left", x=0.0, y=-0.2, xanchor="left", yanchor="top",
            showactive=False, pad=dict(r=10, t=0),
            buttons=[dict(label="▶ Play", method="animate", args=[None, play]),
                     dict(label="❚❚ Pause", method="animate",
                          args=[[None], dict(frame=dict(duration=0, redraw=False),
                                             mode="immediate", transition=dict(duration=0))])],
        )],
        sliders=[dict(
            active=0, x=0.2, len=0.8, y=-0.14, yanchor="top", pad=dict(t=0, b=0),
            currentvalue=dict(prefix="", visible=True),
            steps=[dict(label=nm, method="animate",
                        args=[[nm], dict(frame=dict(duration=0, redraw=True), mode="immediate",
                                         transition=dict(duration=0))]) for nm in names],
        )],
    )
    return fig
