"""Training as a background job: progress, Stop mid-epoch, and two jobs at once."""

import time

from explorer.checkpoints import load_model
from explorer.jobs import TrainingJob
from explorer.models import ModelConfig
from explorer.training import TrainConfig

CFG = ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=2, hidden=(32,))


def wait(job, timeout=120):
    end = time.time() + timeout
    while job.running and time.time() < end:
        time.sleep(0.05)
    assert not job.running


def test_job_reports_progress_and_saves(runs):
    job = TrainingJob(CFG, TrainConfig(epochs=3, batch_size=64), "digits", runs / "a").start()
    wait(job)
    s = job.snapshot()
    assert s.status == "finished", s.message
    assert len(s.history) == 3 and s.steps and len(s.previews) == 3
    assert s.previews[-1].shape == s.originals.shape == (8, 8, 8)
    model, card = load_model(s.saved_path)
    assert card["train"]["epochs_done"] == 3


def test_stop_mid_epoch_leaves_a_consistent_run(runs):
    job = TrainingJob(CFG, TrainConfig(epochs=500, batch_size=8), "digits", runs / "b").start()
    while job.snapshot().step < 30:
        time.sleep(0.01)
    job.stop()
    wait(job)
    s = job.snapshot()
    assert s.status == "stopped"
    model, card = load_model(runs / "b")  # loads: complete weights and card
    assert card["train"]["status"] == "stopped" and card["train"]["epochs_done"] < 500
    assert card["metrics"]["loss"] > 0


def test_two_jobs_at_once_keep_their_own_results(runs):
    a = TrainingJob(CFG, TrainConfig(epochs=2, seed=1), "digits", runs / "one").start()
    b = TrainingJob(ModelConfig(kind="ae", image_shape=(1, 8, 8), latent_dim=3, hidden=(16,)),
                    TrainConfig(epochs=4, seed=2), "digits", runs / "two").start()
    wait(a)
    wait(b)
    sa, sb = a.snapshot(), b.snapshot()
    assert (len(sa.history), len(sb.history)) == (2, 4)
    assert load_model(runs / "one")[0].cfg.kind == "vae"
    assert load_model(runs / "two")[0].cfg.latent_dim == 3
