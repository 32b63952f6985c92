"""Shared fixtures: a runs folder per test, small trained models, seeded torch."""

import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# Tiny models train several times faster on one thread than on two contended ones, and the test
# suite shares the machine with a browser and a Streamlit server.
torch.set_num_threads(1)


@pytest.fixture
def runs(tmp_path, monkeypatch):
    """A private runs folder, so tests never touch the user's runs/."""
    folder = tmp_path / "runs"
    folder.mkdir()
    monkeypatch.setenv("EXPLORER_RUNS_DIR", str(folder))
    return folder


@pytest.fixture(scope="session")
def digits_vae(tmp_path_factory):
    """A small VAE trained briefly on digits, saved as a run folder: (model, card, path)."""
    from explorer.checkpoints import load_model
    from explorer.jobs import run_training
    from explorer.models import ModelConfig
    from explorer.training import TrainConfig

    path = tmp_path_factory.mktemp("models") / "digits-vae"
    cfg = ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=4, hidden=(64,))
    run_training(cfg, TrainConfig(epochs=8, batch_size=64, seed=0), "digits", path)
    model, card = load_model(path)
    return model, card, path


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "PWNED"
    yield path
    assert not path.exists(), "a pickle was unpickled"
