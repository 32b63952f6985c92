"""New images from any model that can sample: one function, whatever the family.

A VAE, CVAE or GAN decodes draws from its prior N(0, T² I); a CVAE draws each class in turn
unless told which; a plain autoencoder has no prior, so it decodes draws from a Gaussian fitted
to the codes of its training images (the fair way to let it sample beside the others).
"""

from __future__ import annotations

import numpy as np
import torch

from explorer import families
from explorer.data.datasets import Dataset
from explorer.errors import ConfigError
from explorer.families.models import can


@torch.inference_mode()
def fitted_gaussian(model, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean (D,) and Cholesky factor (D, D) of the codes of images x."""
    codes = torch.cat([model.embed(x[i : i + 1000]) for i in range(0, len(x), 1000)]).double()
    cov = torch.cov(codes.T) + 1e-6 * torch.eye(codes.shape[1], dtype=torch.float64)
    return codes.mean(0), torch.linalg.cholesky(cov)


@torch.inference_mode()
def sample(model, n: int, seed: int = 0, temperature: float = 1.0, labels=None,
           data: Dataset | None = None) -> tuple[torch.Tensor, np.ndarray | None]:
    """(n, C, H, W) images in [0, 1] and, for a conditional model, the (n,) classes drawn.

    `labels`: one class or n of them for a conditional model (default: 0, 1, 2, ... in turn).
    `data`: the dataset whose train codes an autoencoder's Gaussian is fitted to."""
    if not can(model, "sample"):
        raise ConfigError("This model cannot make new images.")
    generator = torch.Generator().manual_seed(seed)
    z = temperature * torch.randn((n, model.latent_dim), generator=generator)  # (n, D)
    if families.of(model).codes_from_data:  # no prior: a Gaussian fitted to its codes
        if data is None:
            raise ConfigError("An autoencoder samples from a Gaussian fitted to its codes: "
                              "give the dataset it was trained on.")
        mu, chol = fitted_gaussian(model, data.x_train)
        z = (mu + z.double() @ chol.T).float()
    if not can(model, "condition"):
        return _batched(model.decode, z), None
    y = np.arange(n) % model.cfg.n_classes if labels is None else np.broadcast_to(labels, (n,))
    y = np.array(y, dtype=np.int64)  # a writable copy
    y_t = torch.from_numpy(y)
    images = torch.cat([model.decode(z[i : i + 1000], y_t[i : i + 1000])
                        for i in range(0, n, 1000)])
    return images, y


def _batched(decode, z: torch.Tensor) -> torch.Tensor:
    return torch.cat([decode(z[i : i + 1000]) for i in range(0, len(z), 1000)])


@torch.inference_mode()
def same_style(model, x: torch.Tensor, y: int, classes) -> torch.Tensor:
    """A conditional model's "same style, another digit": encode image x (C, H, W) with its class
    y, keep the code z, decode it with each of `classes`. (K, C, H, W)"""
    z = model.encode(x[None], torch.tensor([y])).mu  # (1, D): the posterior mean
    classes = torch.as_tensor(list(classes), dtype=torch.long)
    return model.decode(z.expand(len(classes), -1), classes)
