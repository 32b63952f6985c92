"""The shipped models: they load, their cards tell the truth, their maps match their weights,
the folder stays small, and the rebuild command works end to end."""

import json
from itertools import pairwise

import pytest

from explorer.analysis.metrics import evaluate
from explorer.analysis.projection_files import load_coords, projection_file
from explorer.data.datasets import load_dataset
from explorer.families.models import can
from explorer.pretrain import SPECS, SWEEP, pretrain
from explorer.runs.checkpoints import load_model
from explorer.runs.store import DEFAULT_MODEL, PRETRAINED_DIR, list_models

SHIPPED = [s.name for s in SPECS]


def test_every_spec_is_shipped_and_listed_first():
    entries, problems = list_models(PRETRAINED_DIR, PRETRAINED_DIR / "no-runs-here")
    assert problems == []
    assert [e.name for e in entries] == SHIPPED
    assert entries[0].name == DEFAULT_MODEL and all(e.read_only for e in entries)


@pytest.mark.slow
@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_model_reproduces_its_card(name):
    model, card = load_model(PRETRAINED_DIR / name)
    data = load_dataset(card["dataset"]["name"])
    if can(model, "encode"):
        again = evaluate(model, data, seed=card["seed"])
    else:
        from explorer.analysis.scores import evaluate_generator

        again = evaluate_generator(model, data, seed=card["seed"])
    for key in ("mse", "loss", "neg_elbo", "knn_acc", "fid", "precision", "class_accuracy"):
        if key in card["metrics"]:
            assert again[key] == pytest.approx(card["metrics"][key], rel=0.01), key
    assert card["train"]["status"] == "finished"
    assert len(card["history"]) == card["train"]["epochs"]


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_projections_match_the_weights(name):
    model, card = load_model(PRETRAINED_DIR / name)
    if model.cfg.latent_dim == 2 or not can(model, "encode"):
        return  # the latent is the map, or there is no encoder to map with: nothing projected
    for method in ("umap", "pca"):
        coords = load_coords(projection_file(PRETRAINED_DIR / name, method), card["content_hash"])
        assert coords is not None and coords.shape == (card["dataset"]["n_test"], 2)
        assert load_coords(projection_file(PRETRAINED_DIR / name, method), "0" * 16) is None


def test_pretrained_folder_is_small_and_pickle_free():
    files = [p for p in PRETRAINED_DIR.rglob("*") if p.is_file()]
    # 45 MiB: the four latent diffusion priors add 4.9 MiB to the 37 of the models before them.
    assert sum(p.stat().st_size for p in files) < 45 * 2**20
    assert {p.suffix for p in files} <= {".safetensors", ".json", ".txt", ".md"}


@pytest.mark.slow
def test_rebuild_command_end_to_end(tmp_path):
    cards = pretrain(tmp_path, only=["mnist-vae-mlp-z16"], epochs=1, log=lambda *a: None)
    folder = tmp_path / "mnist-vae-mlp-z16"
    card = json.loads((folder / "card.json").read_text())
    assert cards[0]["content_hash"] == card["content_hash"] and len(card["history"]) == 1
    model, _ = load_model(folder)
    assert load_coords(projection_file(folder, "umap"), card["content_hash"]) is not None
    # Seeded: the same command gives the same weights.
    again = pretrain(tmp_path / "again", only=["mnist-vae-mlp-z16"], epochs=1, projections=False,
                     log=lambda *a: None)
    assert again[0]["content_hash"] == card["content_hash"]


def test_the_beta_sweep_trades_rate_for_distortion():
    cards = [json.loads((PRETRAINED_DIR / s.name / "card.json").read_text()) for s in SWEEP]
    betas = [c["config"]["beta"] for c in cards]
    rates = [c["metrics"]["rate"] for c in cards]
    distortions = [c["metrics"]["distortion"] for c in cards]
    assert len(cards) >= 5 and betas == sorted(betas)
    assert all(a > b for a, b in pairwise(rates)), f"rate falls as β grows: {rates}"
    assert distortions[-1] > distortions[0]
    for c in cards:
        m = c["metrics"]
        assert m["rate"] + m["distortion"] == pytest.approx(m["neg_elbo"])
        assert m["distortion"] > m["recon_floor"] > 40  # grey Bernoulli: the floor is Σ H(x)


def test_the_binarized_model_reports_true_bounds():
    model, card = load_model(PRETRAINED_DIR / "mnist-vae-binarized-z16")
    m = card["metrics"]
    assert model.cfg.likelihood == "binarized" and m["recon_floor"] == 0.0
    assert 0 < m["iw_bound"] <= m["neg_elbo"] and m["iw_k"] >= 50
