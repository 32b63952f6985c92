"""Runs of a class record how they ended, from the job engine's own events: finished, stopped by
the student (k of N), stopped because the tab closed (k of N), cancelled; and a database that
cannot be written holds the rows back until it can, while training goes on."""

import time

import pytest

from explorer.classroom import ClassStore
from explorer.classroom.recorder import Recorder
from explorer.families.models import ModelConfig
from explorer.jobs import Engine, JobSpec
from explorer.training.loop import TrainConfig

CFG = ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=2, hidden=(32,))


def spec(name, epochs=2, batch_size=64):
    return JobSpec.build(CFG, TrainConfig(epochs=epochs, batch_size=batch_size, seed=0),
                         "digits", name, n_train=1437)


def wait_until(check, timeout=180):
    end = time.time() + timeout
    while time.time() < end:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.fixture
def setup(runs):
    store = ClassStore(f"sqlite:///{runs / 'classroom.sqlite3'}", runs=runs)
    engine = Engine(workers=1, runs=runs, release_grace=0.0)
    recorder = Recorder(store)
    recorder.attach(engine)
    klass = store.open_class("Week 3")
    yield store, engine, recorder, klass
    engine.shutdown()


@pytest.mark.slow  # real training jobs in worker processes
def test_each_run_records_its_student_settings_and_how_it_ended(setup, runs):
    store, engine, recorder, klass = setup
    ada, _ = store.join(klass.code, "Ada")
    bob, _ = store.join(klass.code, "Bob")
    cy, _ = store.join(klass.code, "Cy")
    done = engine.submit(spec("ada-run"), owner="tab-ada")
    finished = recorder.track(done, klass.id, ada.id)
    wait_until(lambda: not done.snapshot().active)
    long = engine.submit(spec("bob-run", epochs=300, batch_size=8), owner="tab-bob")
    stopped = recorder.track(long, klass.id, bob.id)
    wait_until(lambda: len(long.snapshot().history) >= 1)
    long.stop()
    wait_until(lambda: not long.snapshot().active)
    closing = engine.submit(spec("cy-run", epochs=300, batch_size=8), owner="tab-cy")
    closed = recorder.track(closing, klass.id, cy.id)
    wait_until(lambda: len(closing.snapshot().history) >= 1)
    engine.release_owner("tab-cy")  # the tab closed
    wait_until(lambda: not closing.snapshot().active)
    assert recorder.flush()

    a, b, c = store.run(finished), store.run(stopped), store.run(closed)
    assert (a.student, a.status, a.epoch, a.epochs) == ("Ada", "finished", 2, 2)
    assert a.settings["train"]["epochs"] == 2 and a.dataset == "digits" and a.kind == "vae"
    assert a.saved_path == str(runs / "ada-run") and "neg_elbo" in a.metrics
    assert len(a.history) == 2 and a.ended is not None
    assert b.status == "stopped" and 1 <= b.epoch < 300 and b.partial
    assert b.ending() == f"stopped by the student after {b.epoch} of 300 epochs"
    assert c.status == "tab_closed" and c.partial
    assert c.ending() == f"stopped because the tab closed, after {c.epoch} of 300 epochs"


@pytest.mark.slow  # real training jobs in worker processes
def test_a_database_that_cannot_be_written_catches_up_when_it_returns(setup, monkeypatch):
    store, engine, recorder, klass = setup
    ada, _ = store.join(klass.code, "Ada")
    real_update = store.update_run
    broken = {"on": True}

    def update(*args, **kwargs):
        if broken["on"]:
            raise OSError("database is locked")
        return real_update(*args, **kwargs)

    monkeypatch.setattr(store, "update_run", update)
    job = engine.submit(spec("ada-run"), owner="tab-ada")
    record = recorder.track(job, klass.id, ada.id)
    wait_until(lambda: not job.snapshot().active)
    assert job.snapshot().status == "finished"  # training went on
    wait_until(lambda: recorder.trouble != "")
    assert "training goes on" in recorder.trouble
    assert store.run(record).status == "queued"
    broken["on"] = False
    assert recorder.flush(timeout=30)
    assert store.run(record).status == "finished" and recorder.trouble == ""


@pytest.mark.slow  # real training jobs in worker processes
def test_a_class_deleted_while_its_runs_train_stops_them_tells_why_and_keeps_nothing(setup, runs):
    """From the Teacher page the jobs stop at once; from the command line (another process) the
    server's recorder stops them at their next epoch. Either way the student is told why and the
    folder the stopped run saved is removed."""
    from explorer.classroom.deletion import STOPPED, delete_class

    store, engine, recorder, klass = setup
    ada, _ = store.join(klass.code, "Ada")
    job = engine.submit(spec("ada-long", epochs=300, batch_size=8), owner="tab-ada")
    recorder.track(job, klass.id, ada.id)
    wait_until(lambda: len(job.snapshot().history) >= 1)
    gone = delete_class(store, klass.id)  # as the CLI does: nothing tells the server directly
    assert len(gone.active) == 1
    wait_until(lambda: not job.snapshot().active)
    assert recorder.flush(timeout=30)
    assert job.snapshot().status == "stopped" and job.notice == STOPPED
    assert not (runs / "ada-long").exists()

    other = store.open_class("Week 4")
    bob, _ = store.join(other.code, "Bob")
    job = engine.submit(spec("bob-long", epochs=300, batch_size=8), owner="tab-bob")
    recorder.track(job, other.id, bob.id)
    wait_until(lambda: job.snapshot().status == "running")
    recorder.stop_deleted(delete_class(store, other.id).active)  # as the Teacher page does
    wait_until(lambda: not job.snapshot().active)
    assert recorder.flush(timeout=30) and job.notice == STOPPED
    assert not (runs / "bob-long").exists()
