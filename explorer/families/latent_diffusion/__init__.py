"""Latent diffusion: a denoising diffusion model (Ho et al. 2020) over the codes of an AE or VAE
run, with a cosine schedule (Nichol & Dhariwal 2021) and DDPM or DDIM sampling (Song et al. 2021);
the base run's decoder turns its codes into images (Rombach et al. 2022 do this at scale).

The family in one place: its config (config.py), network (model.py), schedule, training step
(train.py), samplers, evaluation, files and one run start to end (run.py).
"""

from __future__ import annotations

from explorer.families.base import Family
from explorer.families.latent_diffusion.config import (
    CARD,
    FAMILY,
    DiffusionConfig,
    DiffusionTrainConfig,
)

CAPABILITIES = frozenset({"sample"})  # over a base run that decodes: it encodes nothing itself

# Its declaration in the family registry: a family over another run's codes, so the CLI and the
# job worker hand its commands and jobs to its torch side (ops.py) without naming it.
DECLARATION = Family(
    FAMILY, "Latent diffusion", CAPABILITIES, "explorer.families.latent_diffusion.ops",
    about="a learned prior over an AE's or VAE's codes, whose decoder draws them",
    generator_scores=True, reconstructs=False, base_run=True, card_file=CARD,
)

__all__ = ["CAPABILITIES", "CARD", "DECLARATION", "FAMILY", "DiffusionConfig",
           "DiffusionTrainConfig"]
