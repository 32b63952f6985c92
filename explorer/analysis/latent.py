"""Walking the latent space: encode a dataset, decode codes, interpolate, traverse, grid, sample,
class means and analogies (nearest neighbours live in :mod:`explorer.analysis.neighbours`).

The pages draw what these functions return, so everything here speaks numpy: codes are float32
arrays shaped (N, D) and images float32 in [0, 1]. Greyscale images drop their channel axis,
(B, H, W); colour images keep it, (B, C, H, W). Model work runs on the model's own device under
``torch.inference_mode()``; anything random comes from a local, seeded generator.

Grid convention (see :func:`grid_2d`): row-major, columns left to right follow the first chosen
dimension ascending, rows top to bottom follow the second dimension *descending*, so the picture
reads like a scatter plot whose y axis points up.
"""

from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np
import torch

from explorer import families
from explorer.analysis.metrics import (
    as_tensor,
    code_variance,
    eval_mode,
    kl_per_dimension,
    model_device,
)
from explorer.errors import ModelFileError
from explorer.families.models import Autoencoder
from explorer.images import image_grid, to_uint8, upscale  # noqa: F401 - re-exported

SLERP_EPS = 1e-6  # below this sin(angle) the endpoints are parallel and slerp becomes lerp
SPACINGS = ("linear", "gaussian")
METHODS = ("linear", "spherical")
# The classic VAE manifold picture (Kingma & Welling 2014, fig. 4) spaces a 2-D grid by the
# Gaussian inverse CDF over [0.05, 0.95]: these are the latent values of those two quantiles.
PRIOR_RANGE = (NormalDist().inv_cdf(0.05), NormalDist().inv_cdf(0.95))


# ----------------------------------------------------------------------------------------------
# codes and images


def encode_dataset(model: Autoencoder, x: torch.Tensor, batch_size: int = 1000) -> np.ndarray:
    """The code of every image, (N, D) float32: the posterior mean for a VAE (model.embed).
    Raises ModelFileError when a code is not finite: weights near float32's limit (3e38) pass
    the loader's checks but overflow here, and every picture made from such codes is noise."""
    x = as_tensor(x)
    device = model_device(model)
    codes = []
    with eval_mode(model), torch.inference_mode():
        for i in range(0, len(x), batch_size):
            codes.append(model.embed(x[i : i + batch_size].to(device)).cpu())  # (B, D)
    if not codes:
        return np.zeros((0, model.cfg.latent_dim), dtype=np.float32)
    codes = torch.cat(codes).numpy().astype(np.float32, copy=False)
    if not np.isfinite(codes).all():
        raise ModelFileError("This model's codes overflow (infinite or not a number): its "
                             "weights are too large to compute with, so it cannot be shown.")
    return codes


def _to_images(x_hat: torch.Tensor) -> np.ndarray:
    """(B, C, H, W) tensor -> float32 numpy; greyscale loses its channel axis, (B, H, W)."""
    if x_hat.shape[1] == 1:
        x_hat = x_hat[:, 0]
    return x_hat.detach().cpu().numpy().astype(np.float32, copy=False)


def decode(model: Autoencoder, z: np.ndarray | torch.Tensor) -> np.ndarray:
    """Images for codes z (B, D), or for one code (D,) as a batch of one.

    Returns float32 in [0, 1], (B, H, W) for greyscale or (B, C, H, W). Cheap enough to call on
    every slider move: no mode switching, one forward pass.
    """
    z = as_tensor(z)
    if z.ndim == 1:
        z = z[None]  # (1, D)
    if z.ndim != 2 or z.shape[1] != model.cfg.latent_dim:
        raise ValueError(
            f"Codes must be shaped (D,) or (B, D) with D = {model.cfg.latent_dim}, "
            f"got {tuple(z.shape)}."
        )
    # The decoders have no dropout or batch norm, so train/eval mode does not change decode().
    with torch.inference_mode():
        x_hat = model.decode(z.to(model_device(model)))  # (B, C, H, W)
    return _to_images(x_hat)


def sample_prior_z(latent_dim: int, n: int, temperature: float = 1.0, seed: int = 0) -> np.ndarray:
    """n codes z ~ N(0, temperature^2 I), (n, D) float32, from a local seeded generator."""
    generator = torch.Generator(device="cpu").manual_seed(seed)
    z = temperature * torch.randn((n, latent_dim), generator=generator)  # (n, D)
    return z.numpy()


def sample_prior(model: Autoencoder, n: int, temperature: float = 1.0, seed: int = 0) -> np.ndarray:
    """Decode n draws from the prior N(0, temperature^2 I). Temperature < 1 trades variety for
    cleaner images. An AE has no prior, so its samples show how much of N(0, I) it never uses."""
    return decode(model, sample_prior_z(model.cfg.latent_dim, n, temperature, seed))


# ----------------------------------------------------------------------------------------------
# paths through the latent space


def _t_array(t) -> tuple[np.ndarray, bool]:
    t_arr = np.asarray(t, dtype=np.float64)
    return t_arr.reshape(-1, 1), t_arr.ndim == 0  # (T, 1), was it a scalar?


def lerp(z0: np.ndarray, z1: np.ndarray, t) -> np.ndarray:
    """Linear interpolation (1 - t) z0 + t z1. Scalar t gives (D,), an array of t gives (T, D)."""
    z0, z1 = np.asarray(z0, dtype=np.float64), np.asarray(z1, dtype=np.float64)
    t_col, scalar = _t_array(t)
    z = (1.0 - t_col) * z0 + t_col * z1  # (T, D)
    z = z.astype(np.float32)
    return z[0] if scalar else z


def slerp(z0: np.ndarray, z1: np.ndarray, t) -> np.ndarray:
    """Spherical interpolation along the great circle from z0 to z1 (Shoemake 1985; suggested for
    latent spaces by White 2016, "Sampling Generative Networks").

    It turns the angle at a steady pace. The length is kept only when both ends share it; with
    unequal lengths it can swing outside both (far outside when the ends point almost opposite
    ways), where a straight line dips towards the origin between codes far apart in angle. In
    many dimensions N(0, I) puts its mass near a shell of radius ~sqrt(D), so the dip leaves the
    region the decoder saw; in 2-D there is no thin shell to keep to. :func:`path_lengths` shows
    both. Parallel, antiparallel or zero endpoints have no unique arc: we fall back to lerp. Scalar t gives (D,), an array of t gives (T, D).
    """
    z0, z1 = np.asarray(z0, dtype=np.float64), np.asarray(z1, dtype=np.float64)
    n0, n1 = np.linalg.norm(z0), np.linalg.norm(z1)
    if n0 == 0.0 or n1 == 0.0:
        return lerp(z0, z1, t)
    cos_omega = np.clip(np.dot(z0 / n0, z1 / n1), -1.0, 1.0)
    omega = math.acos(cos_omega)  # angle between the endpoints
    sin_omega = math.sin(omega)
    if sin_omega < SLERP_EPS:
        return lerp(z0, z1, t)
    t_col, scalar = _t_array(t)
    w0 = np.sin((1.0 - t_col) * omega) / sin_omega  # (T, 1)
    w1 = np.sin(t_col * omega) / sin_omega  # (T, 1)
    z = (w0 * z0 + w1 * z1).astype(np.float32)  # (T, D)
    return z[0] if scalar else z


def path_lengths(z0: np.ndarray, z1: np.ndarray, steps: int = 21) -> dict[str, np.ndarray]:
    """The code's length ||z|| along the linear and the spherical path from z0 to z1, (steps,)."""
    t = np.linspace(0.0, 1.0, steps)
    return {"linear": np.linalg.norm(lerp(z0, z1, t), axis=1),
            "spherical": np.linalg.norm(slerp(z0, z1, t), axis=1)}


def interpolate(z0: np.ndarray, z1: np.ndarray, steps: int, method: str = "linear") -> np.ndarray:
    """`steps` codes from z0 to z1 inclusive, (steps, D); method "linear" or "spherical"."""
    if method not in METHODS:
        raise ValueError(f"Unknown interpolation {method!r}: choose one of {', '.join(METHODS)}.")
    if steps < 2:
        raise ValueError(f"An interpolation needs at least 2 steps, got {steps}.")
    t = np.linspace(0.0, 1.0, steps)
    return (slerp if method == "spherical" else lerp)(z0, z1, t)


def traverse(z: np.ndarray, dim: int, values) -> np.ndarray:
    """Copies of z with dimension `dim` set to each value in turn, (len(values), D): the latent
    traversal that shows what one dimension controls (Higgins et al. 2017, fig. 7)."""
    z = np.asarray(z, dtype=np.float32)
    values = np.asarray(values, dtype=np.float32).reshape(-1)
    if not 0 <= dim < z.shape[-1]:
        raise ValueError(f"Dimension {dim} is outside the code's 0..{z.shape[-1] - 1}.")
    out = np.repeat(z[None], len(values), axis=0)  # (T, D)
    out[:, dim] = values
    return out


# ----------------------------------------------------------------------------------------------
# grids


def grid_values(n: int, lo: float, hi: float, spacing: str = "linear") -> np.ndarray:
    """n values from lo to hi inclusive, ascending, float32.

    "linear": evenly spaced. "gaussian": evenly spaced in prior probability, Phi^-1 of evenly
    spaced Phi(lo)..Phi(hi), so points bunch up near 0 where the prior puts its mass. With
    (lo, hi) = PRIOR_RANGE this is the classic norm.ppf(linspace(0.05, 0.95, n)) manifold grid.
    """
    if spacing not in SPACINGS:
        raise ValueError(f"Unknown spacing {spacing!r}: choose one of {', '.join(SPACINGS)}.")
    if n < 1:
        raise ValueError(f"A grid needs at least one value, got n = {n}.")
    if n == 1:
        return np.array([(lo + hi) / 2.0], dtype=np.float32)
    if spacing == "linear":
        return np.linspace(lo, hi, n).astype(np.float32)
    normal = NormalDist()
    p = np.linspace(normal.cdf(lo), normal.cdf(hi), n)
    values = np.array([normal.inv_cdf(min(max(q, 1e-12), 1 - 1e-12)) for q in p])
    values[0], values[-1] = lo, hi  # exact endpoints despite the cdf round trip
    return values.astype(np.float32)


def grid_2d(
    center_z: np.ndarray,
    dims: tuple[int, int] = (0, 1),
    extent=(-3.0, 3.0),
    n: int = 10,
    spacing: str = "linear",
) -> np.ndarray:
    """An n x n grid of codes through center_z varying two dimensions, (n * n, D), row-major.

    `extent` is one (lo, hi) for both dimensions or ((lo_i, hi_i), (lo_j, hi_j)). Entry
    r * n + c has z[dims[0]] = the c-th value ascending (columns left to right) and
    z[dims[1]] = the r-th value *descending* (rows top to bottom), so decoding the grid and
    tiling it with `image_grid(..., ncols=n)` matches a scatter plot of (z_i, z_j), y pointing up.
    Other dimensions keep center_z's values. For a 2-D latent use dims=(0, 1).
    """
    center_z = np.asarray(center_z, dtype=np.float32).reshape(-1)
    i, j = dims
    if i == j:
        raise ValueError("A 2-D grid needs two different dimensions.")
    extent = np.asarray(extent, dtype=np.float64)
    (lo_i, hi_i), (lo_j, hi_j) = (extent, extent) if extent.ndim == 1 else extent
    xs = grid_values(n, lo_i, hi_i, spacing)  # (n,) ascending, left to right
    ys = grid_values(n, lo_j, hi_j, spacing)[::-1]  # (n,) descending, top to bottom
    z = np.repeat(center_z[None], n * n, axis=0)  # (n*n, D)
    z[:, i] = np.tile(xs, n)  # column index varies fastest
    z[:, j] = np.repeat(ys, n)
    return z


# ----------------------------------------------------------------------------------------------
# ordering


def kl_order(model: Autoencoder, x: torch.Tensor) -> np.ndarray:
    """Latent dimensions sorted from most to least used, (D,) int: by mean KL for a VAE (the nats
    each dimension carries), by code variance over x for an AE. Ties keep index order."""
    score = kl_per_dimension(model, x) if families.of(model).posterior else code_variance(model, x)
    return np.argsort(-score, kind="stable")


# ----------------------------------------------------------------------------------------------
# arithmetic


def class_means(codes: np.ndarray, labels: np.ndarray, n_classes: int) -> np.ndarray:
    """The mean code of each class, (K, D) float32 ("what the average 3 looks like to the
    model"); a class with no member gets a row of NaN. The codes of a VAE are its posterior
    means, so this is the class's mean of μ."""
    codes = np.asarray(codes, dtype=np.float64)  # (N, D)
    labels = np.asarray(labels, dtype=np.int64)  # (N,)
    sums = np.zeros((n_classes, codes.shape[1]))
    np.add.at(sums, labels, codes)  # (K, D)
    counts = np.bincount(labels, minlength=n_classes)[:, None]  # (K, 1)
    with np.errstate(invalid="ignore"):
        return (sums / np.where(counts > 0, counts, np.nan)).astype(np.float32)


def analogy_codes(z: np.ndarray, means: np.ndarray, source) -> np.ndarray:
    """z − mean(source) + mean(c) for every class c: the code's offset from its own class's mean
    (its "style") carried to each class (White 2016, "Sampling Generative Networks", attribute
    vectors). z (D,) with one source class gives (K, D); a batch (M, D) with sources (M,) gives
    (M, K, D). The row of the source class is z itself, exactly."""
    z = np.asarray(z, dtype=np.float32)
    means = np.asarray(means, dtype=np.float32)  # (K, D)
    source = np.asarray(source, dtype=np.int64)
    offset = means[None] - means[source.reshape(-1)][:, None]  # (M, K, D), zero at the source
    out = z.reshape(-1, 1, z.shape[-1]) + offset  # (M, K, D)
    return out[0] if z.ndim == 1 else out
