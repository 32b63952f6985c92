"""The GAN's training measures: the fixed noise whose samples a page shows each epoch, how varied
those samples are, and the sentence when they collapse. The GAN trains in the one loop
(:func:`explorer.training.loop.train`) with its step from :mod:`explorer.families.gan.ops`.
"""

from __future__ import annotations

import torch

BETAS = (0.5, 0.999)  # Adam's usual GAN setting (Radford et al., 2016): a short momentum memory
FIXED_NOISE = 16  # samples drawn from the same noise every epoch
# Sample variety below this share of the real images' means the generator draws few modes.
COLLAPSE_RATIO = 0.35


def fixed_noise(model, n: int = FIXED_NOISE, seed: int = 0) -> torch.Tensor:
    """The noise whose samples a page shows each epoch: the same for the same seed."""
    return torch.randn((n, model.latent_dim), generator=torch.Generator().manual_seed(seed + 1))


def variety(x: torch.Tensor) -> float:
    """Mean pixel distance between pairs of images (B, C, H, W): near 0 when all look alike."""
    flat = x.flatten(1).float()
    d = torch.cdist(flat, flat)  # (B, B)
    n = len(flat)
    return float(d.sum() / max(n * (n - 1), 1))


def collapse_reference(data) -> float:
    """The variety of real images that the samples' variety is compared with."""
    return variety(reference_images(data))


def reference_images(data, n: int = 64) -> torch.Tensor:
    """The real images the samples' variety is compared with: a seeded, class-mixed sample of the
    test split (a prefix of a split sorted by class would be n images of one class)."""
    from explorer.data.datasets import REFERENCE_SEED, mixed_indices

    return data.x_test[mixed_indices(data.y_test.numpy(), n, seed=REFERENCE_SEED)]


def collapse_warning(sample_variety: float, real_variety: float) -> str:
    """A sentence when the samples are far less varied than the data, else ''."""
    if real_variety > 0 and sample_variety < COLLAPSE_RATIO * real_variety:
        return (f"The samples vary {sample_variety / real_variety:.0%} as much as real images: "
                "the generator may be collapsing to a few modes (try another seed or fewer epochs).")
    return ""


@torch.no_grad()
def draw(model, z: torch.Tensor) -> torch.Tensor:
    """Samples for codes z with batch norm in its running-average (eval) mode."""
    was_training = model.training
    model.eval()
    x = model.decode(z.to(next(model.parameters()).device)).cpu()
    model.train(was_training)
    return x


def train_gan(model, data, cfg, callback=None, stop=None, report_every: int = 10):
    """Train a GAN in place: the one training loop, named for the callers that know it's a GAN."""
    from explorer.training.loop import train

    return train(model, data, cfg, callback=callback, stop=stop, report_every=report_every)
