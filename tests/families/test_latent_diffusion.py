"""Latent diffusion: the forward process, the samplers and seeded training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from explorer.families.latent_diffusion.config import DiffusionConfig, DiffusionTrainConfig
from explorer.families.latent_diffusion.evaluate import mmd
from explorer.families.latent_diffusion.model import build
from explorer.families.latent_diffusion.sampling import denoising_field, sample_codes
from explorer.families.latent_diffusion.schedule import alpha_bar, q_sample, timesteps_for
from explorer.families.latent_diffusion.train import Codes, fit

CENTRES = np.array([[-4.0, -4.0], [-4.0, 4.0], [4.0, -4.0], [4.0, 4.0]])


def mixture(n: int, seed: int) -> np.ndarray:
    """n draws from four well-separated Gaussians (std 0.5) at the corners of a square."""
    rng = np.random.default_rng(seed)
    return (CENTRES[rng.integers(0, 4, n)] + 0.5 * rng.standard_normal((n, 2))).astype(np.float32)


def test_cosine_schedule_runs_from_clean_to_noise():
    abar = alpha_bar(1000)
    assert abar[0] == 1.0 and abar[-1] < 1e-6
    assert (abar[1:] < abar[:-1]).all()  # every step adds noise
    # Nichol & Dhariwal's cosine: halfway through, ᾱ is about cos²(π/4) = 0.5
    assert abar[500] == pytest.approx(0.5, abs=0.01)


def test_forward_marginal_matches_the_closed_form():
    """Draws of z_t from q(z_t | z_0) have mean √ᾱ_t z_0 and variance 1 − ᾱ_t (Ho et al. eq. 4)."""
    abar = alpha_bar(1000)
    z0 = torch.tensor([[2.0, -1.0]]).expand(200_000, 2)
    generator = torch.Generator().manual_seed(0)
    for t in (1, 250, 600, 1000):
        eps = torch.randn(z0.shape, generator=generator)
        z_t = q_sample(z0, torch.full((len(z0),), t), eps, abar)
        a = float(abar[t])
        assert torch.allclose(z_t.mean(0), math.sqrt(a) * z0[0], atol=0.01)
        assert torch.allclose(z_t.var(0), torch.full((2,), 1 - a), atol=0.01)


def test_timesteps_run_from_T_to_1():
    assert timesteps_for(4, 1000) == [1000, 667, 334, 1]
    assert timesteps_for(5000, 20) == list(range(20, 0, -1))


@pytest.fixture(scope="module")
def mixture_prior():
    torch.set_num_threads(1)
    train = torch.from_numpy(mixture(2000, seed=1))
    test = torch.from_numpy(mixture(500, seed=2))
    cfg = DiffusionConfig(latent_dim=2, hidden=128, blocks=2, timesteps=1000)
    model, result = fit(cfg, DiffusionTrainConfig(epochs=300, batch_size=256, lr=1e-3, seed=0),
                        Codes(train), Codes(test))
    return model, result


@pytest.mark.slow  # trains the mixture's prior: ten seconds alone, minutes under load
def test_sampler_matches_held_out_draws_of_a_mixture(mixture_prior):
    """MMD² (Gaussian kernel, bandwidth 1; Gretton et al. 2012) of 1,000 samples against 1,000
    held-out draws: under 0.02 and under a seventh of what a single Gaussian fitted to the data
    scores (about 0.15; two independent sets of true draws score about 0.002)."""
    model, result = mixture_prior
    held_out = mixture(1000, seed=3)
    null = abs(mmd(mixture(1000, seed=4), held_out, bandwidth=1.0))
    rng = np.random.default_rng(5)
    train = mixture(2000, seed=1)
    gaussian = rng.multivariate_normal(train.mean(0), np.cov(train.T), 1000)
    gaussian_mmd = mmd(gaussian, held_out, bandwidth=1.0)
    for sampler in ("ddpm", "ddim"):
        z, _ = sample_codes(model, 1000, seed=6, sampler=sampler, steps=100)
        score = mmd(z.numpy(), held_out, bandwidth=1.0)
        assert score < 0.02, (sampler, score, null)
        assert score < gaussian_mmd / 7, (sampler, score, gaussian_mmd)
    # and every mode is found: each corner holds about a quarter of the samples
    z, _ = sample_codes(model, 2000, seed=7, sampler="ddpm", steps=100)
    nearest = ((z.numpy()[:, None, :] - CENTRES[None]) ** 2).sum(-1).argmin(1)
    assert np.bincount(nearest, minlength=4).min() > 2000 * 0.15


@pytest.mark.slow  # trains the mixture's prior: ten seconds alone, minutes under load
def test_denoising_field_points_towards_the_modes(mixture_prior):
    """At a small t, −ε̂ at a point beside a corner points at that corner."""
    model, _ = mixture_prior
    z = torch.tensor([[5.0, 5.0], [-3.0, -3.0]])
    direction = denoising_field(model, z, t=10)
    to_mode = torch.from_numpy(CENTRES[[3, 0]]).float() - z
    assert (torch.nn.functional.cosine_similarity(direction, to_mode) > 0.8).all()


@pytest.mark.slow  # trains the mixture's prior: ten seconds alone, minutes under load
def test_ddim_is_deterministic_for_a_seed_and_ddpm_is_not_across_seeds(mixture_prior):
    model, _ = mixture_prior
    a, path = sample_codes(model, 50, seed=3, sampler="ddim", steps=20, keep=True)
    b, _ = sample_codes(model, 50, seed=3, sampler="ddim", steps=20)
    assert torch.equal(a, b)
    z_steps, ts = path
    assert z_steps.shape == (len(ts), 50, 2) and ts[0] == 1000 and ts[-1] == 0
    assert torch.equal(z_steps[-1], a)
    c, _ = sample_codes(model, 50, seed=3, sampler="ddpm", steps=20)
    d, _ = sample_codes(model, 50, seed=4, sampler="ddpm", steps=20)
    assert not torch.equal(c, d)


def test_a_seeded_training_run_gives_identical_weights_twice():
    train = Codes(torch.from_numpy(mixture(300, seed=1)))
    cfg = DiffusionConfig(latent_dim=2, hidden=32, blocks=1, timesteps=50)
    train_cfg = DiffusionTrainConfig(epochs=3, batch_size=64, seed=11)
    a, _ = fit(cfg, train_cfg, train, train)
    torch.randn(100)  # the global generator moving in between changes nothing
    b, _ = fit(cfg, train_cfg, train, train)
    c, _ = fit(cfg, DiffusionTrainConfig(epochs=3, batch_size=64, seed=12), train, train)
    for (name, x), y in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y), name
    assert not all(torch.equal(x, z) for x, z in zip(a.state_dict().values(),
                                                     c.state_dict().values(), strict=True))


def test_draws_from_a_vae_posterior_differ_each_epoch():
    mu = torch.zeros(10, 2)
    codes = Codes(mu, torch.ones(10, 2))
    g = torch.Generator().manual_seed(0)
    assert not torch.equal(codes.draw("draw", g), codes.draw("draw", g))
    assert torch.equal(codes.draw("mean", g), mu)


def test_untrained_predictor_builds_from_its_config():
    model = build(DiffusionConfig(latent_dim=3, hidden=16, blocks=1), torch.Generator())
    out = model(torch.zeros(4, 3), torch.tensor([1, 2, 3, 4]))
    assert out.shape == (4, 3)
