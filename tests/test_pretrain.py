"""Rebuilding the shipped models: each comes with a training replay (one epoch, in a temporary
folder; pretrained/ itself is never touched here)."""

from __future__ import annotations

from explorer.analysis import replay
from explorer.data.datasets import load_dataset
from explorer.pretrain import pretrain
from explorer.runs.checkpoints import load_model


def test_a_rebuilt_model_ships_with_its_training_replay(tmp_path):
    (card,) = pretrain(tmp_path, only=["digits-vae-mlp-z2"], epochs=1, projections=False,
                       log=lambda *_: None)
    folder = tmp_path / "digits-vae-mlp-z2"
    recorded = replay.load_replay(folder, card["content_hash"])
    assert recorded is not None, "no replay beside the rebuilt model"
    assert list(recorded.epochs) == [0, 1]  # before training, and after its one epoch
    model, _ = load_model(folder)
    n = min(replay.REPLAY_IMAGES, len(load_dataset("digits").y_test))
    assert recorded.codes.shape[1:] == (n, model.cfg.latent_dim)


def test_shipped_scores_open_the_compare_view_without_sampling(tmp_path, monkeypatch):
    """`pretrain --only scores` scores each shipped model that samples; a server then reads those
    numbers instead of sampling 5,000 images per model for its first visitor."""
    import shutil

    import pytest

    from explorer.analysis import scores
    from explorer.families import generate
    from explorer.pretrain import build_scores

    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(scores, "SHIPPED_SCORES", tmp_path / "none")  # as before any were shipped
    for name in ("digits-vae-mlp-z2", "digits-ae-mlp-z2"):
        shutil.copytree(scores.CLASSIFIERS.parent / name, tmp_path / name)
    build_scores(tmp_path, log=lambda *_: None)
    files = sorted(p.name for p in (tmp_path / "scores").glob("*.json"))
    assert len(files) == 2 and all(f.endswith("-digits-5000-seeds0-2.json") for f in files)

    monkeypatch.setattr(scores, "SHIPPED_SCORES", tmp_path / "scores")
    shutil.rmtree(tmp_path / "cache", ignore_errors=True)  # nothing may sit in a cache
    model, card = load_model(tmp_path / "digits-vae-mlp-z2")
    data = load_dataset("digits")
    expected = scores.score_spread(model, data, content_hash=card["content_hash"])
    monkeypatch.setattr(generate, "sample", lambda *a, **k: pytest.fail("sampled again"))
    assert scores.score_spread(model, data, content_hash=card["content_hash"]) == expected
    assert 0 <= expected["precision"] <= 1 and expected["fid"] > 0
    assert expected["seeds"] == scores.SCORE_SEEDS and expected["fid_sd"] > 0
