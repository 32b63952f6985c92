"""A small GAN (Goodfellow et al., 2014) in the DCGAN manner (Radford et al., 2016): a generator
that turns noise z ~ N(0, I) into an image and a discriminator that tells real images from made
ones, trained against each other (its step is :mod:`explorer.families.gan.ops`).

The bodies are the autoencoders' (:mod:`explorer.families.models`): the generator is a decoder (MLP for
small images, transposed convolutions for 28×28) with batch norm before each hidden ReLU, the
discriminator an encoder with a one-logit head and leaky ReLUs. It has no encoder: ``decode(z)``
and sampling are all it can do.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from explorer import families
from explorer.families.bodies import BODIES
from explorer.families.models import ModelConfig

LEAK = 0.2  # the DCGAN paper's slope for the discriminator's leaky ReLUs


class _Counted:
    """Batch norm without its int64 batch counter (momentum makes it unused): model files hold
    only float tensors, and a loaded generator must match the one saved."""

    def __init__(self, features: int):
        super().__init__(features)
        self.register_buffer("num_batches_tracked", None)

    def _load_from_state_dict(self, *args, **kwargs):
        nn.Module._load_from_state_dict(self, *args, **kwargs)  # no counter to add back


class BatchNorm1d(_Counted, nn.BatchNorm1d):
    pass


class BatchNorm2d(_Counted, nn.BatchNorm2d):
    pass


def _with_batch_norm(layers: nn.Sequential) -> nn.Sequential:
    """The same layers with batch norm between each hidden layer and its ReLU (DCGAN, sec. 3)."""
    out: list[nn.Module] = []
    for i, m in enumerate(layers):
        out.append(m)
        follows_relu = i + 1 < len(layers) and isinstance(layers[i + 1], nn.ReLU)
        if follows_relu and isinstance(m, nn.Linear):
            out.append(BatchNorm1d(m.out_features))
        elif follows_relu and isinstance(m, nn.ConvTranspose2d):
            out.append(BatchNorm2d(m.out_channels))
    return nn.Sequential(*out)


def _leaky(layers: nn.Sequential) -> nn.Sequential:
    return nn.Sequential(*(nn.LeakyReLU(LEAK) if isinstance(m, nn.ReLU) else m for m in layers))


class GAN(nn.Module):
    generator: torch.Generator | None = None  # the run's random source, as for the autoencoders

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        self.capabilities = families.get(cfg.kind).capabilities
        body = BODIES[cfg.arch](cfg, 1)
        self.netG = _with_batch_norm(body.decoder)  # z (B, D) -> logits (B, C, H, W)
        self.netD = _leaky(body.encoder)  # x (B, C, H, W) -> (B, 1)

    @property
    def latent_dim(self) -> int:
        return self.cfg.latent_dim

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.netG(z))  # (B, C, H, W) pixel values in [0, 1]

    def discriminate(self, x: torch.Tensor) -> torch.Tensor:
        return self.netD(x).squeeze(1)  # (B,) logits of "real"

    def noise(self, n: int, device=None) -> torch.Tensor:
        """n codes z ~ N(0, I), (n, D), from the model's generator (if any)."""
        g = self.generator
        device = device or next(self.parameters()).device
        z = torch.randn((n, self.latent_dim), generator=g, device=g.device if g else device)
        return z.to(device)

    def d_loss(self, x: torch.Tensor, fake: torch.Tensor) -> dict[str, torch.Tensor]:
        """-log D(x) - log(1 - D(G(z))) (Goodfellow et al., 2014, eq. 1), as softplus of logits."""
        real_logits, fake_logits = self.discriminate(x), self.discriminate(fake.detach())
        loss = F.softplus(-real_logits).mean() + F.softplus(fake_logits).mean()
        return {"d_loss": loss, "d_real": torch.sigmoid(real_logits).mean(),
                "d_fake": torch.sigmoid(fake_logits).mean()}

    def g_loss(self, fake: torch.Tensor) -> torch.Tensor:
        """The non-saturating loss -log D(G(z)) (Goodfellow et al., 2014, sec. 3): strong
        gradients early, when the discriminator rejects every sample easily."""
        return F.softplus(-self.discriminate(fake)).mean()
