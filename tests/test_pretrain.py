"""Rebuilding the shipped models: each comes with a training replay (one epoch, in a temporary
folder; pretrained/ itself is never touched here)."""

from __future__ import annotations

from explorer import replay
from explorer.checkpoints import load_model
from explorer.datasets import load_dataset
from explorer.pretrain import pretrain


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
