"""Autoencoders (AE) and variational autoencoders (VAE) with MLP or convolutional bodies.

Every model speaks one contract:

- ``encode(x) -> Posterior(mu, logvar)``: ``logvar`` is ``None`` for a plain AE;
- ``embed(x) -> z``: the deterministic code a map shows (the posterior mean for a VAE);
- ``decode(z) -> x_hat``: pixel means in [0, 1];
- ``forward(x) -> dict`` with ``x_hat``, ``z``, ``mu``, ``logvar``;
- ``loss(x) -> dict`` with ``loss`` and its named parts (``recon``, ``kl``, ``sparsity``), each a
  mean over the batch of a per-image sum over pixels, i.e. nats per image.

Models are built from a frozen :class:`ModelConfig`; every layer shape derives from it.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from explorer import families
from explorer.families.bodies import BODIES
from explorer.families.config import (  # noqa: F401 - the model contract's names, re-exported
    ARCHS,
    CAPABILITIES,
    DEFAULT_HIDDEN,
    GAUSSIAN_LOG_NORMALISER,
    KINDS,
    LIKELIHOODS,
    MAX_ACTIVATIONS,
    MAX_PARAMETERS,
    MAX_PIXELS,
    ModelConfig,
    ModelSize,
    check_size,
    parameter_count,
    parse_hidden,
)


class Posterior(NamedTuple):
    mu: torch.Tensor  # (B, D)
    logvar: torch.Tensor | None  # (B, D) for a VAE, None for an AE


class Autoencoder(nn.Module):
    """A deterministic autoencoder, optionally sparse (L1 on z) and denoising.

    Every random draw inside the model (denoising noise, the VAE's reparameterisation noise) comes
    from ``self.generator`` when one is set: a training run sets its own, so a seed means the same
    weights whatever else the process (or a thread beside it) draws from torch's global state.
    """

    generator: torch.Generator | None = None

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.capabilities = families.get(cfg.kind).capabilities
        body = BODIES[cfg.arch](cfg, families.get(cfg.kind).code_features(cfg.latent_dim))
        self.encoder, self.decoder = body.encoder, body.decoder

    @property
    def latent_dim(self) -> int:
        return self.cfg.latent_dim

    def encode(self, x: torch.Tensor) -> Posterior:
        return Posterior(self.encoder(x).float(), None)  # (B, D); fp32 under autocast too

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.encode(x).mu

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)  # (B, C, H, W)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(z))

    def sample_z(self, post: Posterior, sample: bool) -> torch.Tensor:
        return post.mu

    def noise(self, like: torch.Tensor) -> torch.Tensor:
        """Standard-normal noise shaped like `like`, from the model's generator (if any)."""
        g = self.generator
        device = g.device if g is not None else like.device
        eps = torch.randn(like.shape, generator=g, device=device, dtype=like.dtype)
        return eps.to(like.device)

    def binarize(self, x: torch.Tensor) -> torch.Tensor:
        """Each pixel drawn as 1 with its grey level as probability, from the model's generator: a
        fresh draw every call, so training sees a new binary image each epoch ("dynamic
        binarisation", Salakhutdinov & Murray 2008). A binary image comes back unchanged."""
        g = self.generator
        device = g.device if g is not None else x.device
        u = torch.rand(x.shape, generator=g, device=device, dtype=x.dtype).to(x.device)
        return (u < x).to(x.dtype)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor | None]:
        post = self.encode(x)
        z = self.sample_z(post, sample=self.training)  # eval: show the mean reconstruction
        return {"x_hat": self.decode(z), "z": z, "mu": post.mu, "logvar": post.logvar}

    def recon_nll(self, logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Per-image reconstruction term (B,), summed over pixels."""
        if self.cfg.likelihood != "gaussian":
            per_pixel = F.binary_cross_entropy_with_logits(logits, x, reduction="none")
        else:
            per_pixel = (torch.sigmoid(logits) - x) ** 2
        return per_pixel.flatten(1).sum(1)

    def kl(self, post: Posterior) -> torch.Tensor | None:
        return None

    def loss(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.cfg.likelihood == "binarized":
            x = self.binarize(x)
        x_in = x
        if self.training and self.cfg.denoise > 0:
            # Denoising: corrupt the input, reconstruct the clean image (Vincent et al., 2008).
            x_in = (x + self.cfg.denoise * self.noise(x)).clamp(0.0, 1.0)
        post = self.encode(x_in)
        z = self.sample_z(post, sample=True)  # a one-sample estimate of the ELBO, also at test time
        # Summed over the batch in one reduction, then per image: the same value as
        # recon_nll(...).mean() without materialising a (B,) intermediate per pixel row.
        logits = self.decode_logits(z).float()  # (B, C, H, W); fp32 even under bf16 autocast
        if self.cfg.likelihood != "gaussian":
            recon = F.binary_cross_entropy_with_logits(logits, x, reduction="sum") / len(x)
        else:
            recon = (torch.sigmoid(logits) - x).pow(2).sum() / len(x)
        parts = {"recon": recon}
        total = recon
        kl = self.kl(post)
        if kl is not None:
            parts["kl"] = kl.mean()
            total = total + self.cfg.beta * parts["kl"]
        if self.cfg.sparsity > 0:
            parts["sparsity"] = z.abs().sum(1).mean()
            total = total + self.cfg.sparsity * parts["sparsity"]
        return {"loss": total, **parts}


class VAE(Autoencoder):
    """Gaussian posterior, standard-normal prior, beta-weighted KL (Kingma & Welling, 2014;
    Higgins et al., 2017)."""

    def encode(self, x: torch.Tensor) -> Posterior:
        # .float(): under bf16 autocast the layers run in bf16 but the noise, KL and loss stay fp32.
        mu, logvar = self.encoder(x).float().chunk(2, dim=1)  # (B, D), (B, D)
        return Posterior(mu, logvar)

    def sample_z(self, post: Posterior, sample: bool) -> torch.Tensor:
        if not sample:
            return post.mu
        # Reparameterisation trick: z = mu + sigma * eps keeps the sample differentiable.
        return post.mu + torch.exp(0.5 * post.logvar) * self.noise(post.mu)

    def kl_per_dim(self, post: Posterior) -> torch.Tensor:
        """KL(q(z|x) || N(0, I)) per latent dimension, (B, D). Kingma & Welling 2014, appendix B:
        -KL = 1/2 * sum(1 + log sigma^2 - mu^2 - sigma^2)."""
        return -0.5 * (1 + post.logvar - post.mu.pow(2) - post.logvar.exp())

    def kl(self, post: Posterior) -> torch.Tensor:
        return self.kl_per_dim(post).sum(1)  # (B,)


def can(model: nn.Module, capability: str) -> bool:
    """Whether `model` can `capability` ("encode", "decode", "sample", "condition")."""
    return capability in getattr(model, "capabilities", frozenset())


def build_model(cfg: ModelConfig, generator: torch.Generator | None = None) -> nn.Module:
    """A config in, its family's model out (:mod:`explorer.families` is the registry).

    With a `generator`, the initial weights are drawn from it alone (torch's default
    initialisation, in the order the layers were built), never from the global random state.
    """
    model = families.get(cfg.kind).build(cfg)
    if generator is not None:
        init_weights(model, generator)
    return model


def init_weights(model: nn.Module, generator: torch.Generator) -> None:
    """Redraw every layer's weights as its own ``reset_parameters`` would (Kaiming-uniform weights,
    uniform biases of bound 1/sqrt(fan_in)), but from `generator`."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Linear | nn.Conv2d | nn.ConvTranspose2d):
                nn.init.kaiming_uniform_(m.weight, a=math.sqrt(5), generator=generator)
                if m.bias is not None:
                    fan_in, _ = nn.init._calculate_fan_in_and_fan_out(m.weight)
                    bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0.0
                    nn.init.uniform_(m.bias, -bound, bound, generator=generator)
