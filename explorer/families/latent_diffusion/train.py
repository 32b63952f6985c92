"""Training the noise predictor on a base run's codes (the ε objective of Ho et al. 2020, eq. 14):

    L = E_{z_0, t ~ U{1..T}, ε ~ N(0, I)} ‖ε − ε_θ(√ᾱ_t z_0 + √(1 − ᾱ_t) ε, t)‖²

Every random draw (initial weights, shuffling, t, ε, a VAE's code draws) comes from generators
the run owns, seeded by its seed: the same seed gives the same weights alone or beside other runs.
Reports through the same TrainEvent callbacks as the autoencoders' loop, and obeys a stop flag.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch

from explorer.families.latent_diffusion.config import DiffusionConfig, DiffusionTrainConfig
from explorer.families.latent_diffusion.model import NoisePredictor, build
from explorer.families.latent_diffusion.schedule import alpha_bar, q_sample
from explorer.training.loop import TrainEvent, TrainResult

STEP_EVERY = 5  # steps between live loss reports
EVAL_SEED = 12345  # the test loss's t and ε: the same draws every epoch, so its curve is smooth


@dataclass
class Codes:
    """A base run's codes of one split: posterior means (N, D), and for a VAE the posterior
    standard deviations (N, D) that `codes="draw"` samples with."""

    mu: torch.Tensor
    sigma: torch.Tensor | None = None

    def draw(self, how: str, generator: torch.Generator) -> torch.Tensor:
        if how == "draw" and self.sigma is not None:
            return self.mu + self.sigma * torch.randn(self.mu.shape, generator=generator)
        return self.mu


@torch.no_grad()  # not inference mode: the codes are training data, used under autograd
def base_codes(base, x: torch.Tensor, batch_size: int = 1000) -> Codes:
    """Encode images x with the base run: its posterior means, and a VAE's σ (exp(logvar / 2))."""
    base.eval()
    mus, sigmas = [], []
    for i in range(0, len(x), batch_size):
        post = base.encode(x[i : i + batch_size])
        mus.append(post.mu)
        if post.logvar is not None:
            sigmas.append((0.5 * post.logvar).exp())
    return Codes(torch.cat(mus).float(), torch.cat(sigmas).float() if sigmas else None)


def denoising_loss(model: NoisePredictor, z0: torch.Tensor, generator: torch.Generator,
                   abar: torch.Tensor) -> torch.Tensor:
    """The ε-prediction loss on standardised codes z0 (B, D): mean over the batch of the squared
    error summed over dimensions, divided by D (so 1.0 is what predicting ε̂ = 0 scores)."""
    t = torch.randint(1, model.cfg.timesteps + 1, (len(z0),), generator=generator)  # (B,)
    eps = torch.randn(z0.shape, generator=generator)  # (B, D)
    eps_hat = model(q_sample(z0, t, eps, abar), t)
    return ((eps - eps_hat) ** 2).mean()


@torch.no_grad()
def test_loss(model: NoisePredictor, codes: torch.Tensor, abar: torch.Tensor) -> float:
    was = model.training
    model.eval()
    generator = torch.Generator().manual_seed(EVAL_SEED)
    loss = float(denoising_loss(model, model.standardise(codes), generator, abar))
    model.train(was)
    return loss


def fit_standardisation(model: NoisePredictor, train: Codes, how: str) -> None:
    """Set the model's code mean and scale from the training codes (the scale of a draw counts
    the posterior's spread too) and the ẑ_0 clip bound from their range."""
    mean = train.mu.mean(0)
    var = train.mu.var(0)
    if how == "draw" and train.sigma is not None:
        var = var + (train.sigma**2).mean(0)
    model.code_mean.copy_(mean)
    model.code_scale.copy_(var.clamp_min(1e-8).sqrt())
    bound = model.standardise(train.mu).abs().max()
    model.code_bound.copy_(bound * 1.1 + (1.0 if how == "draw" else 0.0))


def fit(cfg: DiffusionConfig, train_cfg: DiffusionTrainConfig, train: Codes, test: Codes,
        callback: Callable[[TrainEvent], None] | None = None,
        stop: Callable[[], bool] | None = None) -> tuple[NoisePredictor, TrainResult]:
    """Train a new noise predictor on `train` codes; the test codes' loss after every epoch."""
    init = torch.Generator().manual_seed(train_cfg.seed)
    draws = torch.Generator().manual_seed(train_cfg.seed + 1)  # shuffles, t, ε, code draws
    model = build(cfg, init)
    fit_standardisation(model, train, cfg.codes)
    abar = alpha_bar(cfg.timesteps)
    optimiser = torch.optim.Adam(model.parameters(), lr=train_cfg.lr)
    n = len(train.mu)
    steps_per_epoch = math.ceil(n / train_cfg.batch_size)
    result, step, start = TrainResult(), 0, time.perf_counter()
    model.train()
    for epoch in range(1, train_cfg.epochs + 1):
        z_all = model.standardise(train.draw(cfg.codes, draws))  # (N, D)
        order = torch.randperm(n, generator=draws)
        total = 0.0
        for i in range(0, n, train_cfg.batch_size):
            loss = denoising_loss(model, z_all[order[i : i + train_cfg.batch_size]], draws, abar)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            step += 1
            value = float(loss.detach())
            total += value
            if not math.isfinite(value):
                result.status, result.message = "diverged", "The loss became infinite or NaN."
                break
            if callback and step % STEP_EVERY == 0:
                callback(TrainEvent("step", epoch, train_cfg.epochs, step, steps_per_epoch,
                                    {"loss": value}, elapsed=time.perf_counter() - start))
            if stop is not None and stop():
                result.status, result.message = "stopped", f"Stopped in epoch {epoch}."
                break
        if result.status != "finished":
            break
        parts = {"loss": total / steps_per_epoch}
        test_parts = {"loss": test_loss(model, test.mu, abar)}
        result.history.append({"epoch": epoch, "train": parts, "test": test_parts,
                               "seconds": round(time.perf_counter() - start, 3)})
        result.epochs_done = epoch
        if callback:
            callback(TrainEvent("epoch", epoch, train_cfg.epochs, step, steps_per_epoch, parts,
                                test_parts, elapsed=time.perf_counter() - start))
    result.seconds = time.perf_counter() - start
    result.images_per_second = step * train_cfg.batch_size / max(result.seconds, 1e-9)
    if callback:
        callback(TrainEvent("end", result.epochs_done, train_cfg.epochs, step, steps_per_epoch,
                            {}, elapsed=result.seconds))
    return model.eval(), result
