"""Looking inside a latent space, the numbers behind the Inside page's pictures: how much each
dimension is used, where the holes are, and how sure the encoder is.

* **Usage.** A VAE's KL per dimension (nats) says which dimensions carry information; an AE has no
  KL, so the spread (variance) of its codes stands in. Dimensions are listed in the order of
  :func:`explorer.analysis.latent.kl_order`, as on the Interpolate page.
* **Holes.** :func:`decoded_grid` decodes a dense grid over a 2-D slice of the latent space;
  :func:`prior_density` and :func:`data_density` say where the prior and the data put their mass.
  An AE's codes sit wherever training left them, and much of the prior falls where no code ever
  visits; a VAE's KL term pushes its codes to where the prior puts mass. :func:`holes_fraction`
  measures both against the prior and against a Gaussian fitted to the codes.
* **Uncertainty.** A VAE's posterior q(z|x) = N(mu, diag(exp(logvar))) is an axis-aligned
  ellipse in any two dimensions (:func:`posterior_ellipse`).

No plotting here: the figures are in :mod:`explorer.figures.plots`; the training replay is
:mod:`explorer.analysis.replay`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from explorer import families
from explorer.analysis import latent
from explorer.analysis.metrics import ACTIVE_THRESHOLD, code_variance, kl_per_dimension
from explorer.errors import ExplorerError
from explorer.families.models import Autoencoder

COLLAPSE_NATS = 0.5  # a total KL below this carries almost nothing about x
PRIOR_SIGMAS = (1.0, 2.0, 3.0)  # circles holding 39%, 86% and 99% of a 2-D standard normal
HOLE_RATIOS = (0.1, 0.01)  # a prior draw is in a hole where the codes' density is below this x prior
DATA_MASSES = (0.5, 0.9, 0.99)  # data-density contours holding these shares of the codes


class InspectError(ExplorerError):
    """A choice that cannot be drawn (e.g. the same dimension twice); the message says why."""


# ----------------------------------------------------------------------------------------------
# how much each dimension is used


@dataclass(frozen=True)
class LatentUsage:
    """How a model uses its latent dimensions on some images."""

    values: np.ndarray  # (D,) mean KL per dimension in nats (VAE) or code variance (AE)
    variance: np.ndarray  # (D,) Var_x(E_q[z_d]): what "active" is judged by
    order: np.ndarray  # (D,) dimensions, most used first: latent.kl_order
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
    if families.of(model).posterior:
        values = kl_per_dimension(model, x)  # (D,) nats; sums to the mean total KL
        total = float(values.sum())
    else:
        values, total = variance, None
    order = latent.kl_order(model, x)
    active = int((variance > ACTIVE_THRESHOLD).sum())
    return LatentUsage(values, variance, order, active, total)


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


def sigma_mass(n_sigma: float) -> float:
    """The share of a 2-D Gaussian inside its n_sigma ellipse, 1 - exp(-n^2 / 2) (its squared
    Mahalanobis radius is chi-square with 2 degrees of freedom): 1σ holds 39%, 2σ 86%."""
    return 1.0 - math.exp(-0.5 * n_sigma**2)


def holes_fraction(codes2d: np.ndarray, n_draws: int = 20_000, ratios: Sequence[float] = HOLE_RATIOS,
                   seed: int = 0, bandwidth: float | None = None,
                   reference: str = "prior") -> dict[float, float]:
    """How much of a reference Gaussian falls in holes: the share of its draws z where the codes'
    density (the Gaussian KDE of :func:`data_density`) is below `ratio` times the reference's own
    density, for each ratio. A decoder never trained near such a z is likely to decode it to
    garbage.

    `reference`: "prior", N(0, I_2), what a VAE samples from — this share also counts codes that
    sit at another place or scale than N(0, I) (an AE's codes far from the origin give a large
    share with no gap at all); "fitted", a Gaussian fitted to the codes themselves (mean and
    covariance), what an AE samples from on Compare generators — this share counts only the gaps
    inside the codes' own spread, whatever its place and scale."""
    codes2d = np.asarray(codes2d, dtype=np.float64).reshape(-1, 2)
    h = float(bandwidth) if bandwidth is not None else scott_bandwidth(codes2d)
    eps = np.random.default_rng(seed).standard_normal((n_draws, 2))  # (M, 2)
    if reference == "prior":
        mean, chol = np.zeros(2), np.eye(2)
    elif reference == "fitted":
        mean = codes2d.mean(0)
        chol = np.linalg.cholesky(np.cov(codes2d, rowvar=False) + 1e-9 * np.eye(2))
    else:
        raise InspectError(f"Unknown reference {reference!r}: choose 'prior' or 'fitted'.")
    z = mean + eps @ chol.T  # (M, 2) draws of the reference
    density = np.empty(n_draws)
    for i in range(0, n_draws, 2000):  # (chunk, N) kernel matrix at a time
        d2 = ((z[i : i + 2000, None, :] - codes2d[None, :, :]) ** 2).sum(-1)
        density[i : i + 2000] = np.exp(-0.5 * d2 / h**2).mean(1) / (2.0 * math.pi * h * h)
    # The reference's density at its own draws: N(eps; 0, I) over the Jacobian |det chol|.
    ref = np.exp(-0.5 * (eps**2).sum(1)) / (2.0 * math.pi * abs(np.linalg.det(chol)))  # (M,)
    return {float(r): float((density < r * ref).mean()) for r in ratios}


def holes_shares(model: Autoencoder, x: torch.Tensor) -> dict[str, float]:
    """Both hole shares of the codes of images x (at ratio HOLE_RATIOS[0]), in the plane of the
    two most used dimensions (the whole latent space of a 2-D model): `holes_prior`, against
    N(0, I) — where the codes sit relative to the prior, scale included; `holes_fitted`, against
    a Gaussian fitted to the codes — the gaps inside their own spread."""
    codes = latent.encode_dataset(model, x)  # (N, D)
    dims = list(latent.kl_order(model, x)[:2]) if codes.shape[1] > 2 else [0, 1]
    plane = np.ascontiguousarray(codes[:, dims], dtype=np.float64)
    ratio = HOLE_RATIOS[0]
    return {"holes_prior": holes_fraction(plane, ratios=(ratio,))[ratio],
            "holes_fitted": holes_fraction(plane, ratios=(ratio,), reference="fitted")[ratio],
            "holes_ratio": ratio, "holes_dims": [int(d) for d in dims]}


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
