"""The linear autoencoder's torch side: the autoencoders' step, loss and metrics, its own body."""

from torch import nn

from explorer.families.ae_vae.ops import Step, evaluate, loss  # noqa: F401 - the same contract
from explorer.families.models import Autoencoder


class LinearAE(Autoencoder):
    def __init__(self, cfg):
        nn.Module.__init__(self)
        self.cfg = cfg
        self.capabilities = frozenset({"encode", "decode", "sample"})
        n, d = cfg.n_pixels, cfg.latent_dim
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(n, d))
        self.decoder = nn.Sequential(nn.Linear(d, n), nn.Unflatten(1, tuple(cfg.image_shape)))


def build(cfg) -> LinearAE:
    return LinearAE(cfg)
