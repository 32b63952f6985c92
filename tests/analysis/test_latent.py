"""Tests for explorer.analysis.latent: codes, decoding, paths, grids, samples, neighbours and pictures."""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import pytest
import torch

from explorer.analysis import latent
from explorer.data.datasets import load_dataset
from explorer.families.models import ModelConfig, build_model
from explorer.training.loop import TrainConfig, train

DIGITS_SHAPE = (1, 8, 8)
D = 6


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


def _model(kind="vae", latent_dim=D, seed=0):
    torch.manual_seed(seed)
    cfg = ModelConfig(kind=kind, image_shape=DIGITS_SHAPE, latent_dim=latent_dim, hidden=(64,))
    return build_model(cfg).eval()


@pytest.fixture(scope="module")
def vae(digits):
    model = _model("vae")
    train(model, digits, TrainConfig(epochs=8, batch_size=64, device="cpu"))
    return model


@pytest.fixture(scope="module")
def ae():
    return _model("ae")  # untrained: these tests are about shapes and bookkeeping


# -- codes and images ----------------------------------------------------------------------------


def test_encode_dataset_gives_posterior_means(vae, digits):
    x = digits.x_test
    codes = latent.encode_dataset(vae, x, batch_size=100)
    assert codes.shape == (len(x), D) and codes.dtype == np.float32
    with torch.no_grad():
        np.testing.assert_allclose(codes, vae.encode(x).mu.numpy(), rtol=1e-5, atol=1e-6)


def test_decode_shapes_and_range(vae):
    one = latent.decode(vae, np.zeros(D, dtype=np.float32))
    assert one.shape == (1, 8, 8) and one.dtype == np.float32
    z = np.random.default_rng(0).normal(size=(5, D)) * 5  # far out: sigmoid must keep [0, 1]
    images = latent.decode(vae, z)
    assert images.shape == (5, 8, 8)
    assert images.min() >= 0.0 and images.max() <= 1.0
    np.testing.assert_array_equal(latent.decode(vae, torch.as_tensor(z)), images)
    with pytest.raises(ValueError, match="Codes"):
        latent.decode(vae, np.zeros(D + 1))


def test_sample_prior_is_seeded(vae):
    state = torch.get_rng_state()
    a = latent.sample_prior(vae, 6, seed=1)
    assert a.shape == (6, 8, 8)
    np.testing.assert_array_equal(a, latent.sample_prior(vae, 6, seed=1))
    assert not np.array_equal(a, latent.sample_prior(vae, 6, seed=2))
    assert torch.equal(torch.get_rng_state(), state)  # the global RNG was not touched
    # Temperature 0 collapses every draw onto the prior mean.
    cold = latent.sample_prior(vae, 3, temperature=0.0)
    np.testing.assert_allclose(
        cold, np.repeat(latent.decode(vae, np.zeros(D)), 3, axis=0), atol=1e-6
    )
    z = latent.sample_prior_z(D, 4000, temperature=2.0)
    assert z.std() == pytest.approx(2.0, rel=0.05)


# -- paths ---------------------------------------------------------------------------------------


def test_lerp_endpoints_and_midpoint():
    z0, z1 = np.arange(D, dtype=np.float32), -np.ones(D, dtype=np.float32)
    np.testing.assert_allclose(latent.lerp(z0, z1, 0.0), z0)
    np.testing.assert_allclose(latent.lerp(z0, z1, 1.0), z1)
    assert latent.lerp(z0, z1, 0.5).shape == (D,)
    np.testing.assert_allclose(latent.lerp(z0, z1, 0.5), (z0 + z1) / 2)
    path = latent.lerp(z0, z1, np.linspace(0, 1, 7))
    assert path.shape == (7, D)


def test_slerp_keeps_the_norm_on_an_arc():
    rng = np.random.default_rng(0)
    z0, z1 = rng.normal(size=D), rng.normal(size=D)
    z1 *= np.linalg.norm(z0) / np.linalg.norm(z1)  # equal norms
    path = latent.slerp(z0, z1, np.linspace(0, 1, 11))
    assert path.shape == (11, D)
    np.testing.assert_allclose(path[0], z0, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(path[-1], z1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(path, axis=1), np.linalg.norm(z0), rtol=1e-5)
    # The straight line dips inside the sphere; the arc does not.
    assert np.linalg.norm(latent.lerp(z0, z1, 0.5)) < np.linalg.norm(path[5]) - 1e-3


def test_slerp_norm_stays_between_endpoint_norms_for_unequal_norms():
    e0, e1 = np.eye(D)[0], np.eye(D)[1]
    path = latent.slerp(1.0 * e0, 3.0 * e1, np.linspace(0, 1, 21))
    norms = np.linalg.norm(path, axis=1)
    assert norms.min() >= 1.0 - 1e-5 and norms.max() <= 3.0 + 1e-5


def test_slerp_keeps_length_only_for_equal_lengths_and_path_lengths_show_both():
    z0 = np.zeros(D)
    z0[0] = 4.31
    z1 = np.zeros(D)
    z1[0], z1[1] = -3.5, 0.9  # nearly opposite, shorter
    lengths = latent.path_lengths(z0, z1, steps=41)
    assert set(lengths) == {"linear", "spherical"}
    for v in lengths.values():
        assert v[0] == pytest.approx(4.31, rel=1e-5) and v[-1] == pytest.approx(np.linalg.norm(z1))
    assert lengths["spherical"].max() > 4.31 + 0.1  # swings outside both ends
    assert lengths["linear"].min() < 1.0  # the straight line dips to the origin's side


def test_slerp_falls_back_to_lerp_for_parallel_or_zero_vectors():
    z0 = np.ones(D)
    t = np.linspace(0, 1, 5)
    np.testing.assert_allclose(latent.slerp(z0, 2 * z0, t), latent.lerp(z0, 2 * z0, t))
    np.testing.assert_allclose(latent.slerp(np.zeros(D), z0, t), latent.lerp(np.zeros(D), z0, t))
    assert np.isfinite(latent.slerp(z0, -z0, t)).all()


def test_interpolate_methods():
    z0, z1 = np.eye(D)[0], np.eye(D)[2]
    for method in ("linear", "spherical"):
        path = latent.interpolate(z0, z1, 9, method=method)
        assert path.shape == (9, D)
        np.testing.assert_allclose(path[0], z0, atol=1e-6)
        np.testing.assert_allclose(path[-1], z1, atol=1e-6)
    with pytest.raises(ValueError, match="interpolation"):
        latent.interpolate(z0, z1, 9, method="cubic")


def test_traverse_changes_only_the_chosen_dim():
    z = np.arange(D, dtype=np.float32)
    values = np.linspace(-3, 3, 7)
    out = latent.traverse(z, 2, values)
    assert out.shape == (7, D)
    np.testing.assert_allclose(out[:, 2], values)
    np.testing.assert_array_equal(np.delete(out, 2, axis=1), np.tile(np.delete(z, 2), (7, 1)))
    with pytest.raises(ValueError):
        latent.traverse(z, D, values)


# -- grids ---------------------------------------------------------------------------------------


def test_grid_values_spacings():
    np.testing.assert_allclose(latent.grid_values(5, -2, 2), [-2, -1, 0, 1, 2])
    classic = latent.grid_values(7, *latent.PRIOR_RANGE, spacing="gaussian")
    expected = [NormalDist().inv_cdf(p) for p in np.linspace(0.05, 0.95, 7)]
    np.testing.assert_allclose(classic, expected, rtol=1e-5, atol=1e-6)
    gaps = np.diff(latent.grid_values(9, -3, 3, spacing="gaussian"))
    assert gaps[4] < gaps[0]  # points bunch up where the prior has its mass
    with pytest.raises(ValueError, match="spacing"):
        latent.grid_values(5, 0, 1, spacing="log")


def test_grid_2d_layout_and_corners():
    n = 4
    center = np.full(D, 0.5, dtype=np.float32)
    z = latent.grid_2d(center, dims=(1, 3), extent=(-2.0, 2.0), n=n)
    assert z.shape == (n * n, D)
    # (dim 1, dim 3) at the corners: x grows to the right, y grows upwards.
    np.testing.assert_allclose(z[0, [1, 3]], [-2, 2])  # top left
    np.testing.assert_allclose(z[n - 1, [1, 3]], [2, 2])  # top right
    np.testing.assert_allclose(z[n * (n - 1), [1, 3]], [-2, -2])  # bottom left
    np.testing.assert_allclose(z[-1, [1, 3]], [2, -2])  # bottom right
    np.testing.assert_array_equal(z[:, [0, 2, 4, 5]], 0.5)  # the other dims stay at the centre

    per_dim = latent.grid_2d(np.zeros(2), dims=(0, 1), extent=((0, 1), (-5, 5)), n=3)
    np.testing.assert_allclose(per_dim[0], [0, 5])
    np.testing.assert_allclose(per_dim[-1], [1, -5])


# -- ordering and neighbours ---------------------------------------------------------------------


def test_kl_order_sorts_by_use(vae, ae, digits):
    from explorer.analysis.metrics import code_variance, kl_per_dimension

    x = digits.x_test
    order = latent.kl_order(vae, x)
    assert sorted(order.tolist()) == list(range(D))
    assert (np.diff(kl_per_dimension(vae, x)[order]) <= 0).all()
    ae_order = latent.kl_order(ae, x)
    assert (np.diff(code_variance(ae, x)[ae_order]) <= 0).all()


# -- arithmetic ----------------------------------------------------------------------------------


def test_class_means_are_the_mean_code_of_each_class(vae, digits):
    codes = latent.encode_dataset(vae, digits.x_test)
    labels = digits.y_test.numpy()
    means = latent.class_means(codes, labels, 10)
    assert means.shape == (10, D) and means.dtype == np.float32
    for c in range(10):
        np.testing.assert_allclose(means[c], codes[labels == c].mean(0), rtol=1e-5, atol=1e-6)
    # A class without a member has no mean (NaN), rather than a made-up zero.
    lonely = latent.class_means(codes[labels < 9], labels[labels < 9], 10)
    assert np.isnan(lonely[9]).all() and np.isfinite(lonely[:9]).all()


def test_an_analogy_to_its_own_class_is_the_code_itself_and_others_move_by_the_means():
    rng = np.random.default_rng(0)
    codes = rng.normal(size=(60, 5)).astype(np.float32) * 3
    labels = np.arange(60) % 4
    means = latent.class_means(codes, labels, 4)
    z = latent.analogy_codes(codes[6], means, labels[6])  # image 6 is a 2
    assert z.shape == (4, 5)
    np.testing.assert_array_equal(z[2], codes[6])  # c = class(A): exactly z_A
    np.testing.assert_allclose(z[0], codes[6] - means[2] + means[0], rtol=1e-6, atol=1e-6)
    batch = latent.analogy_codes(codes[:7], means, labels[:7])  # (M, K, D)
    assert batch.shape == (7, 4, 5)
    np.testing.assert_array_equal(batch[np.arange(7), labels[:7]], codes[:7])
    np.testing.assert_array_equal(batch[6], z)


# -- pictures ------------------------------------------------------------------------------------


def test_image_grid_tiles_with_padding():
    images = np.stack([np.full((8, 8), v, dtype=np.float32) for v in (0.0, 0.2, 0.4, 0.6, 0.8)])
    grid = latent.image_grid(images, ncols=3, pad=1, pad_value=1.0)
    assert grid.shape == (2 * 9 + 1, 3 * 9 + 1)
    assert grid[1:9, 1:9].max() == 0.0  # first tile top left
    assert (grid[10:18, 10:18] == np.float32(0.8)).all()  # fifth tile: row 1, column 1
    assert (grid[10:18, 19:27] == 1.0).all()  # the empty sixth cell shows the padding
    assert (grid[0] == 1.0).all() and (grid[:, 9] == 1.0).all()
    with_channel = latent.image_grid(images[:, None], ncols=3)
    np.testing.assert_array_equal(with_channel, grid)


def test_to_uint8_and_upscale():
    img = np.array([[0.0, 0.5], [1.0, 1.7]], dtype=np.float32)
    u8 = latent.to_uint8(img)
    assert u8.dtype == np.uint8
    np.testing.assert_array_equal(u8, [[0, 128], [255, 255]])
    big = latent.upscale(u8, 4)
    assert big.shape == (8, 8)
    assert (big[:4, 4:] == 128).all() and (big[4:, :4] == 255).all()
    with pytest.raises(ValueError):
        latent.upscale(u8, 0)
