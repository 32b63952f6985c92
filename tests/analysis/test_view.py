"""explorer.analysis.view: one view of a model, shared by every caller and memoised by content hash."""

import threading

import numpy as np
import pytest
import torch

from explorer.analysis import latent
from explorer.analysis.projection import ProjectionParams
from explorer.analysis.view import ModelView
from explorer.data.datasets import load_dataset
from explorer.runs import checkpoints

VAE_Z16 = "pretrained/mnist-vae-mlp-z16"
AE_Z2 = "pretrained/digits-ae-mlp-z2"


@pytest.fixture(autouse=True)
def fresh(tmp_path, monkeypatch):
    """No codes or maps from earlier runs on disk, and no views from other tests."""
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr("explorer.analysis.view._projection_cache", None)
    ModelView.forget_all()
    yield
    ModelView.forget_all()


def test_one_view_per_model_and_a_new_one_when_its_weights_change(digits_vae):
    _, card, path = digits_vae
    view = ModelView.of(path)
    assert ModelView.of(path) is view and ModelView.of(str(path), card["content_hash"]) is view
    assert ModelView.of(path, "another-hash") is not view  # retrained: never a stale picture


def test_codes_are_the_encoders_and_no_caller_can_change_them():
    view = ModelView.of(AE_Z2)
    model, _ = checkpoints.load_model(AE_Z2)
    expected = latent.encode_dataset(model, load_dataset("digits").x_test)
    codes = view.codes()
    np.testing.assert_allclose(codes, expected, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError):
        codes[0, 0] = 123.0  # shared by every session: read-only


def test_thirty_callers_at_once_encode_the_test_set_once(monkeypatch):
    calls = []
    real = latent.encode_dataset

    def counted(model, x, *args, **kwargs):
        calls.append(1)
        return real(model, x, *args, **kwargs)

    monkeypatch.setattr(latent, "encode_dataset", counted)
    view = ModelView.of(AE_Z2)
    barrier = threading.Barrier(30)
    results = []

    def ask():
        barrier.wait()
        results.append(view.codes())

    threads = [threading.Thread(target=ask) for _ in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(results) == 30 and len(calls) == 1
    assert all(r is results[0] for r in results)


def test_codes_outlive_the_process_on_disk():
    first = ModelView.of(AE_Z2).codes()
    ModelView.forget_all()
    again = ModelView.of(AE_Z2)
    assert again.ready("codes") and not again.ready("model")  # from disk, no model loaded
    np.testing.assert_array_equal(again.codes(), first)


def test_a_2d_model_is_its_own_map_and_a_16d_model_reads_its_shipped_map():
    ae = ModelView.of(AE_Z2).map(ProjectionParams())
    assert ae.method == "latent" and ae.pending is None
    np.testing.assert_array_equal(ae.coords, ModelView.of(AE_Z2).codes())

    vae = ModelView.of(VAE_Z16)
    shipped = vae.map(ProjectionParams())  # UMAP, shipped beside the model: no job, no wait
    assert shipped.method == "umap" and shipped.pending is None
    assert shipped.coords.shape == (len(vae.labels()), 2)


def test_a_pca_map_is_fitted_once_and_kept_in_the_cache():
    view = ModelView.of(VAE_Z16)
    params = ProjectionParams("pca", n_components=3)
    first = view.map(params)
    assert first.method == "pca" and first.coords.shape == (len(view.labels()), 3)
    assert view.stored_map(params) is not None  # the disk cache has it for the next server


def test_per_image_numbers_are_in_nats_per_test_image():
    view = ModelView.of(VAE_Z16)
    error, kl = view.per_image("error"), view.per_image("kl")
    n = len(view.labels())
    assert error.shape == kl.shape == (n,)
    assert np.isfinite(error).all() and (kl >= 0).all()
    # the mean of the per-image numbers is the model's test reconstruction cost and rate
    x = view.data().x_test
    with torch.inference_mode():
        mu, logvar = view.model().encode(x)
    rate = (0.5 * (mu.pow(2) + logvar.exp() - 1 - logvar).sum(1)).mean().item()
    assert kl.mean() == pytest.approx(rate, rel=1e-4)
