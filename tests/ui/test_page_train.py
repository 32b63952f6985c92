"""The Train page, driven through AppTest: the form, a real (tiny) training run, and the messages a
learner sees when a setting is wrong. Every run writes into a private runs folder."""

import json
import time
from pathlib import Path

import pytest
import torch
from streamlit.testing.v1 import AppTest

from explorer.families.models import ModelConfig, build_model
from explorer.jobs.spec import JobState
from explorer.runs import checkpoints
from explorer.runs.checkpoints import CARD
from explorer.ui.parts import train_view
from tests.apptest_helpers import run_until_done, submit, train_button, train_buttons, widgets

ROOT = Path(__file__).resolve().parents[2]
PAGE = "explorer/ui/pages/train.py"
DONE = ("finished", "stopped", "diverged", "failed")


@pytest.fixture
def train_page(runs, tmp_path, monkeypatch):
    """The Train page as a user reaches it, inside the full app."""
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path / "no-data"))  # full MNIST not cached
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()  # the default page registers the pages; not judged here
    at.switch_page(PAGE).run()
    assert not at.exception
    assert at.title[0].value == "Train a model"
    return at


def test_form_shows_the_settings(train_page):
    labels = {w.label for w in widgets(train_page)}
    assert {
        "Dataset",
        "Model type",
        "Architecture",
        "Code size",
        "Layer sizes",
        "β (VAE)",
        "Epochs",
        "Batch size",
        "Learning rate",
        "Seed",
        "Run name",
    } <= labels
    assert [b.label for b in train_buttons(train_page)] == ["Train"]
    options = next(w for w in train_page.selectbox if w.key == "train_dataset").options
    assert any("downloads ~11 MB on first use" in o for o in options)  # MNIST, not cached here
    assert any(o == "Digits 8×8" for o in options)  # offline: no download note


def test_the_form_shows_what_applies_to_the_model_type(train_page):
    """β only for a VAE or CVAE; sparsity and denoising only for the autoencoders; nothing of the
    reconstruction's likelihood for a GAN. The few a student sets come before Train."""
    def labels(at):
        return {w.label for w in widgets(at)}

    assert "β (VAE)" in labels(train_page) and "Sparsity (L1 weight)" in labels(train_page)
    at = next(w for w in train_page.segmented_control if w.key == "train_kind").set_value("ae").run()
    assert "β (VAE)" not in labels(at) and "Denoising noise" in labels(at)
    at = next(w for w in at.segmented_control if w.key == "train_kind").set_value("gan").run()
    assert not {"β (VAE)", "Reconstruction loss", "Sparsity (L1 weight)",
                "Denoising noise"} & labels(at)
    assert {"Dataset", "Model type", "Code size", "Epochs", "Run name"} <= labels(at)
    assert not at.exception


def test_too_few_learning_steps_are_said_before_training(train_page):
    """5 epochs of a small set made 10 optimiser steps: grey blobs, and no warning."""
    epochs = next(w for w in train_page.number_input if w.key == "train_epochs")
    at = epochs.set_value(5).run()
    advice = [w.value for w in at.warning if "learning steps" in w.value]
    # the MNIST sample: 4,000 images, 32 batches of 128 an epoch: 160 steps; 16 epochs make 512
    assert advice and "Only 160 learning steps" in advice[0] and "**16 epochs**" in advice[0]
    at = next(w for w in at.number_input if w.key == "train_epochs").set_value(16).run()
    assert not [w for w in at.warning if "learning steps" in w.value]
    assert "train_job" not in at.session_state  # nothing started by either


@pytest.mark.slow
def test_training_digits_saves_a_run_and_lists_it(train_page, runs):
    at = submit(train_page, dataset="digits", epochs=2, latent=2)
    assert not at.exception and not at.error
    state = run_until_done(at)
    assert state.status == "finished", state.message
    assert not at.exception

    folder = runs / "digits-vae-mlp-z2"
    assert (folder / "card.json").is_file() and (folder / "model.safetensors").is_file()
    card = json.loads((folder / "card.json").read_text())
    assert len(card["history"]) == 2
    assert card["config"]["latent_dim"] == 2

    assert "Saved run 'digits-vae-mlp-z2'" in at.success[0].value
    # plain words first, the term second
    assert {m.label for m in at.metric} >= {"Total cost (−ELBO)", "Code's information (rate)",
                                            "Pixel error (MSE)"}
    assert len(at.image) >= 1  # the reconstruction strip
    # The picker lists the new run after the app rerun, under "Trained here" (no class here).
    at.sidebar.segmented_control(key="model_group").set_value("Trained here").run()
    picker = at.sidebar.selectbox(key="model")
    assert any("digits-vae-mlp-z2" in o for o in picker.options)
    at.button(key="open_trained").click().run()
    assert not at.exception
    assert at.session_state["model"] == "runs/digits-vae-mlp-z2"
    assert at.title[0].value == "Latent map"  # "Open it" shows the new model on the map


@pytest.mark.slow
def test_a_collapsed_result_says_so(train_page, runs):
    at = submit(train_page, dataset="digits", epochs=2, beta=200.0, name="collapsed")
    assert run_until_done(at).status == "finished"
    assert any("Posterior collapse" in w.value for w in at.warning), \
        [w.value for w in at.warning]  # β = 200 pushes every code onto the prior: KL ≈ 0


@pytest.mark.slow
def test_the_form_keeps_its_settings_after_another_page(train_page, runs):
    at = submit(train_page, dataset="digits", epochs=7, beta=3.0)
    at.switch_page("explorer/ui/pages/sample.py").run()
    at.switch_page("explorer/ui/pages/train.py").run()
    assert not at.exception
    assert at.selectbox(key="train_dataset").value == "digits"
    assert at.number_input(key="train_epochs").value == 7
    assert at.number_input(key="train_beta").value == 3.0


@pytest.mark.slow
def test_huge_learning_rate_reports_divergence(train_page, runs):
    at = submit(train_page, dataset="digits", epochs=2, lr=10.0)
    state = run_until_done(at)
    assert state.status == "diverged"
    assert not at.exception
    assert any("learning rate" in e.value for e in at.error)
    assert list(runs.iterdir()) == []  # nothing learned, nothing saved


def test_bad_hidden_sizes_give_a_sentence(train_page, runs):
    at = submit(train_page, dataset="digits", hidden="abc")
    assert not at.exception
    assert "Hidden sizes must be whole numbers" in at.error[0].value
    assert "train_job" not in at.session_state
    at = submit(at, hidden="5000")  # a number, but out of ModelConfig's range
    assert not at.exception
    assert "between 1 and 4096" in at.error[0].value


@pytest.mark.slow
def test_latent_size_out_of_range_is_prevented(train_page):
    at = submit(train_page, dataset="digits", epochs=1, latent=300)
    assert not at.exception
    latent = next(w for w in at.number_input if w.key == "train_latent")
    assert 2 <= latent.value <= 256
    if "train_job" in at.session_state:  # the widget fell back to a valid size and trained
        assert 2 <= at.session_state["train_job"].model_config().latent_dim <= 256
        run_until_done(at)


@pytest.mark.slow
def test_one_job_at_a_time_and_stop_keeps_what_was_learned(train_page, runs):
    at = submit(train_page, dataset="digits", epochs=500, name="long-run")
    assert not at.error
    at = submit(at)  # a second Train while the first runs
    assert any("already training" in w.value for w in at.warning)
    deadline = time.monotonic() + 60
    while not at.session_state["train_job"].snapshot().history:  # an epoch learned: kept
        assert time.monotonic() < deadline
        time.sleep(0.1)
    at.run()
    at.button(key="stop_training").click().run()
    state = run_until_done(at)
    assert state.status == "stopped"
    assert at.info[0].value.startswith("Stopped ") and "'long-run'" in at.info[0].value
    assert (runs / "long-run" / "card.json").is_file()

    at = submit(at, name="long run", epochs=1)  # the name is taken now
    assert "already exists" in at.error[0].value and "'long-run-2'" in at.error[0].value


@pytest.fixture
def worker_taken(monkeypatch):
    """An engine of one worker, held by another student's long job (stop it to free the
    worker): the next run pressed waits in line."""
    from explorer.jobs import Engine, JobSpec
    from explorer.jobs import engine as engine_module
    from explorer.training.loop import TrainConfig

    engine = Engine(workers=1)
    monkeypatch.setattr(engine_module, "_ENGINE", engine)
    cfg = ModelConfig(kind="ae", image_shape=(1, 8, 8), latent_dim=2, hidden=(16,))
    other = engine.submit(JobSpec.build(cfg, TrainConfig(epochs=2000, batch_size=8), "digits",
                                        "other"), owner="someone-else")
    try:
        while other.snapshot().status == "queued":
            time.sleep(0.01)
        yield other
    finally:
        engine.shutdown()


@pytest.mark.slow
def test_cancel_while_queued_leaves_nothing(train_page, runs, worker_taken):
    at = submit(train_page, dataset="digits", epochs=1, name="waiting")
    state = at.session_state["train_job"].snapshot()
    assert state.status == "queued" and state.position == 1
    shown = [p.proto.text for p in at.get("progress")]
    assert any(t.startswith("Queued: 1st in line, about ") for t in shown), shown
    assert at.button(key="stop_training").label == "Cancel"
    at.button(key="stop_training").click().run()
    state = run_until_done(at)
    assert state.status == "cancelled" and not (runs / "waiting").exists()
    assert "nothing was saved" in at.info[0].value


def test_a_run_far_back_in_line_looks_less_often():
    """Near the front of the line a waiting page looks for its place every QUEUED_EVERY_S; further
    back, every BACK_EVERY_S (thirty waiting pages each redrawing every 2 s kept a two-core
    classroom server's browsers busy); once it runs, its bar every second."""
    def period(status, position=0):
        return train_view._period(JobState(status=status, position=position))

    assert period("queued", 1) == period("queued", train_view.FRONT_PLACES) == 2.0
    assert period("queued", train_view.FRONT_PLACES + 1) == period("queued", 25) == 6.0
    assert period("running") == period("starting") == 1.0


@pytest.mark.slow
def test_a_waiting_run_shows_its_place_then_its_charts_once_it_starts(train_page, runs,
                                                                      worker_taken):
    """While a run waits in line its page shows the place and Cancel, and no charts (nothing to
    draw yet; each redraw costs the student's browser); once it starts, the progress, the loss
    curves and the test images appear."""
    at = submit(train_page, dataset="digits", epochs=300, batch=8, name="waiting")
    assert at.session_state["train_job"].snapshot().status == "queued"
    assert [p.proto.text for p in at.get("progress")][0].startswith("Queued: 1st in line")
    assert at.session_state["_polling_periods"]["train_progress"] == train_view.QUEUED_EVERY_S
    assert not at.get("plotly_chart") and not at.get("image")
    worker_taken.stop()
    job = at.session_state["train_job"]
    deadline = time.monotonic() + 30
    while not job.snapshot().history and time.monotonic() < deadline:
        time.sleep(0.1)
    at.run()
    shown = [p.proto.text for p in at.get("progress")]
    assert shown and shown[0].startswith("Epoch "), shown
    assert at.session_state["_polling_periods"]["train_progress"] == train_view.PROGRESS_EVERY_S
    assert at.get("plotly_chart")
    assert any("reconstructions after epoch" in c for i in at.get("image") for c in i.captions)
    assert at.button(key="stop_training").label == "Stop"
    at.button(key="stop_training").click().run()
    assert run_until_done(at).status == "stopped"


@pytest.mark.slow
def test_another_page_hears_when_the_run_ends_then_stops_looking(train_page, runs):
    """On another page the sidebar says the run trains, looking every few seconds; when it ends,
    a toast and a badge say so, and the sidebar stops looking."""
    at = submit(train_page, dataset="digits", epochs=300, batch=8, name="heard")
    job = at.session_state["train_job"]
    at.switch_page("explorer/ui/pages/sample.py").run()
    assert any("Training 'heard'" in c.value for c in at.sidebar.caption)
    assert at.session_state["_polling_periods"]["train_notice"] == 3.0
    deadline = time.monotonic() + 30  # stopped while its worker still started, it is cancelled
    while job.snapshot().status != "running" and time.monotonic() < deadline:
        time.sleep(0.1)
    job.stop()
    deadline = time.monotonic() + 30
    while job.snapshot().active and time.monotonic() < deadline:
        time.sleep(0.1)
    at.run()
    assert not at.exception
    assert any("Training 'heard' was stopped: see the Train page." in t.value for t in at.toast)
    assert at.session_state["_polling_periods"]["train_notice"] is None


@pytest.mark.slow
def test_a_run_name_like_a_path_stays_in_the_runs_folder(train_page, runs, tmp_path):
    before = {p for p in tmp_path.rglob("*") if runs not in p.parents and p != runs}
    at = submit(train_page, dataset="digits", epochs=1, name="../../outside/evil")
    # Told the folder's name before anything trains; pressing Train again agrees to it.
    assert any("runs/outside-evil" in w.value for w in at.warning)
    assert "train_job" not in at.session_state
    at = train_button(at).click().run()
    assert not at.exception and not at.error
    state = run_until_done(at)
    assert state.status == "finished", state.message
    assert [p.name for p in runs.iterdir()] == ["outside-evil"]
    assert (runs / "outside-evil" / "model.safetensors").is_file()
    after = {p for p in tmp_path.rglob("*") if runs not in p.parents and p != runs}
    assert after == before  # nothing written beside the runs folder
    assert not (tmp_path.parent / "outside").exists()  # where "../../" would have led
    assert "Saved run 'outside-evil'" in at.success[0].value  # the learner is told the folder


def test_a_model_the_disk_had_no_room_for_can_be_saved_again_or_downloaded(train_page, runs,
                                                                             monkeypatch):
    import errno

    from explorer.families.models import ModelConfig
    from explorer.jobs import JobState

    cfg = ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=2, hidden=(16,))
    weights, card = checkpoints.model_bytes(build_model(cfg, torch.Generator().manual_seed(0)),
                                            {"name": "kept", "dataset": {"name": "digits"}})
    message = "The model could not be saved to runs/kept: the server's disk is full."

    class Finished:  # the handle of a job whose worker could not save (see test_jobs.py)
        id, name, dataset_name = 7, "kept", "digits"

        def model_config(self):
            return cfg

        def snapshot(self):
            return JobState(status="finished", message=message, unsaved=(weights, card))

    def disk_full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    train_page.session_state["train_job"] = Finished()
    at = train_page.run()
    assert not at.exception
    assert at.error[0].value.startswith(message) and "kept in this tab" in at.error[0].value
    download = at.get("download_button")[0]
    assert download.proto.label == "Download the model (.zip)"
    real_write = checkpoints._fsync_write
    monkeypatch.setattr(checkpoints, "_fsync_write", disk_full)
    at = at.button(key="train_retry").click().run()
    assert "disk is full" in at.error[0].value and "kept in this tab" in at.error[0].value
    assert not (runs / "kept").exists()
    monkeypatch.setattr(checkpoints, "_fsync_write", real_write)
    at = at.button(key="train_retry").click().run()
    assert not at.exception and not at.error
    assert "Saved run 'kept'" in at.success[0].value
    assert checkpoints.load_model(runs / "kept")[1]["content_hash"] == card["content_hash"]


def _train_page():
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["model"] = "pretrained/digits-vae-mlp-z2"  # a light first page: 8x8 digits
    at.run()
    at.switch_page("explorer/ui/pages/train.py").run()
    assert not at.exception and at.title[0].value == "Train a model"
    return at


@pytest.mark.slow
def test_two_sessions_training_at_once_keep_their_own_jobs(runs, tmp_path, monkeypatch):
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.setenv("EXPLORER_CACHE_DIR", str(tmp_path / "cache"))
    alice, bob = _train_page(), _train_page()
    alice = submit(alice, dataset="digits", kind="ae", latent=3, hidden="32", epochs=1, seed=1,
                    batch=256, name="alice's AE")
    bob = submit(bob, dataset="digits", kind="vae", latent=2, hidden="16", epochs=2, seed=2,
                  batch=128, name="bob/../vae")
    # Both names must change to be folder names: each student is told the folder's name first,
    # and a second press agrees to it.
    for at in (alice, bob):
        assert any("will be saved as" in w.value for w in at.warning), at.warning
    alice, bob = (train_button(at).click().run() for at in (alice, bob))
    assert not alice.error and not bob.error, [e.value for e in [*alice.error, *bob.error]]
    sessions = {"alice": alice, "bob": bob}
    jobs = {who: at.session_state["train_job"] for who, at in sessions.items()}
    deadline, redrawn = time.monotonic() + 60, 0.0
    while any(job.snapshot().active for job in jobs.values()):
        assert time.monotonic() < deadline, "the two trainings did not end within 60 s"
        if time.monotonic() - redrawn > 2:  # now and then, redraw both live views mid-training
            for at in sessions.values():
                at.run()
                assert not at.exception
            redrawn = time.monotonic()
        time.sleep(0.1)
    for at in sessions.values():
        at.run()
        assert not at.exception

    expected = {"alice": ("alice-s-AE", "ae", 3, 1, 1), "bob": ("bob-.-vae", "vae", 2, 2, 2)}
    for who, (name, kind, latent, epochs, seed) in expected.items():
        at = sessions[who]
        job = at.session_state["train_job"]
        state = job.snapshot()
        assert state.status == "finished", state.message
        assert job.name == name and state.epochs == epochs and len(state.history) == epochs
        assert Path(state.saved_path) == runs / name
        assert any(f"Saved run '{name}'" in s.value for s in at.success)
        card = json.loads((runs / name / CARD).read_text())
        assert (card["config"]["kind"], card["config"]["latent_dim"]) == (kind, latent)
        assert (card["train"]["epochs"], card["seed"], len(card["history"])) == (epochs, seed,
                                                                                   epochs)
    assert sorted(p.name for p in runs.iterdir()) == ["alice-s-AE", "bob-.-vae"]
    assert alice.session_state["train_job"] is not bob.session_state["train_job"]


@pytest.mark.slow
def test_in_presenter_mode_a_live_run_takes_the_page(runs, tmp_path, monkeypatch):
    """On a projector the form is a column taller than the screen: while a run is live it gives
    way to the run (its progress and Stop right under the title, where the teacher looks), and
    comes back when the run ends. The same settings trained again get the next free name."""
    monkeypatch.setenv("EXPLORER_DATA_DIR", str(tmp_path / "no-data"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.query_params["present"] = "true"
    at.run()
    at.switch_page(PAGE).run()
    assert train_buttons(at), "the form, before any run"
    at = submit(at, dataset="digits", epochs=500)
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert not train_buttons(at), "the form stays while the run is live"
    assert at.get("progress") and at.button(key="stop_training")
    deadline = time.monotonic() + 60
    while not at.session_state["train_job"].snapshot().history:  # an epoch learned: kept
        assert time.monotonic() < deadline
        time.sleep(0.1)
    at.button(key="stop_training").click().run()
    assert run_until_done(at).status == "stopped"
    assert [b.label for b in train_buttons(at)] == ["Train"]  # back for the next run
    assert at.selectbox(key="train_dataset").value == "digits"  # with its settings
    at = submit(at, epochs=1)
    assert not at.error, [e.value for e in at.error]
    assert run_until_done(at).status == "finished"
    assert sorted(p.name for p in runs.iterdir()) == ["digits-vae-mlp-z2", "digits-vae-mlp-z2-2"]


def test_latent_diffusion_is_offered_when_a_base_run_of_the_dataset_exists(train_page):
    """A prior over an AE's or VAE's codes is a Model type where such a run of the chosen dataset
    exists (shipped or the student's own); its form names the base run and which codes."""
    def kinds(at):
        return next(w for w in at.segmented_control if w.key == "train_kind").options

    at = train_page.selectbox(key="train_dataset").set_value("noise").run()
    assert "Latent diffusion" not in kinds(at)  # no AE or VAE of pure noise to build on
    at = at.selectbox(key="train_dataset").set_value("digits").run()
    assert "Latent diffusion" in kinds(at)
    at = next(w for w in at.segmented_control if w.key == "train_kind") \
        .set_value("latent-diffusion").run()
    assert not at.exception
    base = at.selectbox(key="train_base")
    assert set(base.options) == {"pretrained/digits-ae-mlp-z2", "pretrained/digits-vae-mlp-z2"}
    labels = {w.label for w in [*widgets(at), *at.radio]}
    assert {"Base run", "Codes to learn from", "Epochs", "Run name"} <= labels
    assert not {"Code size", "β (VAE)", "Reconstruction loss", "Layer sizes"} & labels
    at = at.selectbox(key="train_base").set_value("pretrained/digits-ae-mlp-z2").run()
    assert at.radio(key="train_codes").disabled  # an AE has no posterior to draw codes from
    at = at.selectbox(key="train_dataset").set_value("noise").run()  # no base: back to a VAE
    assert not at.exception and at.segmented_control(key="train_kind").value == "vae"


@pytest.mark.slow  # a worker process trains it
def test_the_train_form_trains_a_prior_over_a_base_run(train_page, runs):
    at = train_page.selectbox(key="train_dataset").set_value("digits").run()
    at = at.segmented_control(key="train_kind").set_value("latent-diffusion").run()
    at = at.number_input(key="train_prior_epochs").set_value(2).run()
    at.text_input(key="train_name").set_value("my-prior")
    at = train_button(at).click().run()
    assert not at.exception and not at.error
    job = at.session_state["ld_job"]
    deadline = time.monotonic() + 60
    while job.snapshot().active and time.monotonic() < deadline:
        time.sleep(0.2)
    assert job.snapshot().status == "finished", job.snapshot().message
    card = json.loads((runs / "my-prior" / "diffusion.json").read_text())
    assert card["base"]["label"] == "pretrained/digits-vae-mlp-z2" and len(card["history"]) == 2
