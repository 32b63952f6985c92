"""The networks inside every model family: an MLP or a convolutional encoder, and the decoder
that mirrors it. Each body takes the config and how many numbers its encoder head must give."""

from __future__ import annotations

from itertools import pairwise
from typing import TYPE_CHECKING

from torch import nn

from explorer.families.config import conv_sizes

if TYPE_CHECKING:
    from explorer.families.config import ModelConfig


class MLPBody(nn.Module):
    """Flatten -> Linear/ReLU stack -> head of `out_features`; the decoder mirrors it."""

    def __init__(self, cfg: ModelConfig, code_features: int):
        super().__init__()
        widths = [cfg.n_pixels, *cfg.hidden]
        layers: list[nn.Module] = [nn.Flatten()]
        for a, b in pairwise(widths):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(widths[-1], code_features))
        self.encoder = nn.Sequential(*layers)

        back = [cfg.latent_dim, *reversed(cfg.hidden)]
        layers = []
        for a, b in pairwise(back):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers += [nn.Linear(back[-1], cfg.n_pixels), nn.Unflatten(1, cfg.image_shape)]
        self.decoder = nn.Sequential(*layers)


class ConvBody(nn.Module):
    """Stride-2 convolutions down to a small feature map, transposed convolutions back up.

    Each transposed convolution gets the output padding that restores the exact size the matching
    convolution started from, so any image size works (8x8 -> 4 -> 2, 28x28 -> 14 -> 7, 10 -> 5 -> 3).
    """

    def __init__(self, cfg: ModelConfig, code_features: int):
        super().__init__()
        c, h, w = cfg.image_shape
        channels = [c, *cfg.hidden]
        hs, ws = conv_sizes(h, len(cfg.hidden)), conv_sizes(w, len(cfg.hidden))
        flat = channels[-1] * hs[-1] * ws[-1]

        layers: list[nn.Module] = []
        for a, b in pairwise(channels):
            layers += [nn.Conv2d(a, b, kernel_size=3, stride=2, padding=1), nn.ReLU()]
        layers += [nn.Flatten(), nn.Linear(flat, code_features)]
        self.encoder = nn.Sequential(*layers)

        layers = [
            nn.Linear(cfg.latent_dim, flat),
            nn.ReLU(),
            nn.Unflatten(1, (channels[-1], hs[-1], ws[-1])),
        ]
        for i in range(len(cfg.hidden), 0, -1):
            # A stride-2 transposed conv maps n -> 2n - 1 + output_padding.
            pad = (hs[i - 1] - (2 * hs[i] - 1), ws[i - 1] - (2 * ws[i] - 1))
            layers.append(
                nn.ConvTranspose2d(
                    channels[i], channels[i - 1], 3, stride=2, padding=1, output_padding=pad
                )
            )
            if i > 1:
                layers.append(nn.ReLU())
        self.decoder = nn.Sequential(*layers)


BODIES = {"mlp": MLPBody, "conv": ConvBody}
