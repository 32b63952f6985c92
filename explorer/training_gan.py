"""The GAN's training loop: the discriminator and the generator take turns, one step each per batch.

It keeps the autoencoders' loop's habits (:mod:`explorer.training`): every draw from generators
the run owns, a callback with :class:`TrainEvent`s, a stop flag checked between steps, a NaN
guard that rolls back to the last good epoch, and a :class:`TrainResult` at the end. Each epoch
it reports the mean losses and how varied the samples of a *fixed* batch of noise are compared
with real images, so a page can show the samples sharpening and warn when they collapse.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Callable

import torch

from explorer.datasets import REFERENCE_SEED, Dataset, mixed_indices
from explorer.errors import ConfigError
from explorer.gan import GAN
from explorer.training import TrainConfig, TrainEvent, TrainResult, pick_device

BETAS = (0.5, 0.999)  # Adam's usual GAN setting (Radford et al., 2016): a short momentum memory
FIXED_NOISE = 16  # samples drawn from the same noise every epoch
# Sample variety below this share of the real images' means the generator draws few modes.
COLLAPSE_RATIO = 0.35


def fixed_noise(model: GAN, n: int = FIXED_NOISE, seed: int = 0) -> torch.Tensor:
    """The noise whose samples a page shows each epoch: the same for the same seed."""
    return torch.randn((n, model.latent_dim), generator=torch.Generator().manual_seed(seed + 1))


def variety(x: torch.Tensor) -> float:
    """Mean pixel distance between pairs of images (B, C, H, W): near 0 when all look alike."""
    flat = x.flatten(1).float()
    d = torch.cdist(flat, flat)  # (B, B)
    n = len(flat)
    return float(d.sum() / max(n * (n - 1), 1))


def collapse_warning(sample_variety: float, real_variety: float) -> str:
    """A sentence when the samples are far less varied than the data, else ''."""
    if real_variety > 0 and sample_variety < COLLAPSE_RATIO * real_variety:
        return (f"The samples vary {sample_variety / real_variety:.0%} as much as real images: "
                "the generator may be collapsing to a few modes (try another seed or fewer epochs).")
    return ""


def reference_images(data: Dataset, n: int = 64) -> torch.Tensor:
    """The real images the samples' variety is compared with: a seeded, class-mixed sample of the
    test split (a prefix of a split sorted by class would be n images of one class)."""
    return data.x_test[mixed_indices(data.y_test.numpy(), n, seed=REFERENCE_SEED)]


@torch.no_grad()
def draw(model: GAN, z: torch.Tensor) -> torch.Tensor:
    """Samples for codes z with batch norm in its running-average (eval) mode."""
    was_training = model.training
    model.eval()
    x = model.decode(z.to(next(model.parameters()).device)).cpu()
    model.train(was_training)
    return x


def train_gan(
    model: GAN,
    data: Dataset,
    cfg: TrainConfig,
    callback: Callable[[TrainEvent], None] | None = None,
    stop: Callable[[], bool] | None = None,
    report_every: int = 10,
) -> TrainResult:
    """Train `model` in place on `data`'s train split with the non-saturating loss."""
    if tuple(data.image_shape) != tuple(model.cfg.image_shape):
        raise ConfigError(
            f"The model expects {model.cfg.image_shape} images but {data.name} has {data.image_shape}."
        )
    device = pick_device(cfg.device)
    generator = torch.Generator(device="cpu").manual_seed(cfg.seed)  # batch order
    model.to(device).train()
    model.generator = torch.Generator(device=device).manual_seed(cfg.seed)  # the noise z
    x_train = data.x_train.to(device)
    n = len(x_train)
    steps_per_epoch = math.ceil(n / cfg.batch_size)
    opt_g = torch.optim.Adam(model.netG.parameters(), lr=cfg.lr, betas=BETAS,
                             weight_decay=cfg.weight_decay)
    opt_d = torch.optim.Adam(model.netD.parameters(), lr=cfg.lr, betas=BETAS,
                             weight_decay=cfg.weight_decay)
    z_fixed = fixed_noise(model, seed=cfg.seed)
    real_variety = variety(reference_images(data))

    result = TrainResult()
    good_state = copy.deepcopy(model.state_dict())
    start = time.perf_counter()
    step = seen = 0
    for epoch in range(1, cfg.epochs + 1):
        perm = torch.randperm(n, generator=generator).to(device)
        sums: dict[str, float] = {}
        count = 0
        for b in range(steps_per_epoch):
            if stop is not None and stop():
                result.status, result.message = "stopped", f"Stopped during epoch {epoch}."
                break
            xb = x_train[perm[b * cfg.batch_size : (b + 1) * cfg.batch_size]]  # (B, C, H, W)
            fake = model.decode(model.noise(len(xb), device))  # (B, C, H, W)
            d_parts = model.d_loss(xb, fake)
            opt_d.zero_grad(set_to_none=True)
            d_parts["d_loss"].backward()
            opt_d.step()
            g_loss = model.g_loss(fake)  # the updated discriminator judges the same samples
            opt_g.zero_grad(set_to_none=True)
            g_loss.backward()
            opt_g.step()
            parts = {"g_loss": float(g_loss.detach()),
                     **{k: float(v.detach()) for k, v in d_parts.items()}}
            if not all(math.isfinite(v) for v in parts.values()):
                model.load_state_dict(good_state)
                result.status = "diverged"
                result.message = (f"Training diverged at epoch {epoch}, step {b + 1}: a loss "
                                  f"became NaN. Try a smaller learning rate than {cfg.lr:g}.")
                break
            step += 1
            count += len(xb)
            for k, v in parts.items():
                sums[k] = sums.get(k, 0.0) + v * len(xb)
            if callback is not None and (step % report_every == 0 or b == steps_per_epoch - 1):
                callback(TrainEvent("step", epoch, cfg.epochs, step, steps_per_epoch, parts,
                                    elapsed=time.perf_counter() - start))
        seen += count
        if result.status != "finished":
            break
        good_state = copy.deepcopy(model.state_dict())
        train_parts = {k: v / max(count, 1) for k, v in sums.items()}
        train_parts["variety"] = variety(draw(model, z_fixed)) / max(real_variety, 1e-8)
        row = {"epoch": epoch, "train": train_parts, "test": {},
               "seconds": time.perf_counter() - start}
        result.history.append(row)
        result.epochs_done = epoch
        if callback is not None:
            callback(TrainEvent("epoch", epoch, cfg.epochs, step, steps_per_epoch, train_parts,
                                {}, elapsed=row["seconds"]))
    model.eval()
    result.seconds = time.perf_counter() - start
    result.images_per_second = seen / result.seconds if result.seconds > 0 else 0.0
    if result.status == "finished" and result.history:
        result.message = collapse_warning(result.history[-1]["train"]["variety"], 1.0)
    if callback is not None:
        last = result.history[-1]["train"] if result.history else {}
        callback(TrainEvent("end", result.epochs_done, cfg.epochs, step, steps_per_epoch, last,
                            None, elapsed=result.seconds))
    return result
