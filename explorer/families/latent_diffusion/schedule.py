"""The forward process and its cosine noise schedule.

Nichol & Dhariwal (2021, eq. 17): ᾱ(t) = f(t) / f(0), f(t) = cos²(((t/T + s) / (1 + s)) · π/2),
s = 0.008, and β_t = 1 − ᾱ_t / ᾱ_{t−1} clipped at 0.999. Ho et al. (2020, eq. 4) give the
forward marginal in closed form: q(z_t | z_0) = N(√ᾱ_t z_0, (1 − ᾱ_t) I), so training draws z_t
in one step. Timesteps are 1..T; index 0 of ``alpha_bar`` is t = 0 (ᾱ_0 = 1, no noise).
"""

from __future__ import annotations

import math

import torch

COSINE_OFFSET = 0.008  # s in Nichol & Dhariwal (2021): keeps β_1 from being vanishingly small
MAX_BETA = 0.999


def alpha_bar(timesteps: int) -> torch.Tensor:
    """ᾱ_t for t = 0..T, (T + 1,) float64, after clipping each β_t at MAX_BETA."""
    t = torch.arange(timesteps + 1, dtype=torch.float64)
    f = torch.cos((t / timesteps + COSINE_OFFSET) / (1 + COSINE_OFFSET) * math.pi / 2) ** 2
    raw = f / f[0]
    beta = (1 - raw[1:] / raw[:-1]).clamp(max=MAX_BETA)  # (T,)
    return torch.cat([torch.ones(1, dtype=torch.float64), torch.cumprod(1 - beta, 0)])


def q_sample(z0: torch.Tensor, t: torch.Tensor, eps: torch.Tensor,
             abar: torch.Tensor) -> torch.Tensor:
    """z_t = √ᾱ_t z_0 + √(1 − ᾱ_t) ε (Ho et al. 2020, eq. 4); t (B,) integers in 1..T."""
    a = abar.to(z0.dtype)[t][:, None]  # (B, 1)
    return a.sqrt() * z0 + (1 - a).sqrt() * eps  # (B, D)


def timesteps_for(steps: int, timesteps: int) -> list[int]:
    """`steps` timesteps from T down to 1, evenly spaced (the sampler's subsequence, Song et al.
    2021 §4.2; Nichol & Dhariwal 2021 §4 for ancestral sampling with fewer steps)."""
    steps = max(1, min(int(steps), timesteps))
    ts = torch.linspace(timesteps, 1, steps).round().long().tolist()
    return sorted(set(ts), reverse=True)
