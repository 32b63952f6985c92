"""The training loop: it learns, reports, stops when asked, survives divergence, and is seeded."""

import math
from pathlib import Path

import pytest
import torch

from explorer.data.datasets import load_dataset
from explorer.errors import ConfigError
from explorer.families.models import ModelConfig, build_model
from explorer.training.loop import TrainConfig, evaluate_loss, pick_device, resolve_precision, train

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


def cpu_has_native_bf16() -> bool:
    """Read from the kernel's CPU flags, independently of torch."""
    try:
        flags = Path("/proc/cpuinfo").read_text().split()
    except OSError:
        pytest.skip("no /proc/cpuinfo here")
    return "avx512_bf16" in flags or "amx_bf16" in flags


def test_auto_precision_follows_the_hardware():
    expected = "bf16" if cpu_has_native_bf16() else "fp32"
    assert resolve_precision("auto", torch.device("cpu")) == expected
    assert resolve_precision("fp32", torch.device("cpu")) == "fp32"
    assert resolve_precision("bf16", torch.device("cpu")) == "bf16"
    assert resolve_precision("auto", torch.device("meta")) == "fp32"  # no bf16 units known
    with pytest.raises(ConfigError, match="Precision"):
        TrainConfig(precision="fp16")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here")
def test_auto_precision_on_cuda():
    wanted = "bf16" if torch.cuda.is_bf16_supported(including_emulation=False) else "fp32"
    model = fresh()
    result = train(model, load_dataset("digits"), TrainConfig(epochs=2, device="cuda"))
    assert result.precision == wanted and result.status == "finished"
    assert all(p.dtype == torch.float32 for p in model.parameters())


def test_bf16_run_learns_as_well_and_reports_fp32_metrics():
    data = load_dataset("digits")
    runs = {}
    for precision in ("fp32", "bf16", "bf16"):
        model = fresh()
        result = train(model, data, TrainConfig(epochs=8, batch_size=64, precision=precision))
        runs.setdefault(precision, []).append((model, result))
    model, result = runs["bf16"][0]
    assert result.precision == "bf16" and result.status == "finished"
    assert all(p.dtype == torch.float32 for p in model.parameters())
    # The reported test loss is the fp32 evaluation of the final weights.
    assert result.history[-1]["test"] == evaluate_loss(model, data.x_test, seed=0)
    assert all(isinstance(v, float) for v in result.history[-1]["train"].values())
    fp32_loss = runs["fp32"][0][1].history[-1]["test"]["loss"]
    assert result.history[-1]["test"]["loss"] == pytest.approx(fp32_loss, rel=0.03)
    first = runs["fp32"][0][1].history[0]["test"]["loss"]
    assert result.history[-1]["test"]["loss"] < 0.8 * first
    # bf16 is still deterministic: same seed, same weights.
    other = runs["bf16"][1][0]
    for p, q in zip(model.state_dict().values(), other.state_dict().values(), strict=True):
        assert torch.equal(p, q)


def test_card_records_the_precision(tmp_path):
    from explorer.jobs import run_training
    from explorer.runs.checkpoints import read_card

    out = tmp_path / "run"
    run_training(DIGITS_CFG, TrainConfig(epochs=1, precision="fp32"), "digits", out)
    card = read_card(out)
    assert card["train"]["precision"] == "fp32" and card["train"]["precision_used"] == "fp32"
    auto = run_training(DIGITS_CFG, TrainConfig(epochs=1), "digits", tmp_path / "auto").card
    assert auto["train"]["precision"] == "auto"
    assert auto["train"]["precision_used"] == resolve_precision("auto", torch.device("cpu"))


def nan_after(model, calls: int):
    """Make `model.loss` return NaN from its `calls`-th call on."""
    original, seen = model.loss, {"n": 0}

    def loss(x):
        seen["n"] += 1
        parts = original(x)
        if seen["n"] >= calls:
            parts["loss"] = parts["loss"] * math.nan
        return parts

    model.loss = loss


def test_batched_divergence_check_catches_nan_between_checks():
    data = load_dataset("digits")  # 1,437 training images: 12 steps of 128 per epoch
    model = fresh()
    nan_after(model, 12 + 5)  # in epoch 2, between two checks (every 10 steps)
    events = []
    result = train(model, data, TrainConfig(epochs=3), callback=events.append)
    assert result.status == "diverged" and result.epochs_done == 1
    assert "epoch 2" in result.message and "learning rate" in result.message
    assert all(torch.isfinite(p).all() for p in model.parameters())  # epoch 1's weights
    assert all(math.isfinite(v) for e in events for v in e.parts.values())
    # Checked only at each epoch's end, a NaN in the first step is still caught, and nothing kept.
    model = fresh()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    nan_after(model, 1)
    result = train(model, data, TrainConfig(epochs=2), report_every=1000)
    assert result.status == "diverged" and result.epochs_done == 0
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())


def test_learning_rate_of_10_is_caught():
    model = fresh(ModelConfig(kind="ae", image_shape=(1, 8, 8), latent_dim=4, hidden=(64,)))
    result = train(model, load_dataset("digits"), TrainConfig(epochs=30, lr=10.0))
    assert result.status == "diverged" and "smaller learning rate than 10" in result.message
    assert all(torch.isfinite(p).all() for p in model.parameters())
