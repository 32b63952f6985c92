"""The reverse process: from N(0, I) back to codes, ancestral (DDPM) or deterministic (DDIM).

One update covers both (Song et al. 2021, eq. 12): from timestep t to an earlier s,

    ẑ_0 = (z_t − √(1 − ᾱ_t) ε̂) / √ᾱ_t
    z_s = √ᾱ_s ẑ_0 + √(1 − ᾱ_s − σ²) ε̂ + σ ξ,   σ = η √((1 − ᾱ_s)/(1 − ᾱ_t)) √(1 − ᾱ_t/ᾱ_s)

η = 0 is DDIM, deterministic given the starting noise; η = 1 is the ancestral sampler of Ho
et al. (2020, algorithm 2) with the posterior variance β̃, over any subsequence of timesteps.
ẑ_0 is clipped to the training codes' range (as images are clipped to their pixel range), which
keeps the first steps, where ᾱ_T is about 1e-9, from amplifying the predictor's error.

Everything here works in the base run's own code coordinates: the model standardises inside.
Every draw comes from the `generator` given.
"""

from __future__ import annotations

import torch

from explorer.families.latent_diffusion.model import NoisePredictor
from explorer.families.latent_diffusion.schedule import alpha_bar, timesteps_for

ETA = {"ddpm": 1.0, "ddim": 0.0}


def _abar(model: NoisePredictor) -> torch.Tensor:
    return alpha_bar(model.cfg.timesteps)


@torch.inference_mode()
def reverse(model: NoisePredictor, z_T: torch.Tensor, sampler: str = "ddpm", steps: int = 100,
            generator: torch.Generator | None = None, keep: bool = False):
    """Run the reverse process from standardised noise z_T (n, D) over `steps` timesteps.

    Returns (codes (n, D) in the base's coordinates, trajectory or None): with `keep`, the
    trajectory is (S + 1, n, D) in the base's coordinates, row 0 the noise and row S the codes,
    with the timesteps (S + 1,) it passed (T ... 0)."""
    eta = ETA[sampler]
    abar = _abar(model)
    ts = timesteps_for(steps, model.cfg.timesteps)
    bound = float(model.code_bound)
    z = z_T.float()
    path = [model.unstandardise(z)] if keep else None
    for i, t in enumerate(ts):
        s = ts[i + 1] if i + 1 < len(ts) else 0
        a_t, a_s = float(abar[t]), float(abar[s])
        eps = model(z, torch.full((len(z),), t, dtype=torch.long))  # (n, D)
        z0 = ((z - (1 - a_t) ** 0.5 * eps) / a_t**0.5).clamp(-bound, bound)
        eps = (z - a_t**0.5 * z0) / (1 - a_t) ** 0.5  # the noise consistent with the clipped ẑ_0
        sigma = eta * ((1 - a_s) / (1 - a_t)) ** 0.5 * (1 - a_t / a_s) ** 0.5
        z = a_s**0.5 * z0 + max(1 - a_s - sigma**2, 0.0) ** 0.5 * eps
        if sigma > 0:
            z = z + sigma * torch.randn(z.shape, generator=generator)
        if keep:
            path.append(model.unstandardise(z))
    codes = model.unstandardise(z)
    if not keep:
        return codes, None
    return codes, (torch.stack(path), [*ts, 0])


def sample_codes(model: NoisePredictor, n: int, seed: int = 0, sampler: str = "ddpm",
                 steps: int = 100, keep: bool = False):
    """n codes from the learned prior, (n, D) in the base's coordinates; with `keep` also the
    trajectory (see :func:`reverse`). The noise and every later draw come from one generator
    seeded by `seed`."""
    generator = torch.Generator().manual_seed(seed)
    z_T = torch.randn((n, model.cfg.latent_dim), generator=generator)  # (n, D) standardised
    return reverse(model, z_T, sampler, steps, generator, keep)


@torch.inference_mode()
def denoising_field(model: NoisePredictor, z: torch.Tensor, t: int) -> torch.Tensor:
    """−ε̂_θ(z, t) in the base's coordinates, (n, D): the direction the model takes noise out,
    proportional to the score ∇ log p_t(z) (Song et al. 2021, score SDE: ε̂ = −√(1 − ᾱ_t) ∇ log
    p_t). `z` is in the base's coordinates; t in 1..T."""
    eps = model(model.standardise(z.float()), torch.full((len(z),), int(t), dtype=torch.long))
    return -eps * model.code_scale  # back into the base's units, direction only
