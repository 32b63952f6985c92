"""The noise predictor ε_θ(z_t, t): a small residual MLP with a sinusoidal embedding of t.

The base run's codes are standardised first (each dimension to mean 0 and variance 1 over the
training codes; the mean and scale are buffers saved with the weights), so the schedule's noise
has the scale of the data whatever the autoencoder's code range — an AE's codes can span tens of
units, a VAE's about one (Rombach et al. 2022 scale their latents for the same reason).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from explorer.families.latent_diffusion.config import DiffusionConfig
from explorer.families.models import init_weights


def time_embedding(t: torch.Tensor, dim: int, timesteps: int) -> torch.Tensor:
    """Sinusoidal features of t (B,) -> (B, dim), as the Transformer's positions (Vaswani et al.
    2017) and Ho et al. (2020, appendix B) use for the timestep."""
    half = dim // 2
    freqs = torch.exp(-math.log(10_000.0) * torch.arange(half, dtype=torch.float32) / half)
    angles = (t.float() * (1000.0 / timesteps))[:, None] * freqs[None, :]  # (B, half)
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class Block(nn.Module):
    def __init__(self, width: int, time_width: int):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, width)
        self.time = nn.Linear(time_width, width)
        self.fc2 = nn.Linear(width, width)

    def forward(self, h: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        u = torch.nn.functional.silu(self.fc1(self.norm(h)) + self.time(temb))  # (B, W)
        return h + self.fc2(u)


class NoisePredictor(nn.Module):
    """ε_θ(z_t, t) on standardised codes: z_t (B, D), t (B,) in 1..T -> ε̂ (B, D)."""

    family = "latent-diffusion"

    def __init__(self, cfg: DiffusionConfig):
        super().__init__()
        self.cfg = cfg
        d, w = cfg.latent_dim, cfg.hidden
        self.time_mlp = nn.Sequential(nn.Linear(cfg.time_dim, w), nn.SiLU(), nn.Linear(w, w))
        self.inp = nn.Linear(d, w)
        self.blocks = nn.ModuleList(Block(w, w) for _ in range(cfg.blocks))
        self.out = nn.Sequential(nn.LayerNorm(w), nn.SiLU(), nn.Linear(w, d))
        # The base run's training codes: z_std = (z - code_mean) / code_scale.
        self.register_buffer("code_mean", torch.zeros(d))
        self.register_buffer("code_scale", torch.ones(d))
        # The largest |standardised code| seen in training: the sampler clips ẑ_0 to it.
        self.register_buffer("code_bound", torch.tensor(4.0))

    def forward(self, z_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        temb = self.time_mlp(time_embedding(t, self.cfg.time_dim, self.cfg.timesteps))  # (B, W)
        h = self.inp(z_t)  # (B, W)
        for block in self.blocks:
            h = block(h, temb)
        return self.out(h)  # (B, D)

    def standardise(self, z: torch.Tensor) -> torch.Tensor:
        return (z - self.code_mean) / self.code_scale

    def unstandardise(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.code_scale + self.code_mean


def build(cfg: DiffusionConfig, generator: torch.Generator | None = None) -> NoisePredictor:
    """The noise predictor of `cfg`, its initial weights drawn from `generator` alone."""
    model = NoisePredictor(cfg)
    if generator is not None:
        init_weights(model, generator)
    return model
