"""The training loop: it learns, reports, stops when asked, survives divergence, and is seeded."""

import math

import pytest
import torch

from explorer.datasets import load_dataset
from explorer.errors import ConfigError
from explorer.models import ModelConfig, build_model
from explorer.training import TrainConfig, pick_device, train

DIGITS_CFG = ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=4, hidden=(64,))


def fresh(cfg=DIGITS_CFG, seed=0):
    torch.manual_seed(seed)
    return build_model(cfg)


def test_test_loss_falls_and_events_arrive():
    events = []
    result = train(fresh(), load_dataset("digits"), TrainConfig(epochs=5, batch_size=64),
                   callback=events.append)
    assert result.status == "finished" and result.epochs_done == 5
    test_losses = [row["test"]["loss"] for row in result.history]
    assert test_losses[-1] < 0.8 * test_losses[0]
    kinds = [e.kind for e in events]
    assert kinds.count("epoch") == 5 and kinds[-1] == "end" and "step" in kinds
    assert {"loss", "recon", "kl"} <= set(result.history[-1]["test"])


def test_same_seed_same_weights():
    data = load_dataset("digits")
    a, b = fresh(), fresh()
    train(a, data, TrainConfig(epochs=2, seed=3))
    train(b, data, TrainConfig(epochs=2, seed=3))
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
        assert torch.equal(p, q), name


def test_stop_flag_ends_training_cleanly():
    calls = {"n": 0}

    def stop():
        calls["n"] += 1
        return calls["n"] > 15

    model = fresh()
    result = train(model, load_dataset("digits"), TrainConfig(epochs=50, batch_size=32), stop=stop)
    assert result.status == "stopped" and result.epochs_done < 50
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_divergence_keeps_last_good_weights():
    # BCE-with-logits never becomes NaN for an AE: it explodes instead, and that counts too.
    model = fresh(ModelConfig(kind="ae", image_shape=(1, 8, 8), latent_dim=4, hidden=(64,)))
    result = train(model, load_dataset("digits"), TrainConfig(epochs=30, lr=50.0))
    assert result.status == "diverged"
    assert "learning rate" in result.message
    assert all(torch.isfinite(p).all() for p in model.parameters())
    x = load_dataset("digits").x_test[:4]
    assert torch.isfinite(model(x)["x_hat"]).all()


def test_nan_in_the_first_step_rolls_back_to_the_start():
    model = fresh()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    original = model.loss
    model.loss = lambda x: {**original(x), "loss": torch.tensor(math.nan, requires_grad=True)}
    result = train(model, load_dataset("digits"), TrainConfig(epochs=1))
    assert result.status == "diverged" and result.epochs_done == 0
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


def test_shape_mismatch_and_bad_settings_are_clear():
    with pytest.raises(ConfigError, match="expects"):
        train(fresh(), load_dataset("noise"), TrainConfig(epochs=1))
    for bad in [dict(epochs=0), dict(lr=0.0), dict(batch_size=0), dict(lr=float("nan"))]:
        with pytest.raises(ConfigError):
            TrainConfig(**bad)


def test_device_selection_falls_back_to_cpu():
    if not torch.cuda.is_available():
        assert pick_device().type in ("cpu", "mps")
        with pytest.raises(ConfigError, match="CUDA"):
            pick_device("cuda")
    assert pick_device("cpu").type == "cpu"
