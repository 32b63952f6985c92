"""Tests for explorer.analysis.metrics on tiny models trained for a few hundred steps on 8x8 digits."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

from explorer.analysis import metrics
from explorer.data.datasets import load_dataset
from explorer.families.models import GAUSSIAN_LOG_NORMALISER, ModelConfig, build_model
from explorer.training.loop import TrainConfig, evaluate_loss, train

DIGITS_SHAPE = (1, 8, 8)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _model(kind="vae", latent_dim=8, seed=0, **kw):
    torch.manual_seed(seed)  # untrained weights are reproducible too
    return build_model(
        ModelConfig(kind=kind, image_shape=DIGITS_SHAPE, latent_dim=latent_dim, hidden=(128,), **kw)
    )


@pytest.fixture(scope="module")
def vae(digits):
    model = _model("vae")
    train(model, digits, TrainConfig(epochs=15, batch_size=64, device="cpu"))  # ~340 steps
    return model


@pytest.fixture(scope="module")
def ae(digits):
    model = _model("ae")
    train(model, digits, TrainConfig(epochs=15, batch_size=64, device="cpu"))
    return model


# -- reconstruction ------------------------------------------------------------------------------


def test_per_image_errors_shapes_and_values(vae, digits):
    x = digits.x_test
    errors = metrics.per_image_errors(vae, x, batch_size=100)  # several batches
    assert set(errors) == {"mse", "bce", "psnr"}
    for v in errors.values():
        assert v.shape == (len(x),)
        assert np.isfinite(v).all()
    with torch.no_grad():
        x_hat = vae.decode(vae.embed(x))
    expected = (x_hat - x).pow(2).flatten(1).mean(1).numpy()
    np.testing.assert_allclose(errors["mse"], expected, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(errors["psnr"], -10 * np.log10(expected), rtol=1e-4)
    assert (errors["bce"] > 0).all()


def test_psnr_is_capped_for_a_perfect_reconstruction(digits):
    errors = metrics.image_errors(digits.x_test[:5], digits.x_test[:5])
    assert (errors["mse"] == 0).all()
    assert (errors["psnr"] == metrics.PSNR_CAP_DB).all()


def test_training_lowers_reconstruction_error(ae, digits):
    untrained = metrics.per_image_errors(_model("ae"), digits.x_test)
    trained = metrics.per_image_errors(ae, digits.x_test)
    assert trained["mse"].mean() < 0.5 * untrained["mse"].mean()
    assert trained["bce"].mean() < untrained["bce"].mean()
    assert trained["psnr"].mean() > untrained["psnr"].mean()


def test_errors_restore_training_mode(ae, digits):
    ae.train()
    metrics.per_image_errors(ae, digits.x_test[:10])
    assert ae.training
    ae.eval()


def test_pca_baseline_reconstructs(digits):
    x_train, x_test = digits.x_train, digits.x_test
    pca = metrics.pca_baseline(x_train, n_components=8)
    x_hat = metrics.pca_reconstruct(pca, x_test)
    assert x_hat.shape == tuple(x_test.shape) and x_hat.dtype == np.float32
    assert x_hat.min() >= 0.0 and x_hat.max() <= 1.0

    full = metrics.pca_baseline(x_train, n_components=64)  # every pixel direction: lossless
    x_full = metrics.pca_reconstruct(full, x_test)
    assert np.abs(x_full - x_test.numpy()).max() < 1e-4
    few = metrics.image_errors(x_test, x_hat)["mse"].mean()
    assert few > 10 * metrics.image_errors(x_test, x_full)["mse"].mean()

    with pytest.raises(ValueError, match="components"):
        metrics.pca_baseline(x_train, n_components=65)


# -- likelihood bounds ---------------------------------------------------------------------------


def test_iw_bound_is_tighter_than_elbo(vae, digits):
    x = digits.x_test
    elbo = metrics.neg_elbo(vae, x)
    iw_1 = metrics.iw_bound(vae, x, k=1)
    iw_50 = metrics.iw_bound(vae, x, k=50, batch_size=64)
    assert 0 < iw_50 <= elbo + 0.05
    assert iw_50 <= iw_1 + 0.05
    assert abs(iw_1 - elbo) < 1.0  # k = 1 is the ELBO again, up to sampling noise in the KL


def test_neg_elbo_is_beta_one_and_matches_the_loss(vae, digits):
    x = digits.x_test
    # With beta = 1 the training loss is -ELBO: both one-sample estimates agree up to noise.
    loss = evaluate_loss(vae, x, seed=3)["loss"]
    assert abs(metrics.neg_elbo(vae, x, seed=3) - loss) < 0.5
    # With beta = 4 the loss changes but the bound does not.
    heavy = _model("vae", beta=4.0)
    heavy.load_state_dict(vae.state_dict())
    assert metrics.neg_elbo(heavy, x, seed=3) == pytest.approx(metrics.neg_elbo(vae, x, seed=3))
    assert evaluate_loss(heavy, x, seed=3)["loss"] > loss + 1.0


def test_gaussian_bounds_include_the_normaliser(digits):
    model = _model("vae", likelihood="gaussian")
    x = digits.x_test
    elbo = metrics.neg_elbo(model, x)
    # Squared error and KL are >= 0, so the constant alone is a floor for the true -ELBO.
    assert elbo > model.cfg.n_pixels * GAUSSIAN_LOG_NORMALISER
    assert metrics.iw_bound(model, x, k=20) <= elbo + 0.05


def test_bounds_are_seeded_and_leave_global_rng_alone(vae, digits):
    x = digits.x_test[:100]
    state = torch.get_rng_state()
    first = metrics.neg_elbo(vae, x, seed=1)
    assert metrics.neg_elbo(vae, x, seed=1) == first
    assert metrics.neg_elbo(vae, x, seed=2) != first
    assert metrics.iw_bound(vae, x, k=5, seed=1) == metrics.iw_bound(vae, x, k=5, seed=1)
    assert torch.equal(torch.get_rng_state(), state)


def test_vae_only_metrics_refuse_an_ae(ae, digits):
    for fn in (metrics.neg_elbo, metrics.iw_bound, metrics.kl_per_dimension):
        with pytest.raises(ValueError, match="VAE"):
            fn(ae, digits.x_test[:10])


# -- latent usage --------------------------------------------------------------------------------


def test_kl_per_dimension_sums_to_total_kl(vae, digits):
    x = digits.x_test
    kl = metrics.kl_per_dimension(vae, x)
    assert kl.shape == (vae.cfg.latent_dim,)
    assert (kl >= 0).all()
    with torch.no_grad():
        total = vae.kl(vae.encode(x)).mean().item()
    assert kl.sum() == pytest.approx(total, rel=1e-5)


def test_active_units_counts_dims_that_move(vae, digits):
    x = digits.x_test
    d = vae.cfg.latent_dim
    n_active = metrics.active_units(vae, x)
    assert 0 < n_active <= d
    assert n_active == int((metrics.code_variance(vae, x) > metrics.ACTIVE_THRESHOLD).sum())
    assert metrics.active_units(vae, x, threshold=-1.0) == d

    # Silence the mu outputs of dims 0..3: their mean no longer depends on x, so they are inactive.
    dead = _model("vae")
    dead.load_state_dict(vae.state_dict())
    head = dead.encoder[-1]  # Linear(hidden, 2D): mu first, then logvar
    with torch.no_grad():
        head.weight[:4] = 0.0
    variance = metrics.code_variance(dead, x)
    assert (variance[:4] == 0).all()
    assert metrics.active_units(dead, x) <= d - 4


# -- k-NN ----------------------------------------------------------------------------------------


def test_knn_accuracy_on_separated_codes():
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    codes = rng.normal(size=(60, 2)) * 0.1 + y[:, None] * 10.0  # three far-apart clusters
    assert metrics.knn_accuracy(codes, y, codes, y, k=5) == 1.0


# -- the model card ------------------------------------------------------------------------------


def test_evaluate_is_reproducible_and_json_ready(vae, digits):
    state = torch.get_rng_state()
    first = metrics.evaluate(vae, digits, seed=0, iw_k=5)
    second = metrics.evaluate(vae, digits, seed=0, iw_k=5)
    assert first == second
    assert torch.equal(torch.get_rng_state(), state)
    assert set(first) == {
        "mse",
        "bce",
        "psnr",
        "loss",
        "rate",
        "distortion",
        "neg_elbo",
        "recon_floor",
        "kl",
        "active_units",
        "iw_bound",
        "iw_k",
        "knn_acc",
    }
    assert json.loads(json.dumps(first)) == first
    assert all(math.isfinite(v) for v in first.values())
    assert first["iw_bound"] <= first["neg_elbo"] + 0.05 and first["iw_k"] == 5
    assert first["rate"] + first["distortion"] == pytest.approx(first["neg_elbo"])
    assert first["distortion"] > first["recon_floor"] > 0
    assert first["kl"] == pytest.approx(metrics.kl_per_dimension(vae, digits.x_test).sum())
    assert first["knn_acc"] > 0.5


def test_evaluate_ae_has_no_vae_metrics(ae, digits):
    result = metrics.evaluate(ae, digits, iw_k=5)
    assert set(result) == {"mse", "bce", "psnr", "loss", "knn_acc"}
    assert result == metrics.evaluate(ae, digits, iw_k=5)


# -- rate, distortion, floor and the binarised likelihood ------------------------------------------


def test_rate_plus_distortion_is_the_neg_elbo(vae, digits):
    x = digits.x_test
    rd = metrics.rate_distortion(vae, x, seed=2)
    assert rd["rate"] + rd["distortion"] == pytest.approx(rd["neg_elbo"])
    assert rd["neg_elbo"] == pytest.approx(metrics.neg_elbo(vae, x, seed=2))
    # The rate is the analytic KL, checked against torch.distributions.
    with torch.no_grad():
        post = vae.encode(x)
    q = torch.distributions.Normal(post.mu, torch.exp(0.5 * post.logvar))
    p = torch.distributions.Normal(torch.zeros_like(post.mu), torch.ones_like(post.mu))
    kl = torch.distributions.kl_divergence(q, p).sum(1).mean()
    assert rd["rate"] == pytest.approx(float(kl), rel=1e-4)


def test_recon_floor_is_the_images_entropy(vae, digits):
    x = digits.x_test
    entropy = torch.distributions.Bernoulli(probs=x.double()).entropy().flatten(1).sum(1).mean()
    assert metrics.recon_floor(vae, x) == pytest.approx(float(entropy), rel=1e-4)
    assert (x > 0).logical_and(x < 1).any()  # grey pixels: the floor is above zero
    assert metrics.neg_elbo(vae, x) > metrics.recon_floor(vae, x)
    gaussian = _model("vae", likelihood="gaussian")
    assert metrics.recon_floor(gaussian, x) == pytest.approx(64 * GAUSSIAN_LOG_NORMALISER)
    assert metrics.recon_floor(_model("vae", likelihood="binarized"), x) == 0.0


def test_gaussian_distortion_is_the_full_normal_nll(digits):
    model = _model("vae", likelihood="gaussian")
    x = digits.x_test[:50]
    with torch.no_grad():
        post = model.encode(x)
        eps = torch.randn(post.mu.shape, generator=torch.Generator().manual_seed(0))
        x_hat = model.decode(post.mu + torch.exp(0.5 * post.logvar) * eps)
    nll = -torch.distributions.Normal(x_hat, math.sqrt(0.5)).log_prob(x).flatten(1).sum(1).mean()
    assert metrics.rate_distortion(model, x)["distortion"] == pytest.approx(float(nll), rel=1e-4)


@pytest.fixture(scope="module")
def binarized(digits):
    model = _model("vae", likelihood="binarized")
    train(model, digits, TrainConfig(epochs=15, batch_size=64, device="cpu"))
    return model


def test_binarized_training_sees_a_fresh_draw_each_time(digits):
    model = _model("vae", likelihood="binarized")
    model.generator = torch.Generator().manual_seed(0)
    x = digits.x_test[:20]
    first, second = model.binarize(x), model.binarize(x)
    assert set(first.unique().tolist()) <= {0.0, 1.0} and not torch.equal(first, second)
    assert torch.equal(model.binarize(first), first)  # a binary image stays as it is
    # Each pixel is 1 with its grey level as probability.
    draws = torch.stack([model.binarize(x) for _ in range(400)]).mean(0)
    assert (draws - x).abs().max() < 0.12


def test_binarized_bounds_are_true_bounds(binarized, digits):
    x = digits.x_test
    scored = metrics.scoring_images(binarized, x)
    assert torch.equal(scored, metrics.scoring_images(binarized, x))  # one fixed binarisation
    assert set(scored.unique().tolist()) == {0.0, 1.0}
    elbos = [metrics.neg_elbo(binarized, x, seed=s) for s in range(4)]
    bounds = [metrics.iw_bound(binarized, x, k=20, seed=s) for s in range(4)]
    assert 0 < np.mean(bounds) <= np.mean(elbos)  # IW bound no looser in expectation
    assert metrics.recon_floor(binarized, x) == 0.0
    card = metrics.evaluate(binarized, digits, iw_k=20)
    assert card["iw_bound"] <= card["neg_elbo"] and card["recon_floor"] == 0.0


# -- one number per image, for colouring the map ---------------------------------------------------


def test_kl_per_image_averages_to_the_rate(vae, ae, digits):
    x = digits.x_test
    kl = metrics.kl_per_image(vae, x)
    assert kl.shape == (len(x),) and (kl >= 0).all()
    assert kl.std() > 0, "images differ in how many nats their codes spend"
    assert kl.mean() == pytest.approx(metrics.rate_distortion(vae, x)["rate"], rel=1e-5)
    assert kl.mean() == pytest.approx(metrics.kl_per_dimension(vae, x).sum(), rel=1e-5)
    with pytest.raises(ValueError, match="VAE"):
        metrics.kl_per_image(ae, x)


def test_recon_nll_per_image_is_in_the_models_own_likelihood(vae, digits):
    x = digits.x_test
    # Bernoulli: the BCE of the mean reconstruction, summed over pixels.
    np.testing.assert_allclose(metrics.per_image_recon_nll(vae, x, batch_size=100),
                               metrics.per_image_errors(vae, x)["bce"], rtol=1e-5)
    # Fixed-variance Gaussian: squared error summed over pixels plus the constant n log(pi) / 2.
    gaussian = _model("vae", likelihood="gaussian")
    n_pixels = gaussian.cfg.n_pixels
    expected = metrics.per_image_errors(gaussian, x)["mse"] * n_pixels \
        + n_pixels * 0.5 * np.log(np.pi)
    np.testing.assert_allclose(metrics.per_image_recon_nll(gaussian, x), expected, rtol=1e-4)
    # Binarised: scored on the one fixed binarised draw every metric uses.
    binarized = _model("vae", likelihood="binarized")
    np.testing.assert_allclose(
        metrics.per_image_recon_nll(binarized, x),
        metrics.per_image_errors(binarized, metrics.scoring_images(binarized, x))["bce"],
        rtol=1e-5)
