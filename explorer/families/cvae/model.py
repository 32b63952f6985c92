"""The conditional VAE (Sohn et al., 2015): the class label joins the encoder's input and the
decoder's input, so z only has to hold what the label does not say — the style of the digit.

It speaks the VAE contract with the label beside the image: ``encode(x, y)``, ``decode(z, y)``,
``loss(x, y)``. Its bodies are the VAE's (:mod:`explorer.families.models`) with their first layers widened
by the one-hot label: concatenated to the flattened image for an MLP, as constant channels for a
convolutional encoder, and to z for either decoder.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from explorer.errors import ConfigError
from explorer.families.models import VAE, ModelConfig, Posterior


class CVAE(VAE):
    # Its capabilities are its family's (explorer.families.cvae): no "encode" of an image alone.
    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        k = cfg.n_classes
        if cfg.arch == "mlp":
            first = self.encoder[1]  # after Flatten
            self.encoder[1] = nn.Linear(first.in_features + k, first.out_features)
        else:
            first = self.encoder[0]
            self.encoder[0] = nn.Conv2d(first.in_channels + k, first.out_channels, 3, 2, 1)
        head = self.decoder[0]
        self.decoder[0] = nn.Linear(head.in_features + k, head.out_features)

    @property
    def n_classes(self) -> int:
        return self.cfg.n_classes

    def one_hot(self, y, n: int, device) -> torch.Tensor:
        """(B, K) one-hot labels from a class index, a list or a (B,) tensor."""
        if y is None:
            raise ConfigError("A conditional VAE needs a class to draw: say which one.")
        y = torch.as_tensor(y, dtype=torch.long, device=device)
        if y.ndim == 0:
            y = y.expand(n)
        if y.min() < 0 or y.max() >= self.n_classes:
            raise ConfigError(f"Classes run from 0 to {self.n_classes - 1}, got {int(y.max())}.")
        return F.one_hot(y, self.n_classes).float()

    def encode(self, x: torch.Tensor, y=None) -> Posterior:
        onehot = self.one_hot(y, len(x), x.device)  # (B, K)
        if self.cfg.arch == "mlp":
            h = torch.cat([x.flatten(1), onehot], dim=1)  # Flatten leaves (B, N + K) as it is
        else:
            _, _, height, width = x.shape
            h = torch.cat([x, onehot[:, :, None, None].expand(-1, -1, height, width)], dim=1)
        mu, logvar = self.encoder(h).chunk(2, dim=1)  # (B, D), (B, D)
        return Posterior(mu, logvar)

    def embed(self, x: torch.Tensor, y=None) -> torch.Tensor:
        return self.encode(x, y).mu

    def decode_logits(self, z: torch.Tensor, y=None) -> torch.Tensor:
        return self.decoder(torch.cat([z, self.one_hot(y, len(z), z.device)], dim=1))

    def decode(self, z: torch.Tensor, y=None) -> torch.Tensor:
        return torch.sigmoid(self.decode_logits(z, y))

    def forward(self, x: torch.Tensor, y=None) -> dict:
        post = self.encode(x, y)
        z = self.sample_z(post, sample=self.training)
        return {"x_hat": self.decode(z, y), "z": z, "mu": post.mu, "logvar": post.logvar}

    def loss(self, x: torch.Tensor, y=None) -> dict[str, torch.Tensor]:
        """The VAE's negative ELBO with every distribution conditioned on y (Sohn et al., 2015,
        eq. 4): recon + beta * KL(q(z|x,y) || N(0, I)), nats per image. The reconstruction
        term is the VAE's for the same likelihood: BCE on grey levels, squared error, or BCE on a
        fresh black-and-white draw of x ("binarized")."""
        if self.cfg.likelihood == "binarized":
            x = self.binarize(x)
        post = self.encode(x, y)
        z = self.sample_z(post, sample=True)
        logits = self.decode_logits(z, y).float()  # (B, C, H, W)
        recon = self.recon_nll(logits, x).mean()  # the VAE's cost per image, whatever the likelihood
        kl = self.kl(post).mean()
        return {"loss": recon + self.cfg.beta * kl, "recon": recon, "kl": kl}
