"""What the latent diffusion page shows, as arrays: the reverse process of many samples, the
frames a movie keeps, the denoising direction on a grid, one sample's trajectory decoded."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from explorer.families.latent_diffusion.model import NoisePredictor
from explorer.families.latent_diffusion.sampling import denoising_field, sample_codes

MOVIE_POINTS = 2000  # samples flowing on the 2-D map
MOVIE_FRAMES = 26  # frames a movie keeps (the payload grows with each)
GRID = 15  # arrows per side


@dataclass(frozen=True)
class Reverse:
    """The reverse process of n samples: `path` (S + 1, n, D) in the base's coordinates, row 0
    the noise z_T and row S the codes; `ts` (S + 1,) the timesteps, T ... 0."""

    path: np.ndarray
    ts: np.ndarray

    @property
    def codes(self) -> np.ndarray:
        return self.path[-1]


def reverse_process(prior: NoisePredictor, n: int, sampler: str, steps: int,
                    seed: int) -> Reverse:
    _, (path, ts) = sample_codes(prior, n, seed=seed, sampler=sampler, steps=steps, keep=True)
    return Reverse(path.numpy().astype(np.float32), np.asarray(ts, dtype=np.int64))


def movie_frames(rev: Reverse, frames: int = MOVIE_FRAMES) -> np.ndarray:
    """Indices of the steps a movie shows: evenly spread, always the first and the last."""
    return np.unique(np.linspace(0, len(rev.ts) - 1, min(frames, len(rev.ts))).round().astype(int))


def arrow_grid(prior: NoisePredictor, t: int, lo: np.ndarray, hi: np.ndarray,
               n: int = GRID) -> tuple[np.ndarray, np.ndarray]:
    """(n², 2) grid points over [lo, hi] and −ε̂_θ(z, t) at each, in the base's units (2-D)."""
    xs, ys = np.linspace(lo[0], hi[0], n), np.linspace(lo[1], hi[1], n)
    grid = np.stack(np.meshgrid(xs, ys), -1).reshape(-1, 2).astype(np.float32)
    if t <= 0:  # t = 0 is the data itself: no noise left to take out
        return grid, np.zeros_like(grid)
    field = denoising_field(prior, torch.from_numpy(grid), t)
    return grid, field.numpy().astype(np.float32)


def strip_steps(n_steps: int, most: int = 11) -> np.ndarray:
    """Which rows of a trajectory (n_steps rows) a strip of at most `most` images shows."""
    return np.unique(np.linspace(0, n_steps - 1, min(most, n_steps)).round().astype(int))


def sample_images(prior: NoisePredictor, base, n: int, seed: int, sampler: str = "ddpm",
                  steps: int = 100) -> np.ndarray:
    """n images (n, H, W) the base decodes from the prior's codes."""
    from explorer.analysis.latent import decode

    z, _ = sample_codes(prior, n, seed=seed, sampler=sampler, steps=steps)
    return decode(base, z)


def scored_rows(bases) -> list[tuple[object, object]]:
    """(base entry, prior entry) for each prior, shipped or trained here, whose card holds its
    scores (explorer.families.latent_diffusion.evaluate), over one of `bases` (store entries), in
    the bases' order, a shipped prior before a run's."""
    from explorer.families.latent_diffusion.files import list_priors

    priors = [p for p in list_priors() if "scores" in p.card]
    return [(e, p) for e in bases for p in priors
            if p.base.get("content_hash") == e.card.get("content_hash")]


def shipped_rows(bases) -> list[tuple[object, object]]:
    """(base entry, prior entry) for each shipped prior with scores over one of `bases` (store
    entries), in the bases' order."""
    from explorer.families.latent_diffusion.files import list_priors

    priors = [p for p in list_priors() if p.id.startswith("pretrained/") and "scores" in p.card]
    return [(e, p) for e in bases for p in priors
            if p.base.get("content_hash") == e.card.get("content_hash")]
