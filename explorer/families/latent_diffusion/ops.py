"""Latent diffusion's torch side as the family contract asks of a family over another run's codes
(:mod:`explorer.families.base`): its CLI commands and its job, which the CLI and the job worker
find through the registry."""

from __future__ import annotations

from explorer.families.latent_diffusion.cli import evaluate as eval_cli
from explorer.families.latent_diffusion.cli import train as train_cli
from explorer.families.latent_diffusion.jobs import run_job

__all__ = ["eval_cli", "run_job", "train_cli"]
