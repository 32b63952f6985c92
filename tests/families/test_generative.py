"""The generative families (GAN, CVAE), their capabilities, and the scores of their samples."""

import numpy as np
import pytest
import torch

from explorer.analysis import scores
from explorer.data.datasets import load_dataset
from explorer.families.gan.measures import draw, fixed_noise, train_gan
from explorer.families.generate import sample
from explorer.families.models import ModelConfig, build_model, can
from explorer.runs.checkpoints import load_model, save_model
from explorer.training.loop import TrainConfig, train

DIGITS = (1, 8, 8)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits")


@pytest.fixture(scope="module")
def classifier():
    return scores.load_classifier("digits")[0]


def test_capabilities_of_each_family():
    made = {kind: build_model(ModelConfig(kind, "mlp", DIGITS, latent_dim=4, hidden=(32,),
                                          n_classes=10 if kind == "cvae" else 0))
            for kind in ("ae", "vae", "cvae", "gan")}
    assert [k for k, m in made.items() if can(m, "encode")] == ["ae", "vae"]
    assert [k for k, m in made.items() if can(m, "condition")] == ["cvae"]
    assert all(can(m, "sample") and can(m, "decode") for m in made.values())
    assert "n_classes" not in ModelConfig().to_dict()  # AE/VAE cards unchanged


def test_gan_losses_move_and_fixed_noise_samples_change(digits):
    model = build_model(ModelConfig("gan", "mlp", DIGITS, latent_dim=8, hidden=(64,)),
                        torch.Generator().manual_seed(0))
    z = fixed_noise(model, 16)
    before = draw(model, z)
    events = []
    result = train_gan(model, digits, TrainConfig(epochs=2, batch_size=64, lr=2e-4, seed=0,
                                                  device="cpu"), callback=events.append)
    assert result.status == "finished" and len(result.history) == 2
    steps = [e.parts for e in events if e.kind == "step"]
    assert {"g_loss", "d_loss"} <= set(steps[0])
    assert steps[0]["g_loss"] != steps[-1]["g_loss"] and steps[0]["d_loss"] != steps[-1]["d_loss"]
    after = draw(model, z)
    assert (after - before).abs().mean() > 0.01  # the samples of the same noise changed


def test_gan_file_round_trips(tmp_path):
    model = build_model(ModelConfig("gan", "conv", (1, 28, 28), latent_dim=8, hidden=(8, 16)),
                        torch.Generator().manual_seed(1))
    model.train()
    model.decode(torch.randn(4, 8))  # moves the batch-norm running statistics
    model.eval()
    save_model(model, tmp_path / "gan", {"name": "gan"})
    loaded, card = load_model(tmp_path / "gan")
    assert card["config"]["kind"] == "gan" and not can(loaded, "encode")
    z = torch.randn(5, 8)
    assert torch.equal(model.decode(z), loaded.decode(z))


def test_frechet_distance_is_zero_for_the_same_images_and_grows_with_noise(digits, classifier):
    real = scores.features(classifier, digits.x_test)
    assert scores.frechet_distance(real, real) == pytest.approx(0.0, abs=1e-3)
    g = torch.Generator().manual_seed(0)
    distances = []
    for noise in (0.1, 0.3, 0.6):
        noisy = (digits.x_test + noise * torch.randn(digits.x_test.shape, generator=g)).clamp(0, 1)
        distances.append(scores.frechet_distance(real, scores.features(classifier, noisy)))
    assert 0 < distances[0] < distances[1] < distances[2]


def test_precision_recall_near_one_for_real_images_and_low_for_noise(digits, classifier):
    real = scores.features(classifier, digits.x_test)
    train_split = scores.features(classifier, digits.x_train)
    real_p, real_r = scores.precision_recall(real, train_split)
    assert real_p > 0.8 and real_r > 0.8
    noise = torch.rand(digits.x_test.shape, generator=torch.Generator().manual_seed(0))
    precision, recall = scores.precision_recall(real, scores.features(classifier, noise))
    assert precision < real_p - 0.4 and recall < 0.2


def test_cvae_samples_are_the_class_asked_for(digits, classifier):
    cfg = ModelConfig("cvae", "mlp", DIGITS, latent_dim=4, hidden=(128,), n_classes=10)
    model = build_model(cfg, torch.Generator().manual_seed(0))
    train(model, digits, TrainConfig(epochs=40, batch_size=64, lr=3e-3, seed=0, device="cpu"))
    x, labels = sample(model, 500, seed=0)
    hits = np.mean(scores._run(classifier, x)[1] == labels)
    assert hits > 0.6  # chance is 0.1
    x3, labels3 = sample(model, 20, seed=1, labels=3)
    assert set(labels3) == {3} and x3.shape == (20, 1, 8, 8)


def test_score_model_cached_per_content_hash(digits, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path))
    model = build_model(ModelConfig("vae", "mlp", DIGITS, latent_dim=2, hidden=(32,)),
                        torch.Generator().manual_seed(0)).eval()
    first = scores.score_model(model, digits, n=400, content_hash="abc")
    assert {"fid", "precision", "recall"} <= set(first) and "class_accuracy" not in first
    assert list(tmp_path.rglob("abc-*.json"))
    assert scores.score_model(model, digits, n=400, content_hash="abc") == first


def test_a_gan_job_reports_both_losses_and_fixed_noise_samples(tmp_path):
    from explorer.jobs.spec import JobSpec
    from explorer.jobs.worker import run_job

    spec = JobSpec.build(ModelConfig("gan", "mlp", DIGITS, latent_dim=8, hidden=(32,)),
                         TrainConfig(epochs=2, batch_size=64, lr=2e-4, seed=0, device="cpu"),
                         "digits", tmp_path / "gan")
    events = []
    run_job(spec, lambda kind, payload: events.append((kind, payload)), lambda: False)
    kinds = [k for k, _ in events]
    assert kinds[-1] == "done" and events[-1][1]["status"] == "finished", events[-1]
    epochs = [p for k, p in events if k == "epoch"]
    assert len(epochs) == 2 and {"g_loss", "d_loss", "variety"} <= set(epochs[0]["train"])
    assert epochs[0]["preview"].shape == (8, 8, 8)
    assert not np.array_equal(epochs[0]["preview"], epochs[1]["preview"])
    assert {"fid", "precision", "recall"} <= set(events[-1][1]["metrics"])
    loaded, _ = load_model(events[-1][1]["saved_path"])
    assert not can(loaded, "encode")


def test_cli_trains_a_cvae_and_eval_reports_its_scores(tmp_path, run_cli):
    import json

    out = tmp_path / "cvae"
    assert run_cli(["train", "--model", "cvae", "--dataset", "digits", "--epochs", "1",
                    "--latent-dim", "4", "--hidden", "32", "--out", str(out)]).status == 0
    ran = run_cli(["eval", str(out), "--json"])
    assert ran.status == 0
    metrics = json.loads(ran.out)
    assert {"fid", "precision", "recall", "class_accuracy"} <= set(metrics)
