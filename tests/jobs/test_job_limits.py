"""One student must never take down the class: the engine's caps per owner and in total, the
longest job, O(1) name reservation, untrained runs never saved, quotas checked when a model is
saved, and reservations of a killed server freed at once."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from explorer.errors import ConfigError
from explorer.families.models import ModelConfig
from explorer.jobs import Engine, JobSpec
from explorer.jobs.limits import Limits
from explorer.jobs.worker import run_job
from explorer.runs import store
from explorer.training.loop import TrainConfig

ROOT = Path(__file__).resolve().parents[2]
CFG = ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=2, hidden=(32,))


def spec(name="run", epochs=2, batch_size=64, n_train=1437, room=None):
    s = JobSpec.build(CFG, TrainConfig(epochs=epochs, batch_size=batch_size), "digits", name,
                      n_train=n_train)
    return s if room is None else __import__("dataclasses").replace(s, room_bytes=room)


class NeverEnds:
    """A backend whose one worker trains forever: the first job runs, the rest stay queued, so
    the caps are seen without waiting for training."""

    name = "forever"

    def start(self, spec):
        return self

    def wait(self, runs, timeout):
        time.sleep(timeout)

    def poll(self):
        return []

    def ended(self):
        return False

    def stop(self):
        pass

    kill = close = stop


@pytest.fixture
def queue_only(runs):
    engine = Engine(NeverEnds(), workers=1, runs=runs,
                    limits=Limits(per_owner=2, total=5, max_job_images=100_000))
    yield engine
    engine.shutdown()


def test_caps_per_student_and_in_total_each_refused_with_a_sentence(queue_only):
    queue_only.submit(spec("a"), owner="student-1")
    queue_only.submit(spec("b"), owner="student-1")  # a second tab of the same student
    with pytest.raises(ConfigError, match="already have 2 models training or queued, the most"):
        queue_only.submit(spec("c"), owner="student-1")
    for k in range(3):
        queue_only.submit(spec(f"d{k}"), owner=f"student-{k + 2}")
    with pytest.raises(ConfigError, match=r"The class's queue is full \(5 models"):
        queue_only.submit(spec("e"), owner="student-9")
    while not queue_only._running:  # the scheduler takes the first job to the worker
        time.sleep(0.01)
    states = [j.snapshot() for j in [*queue_only._running, *queue_only._queue]]
    assert [s.position for s in states] == [0, 1, 2, 3, 4]  # places stay true


def test_a_student_in_a_class_is_counted_over_all_their_tabs(queue_only):
    queue_only.submit(spec(), owner="tab-1", student="student:7")
    queue_only.submit(spec(), owner="tab-2", student="student:7")
    with pytest.raises(ConfigError, match="already have"):  # a third tab gives no third job
        queue_only.submit(spec(), owner="tab-3", student="student:7")
    queue_only.submit(spec(), owner="tab-4", student="student:8")  # another student may
    queue_only.release_owner("tab-1")  # closing one tab stops that tab's job only
    assert [j.owner for j in queue_only._active() if j.account == "student:7"][-1] == "tab-2"


def test_the_longest_job_a_student_may_queue(queue_only):
    with pytest.raises(ConfigError, match=r"70 epochs of 1,437 images is longer than your "
                                          r"teacher allows \(100,000 images in all\): choose "
                                          "at most 69 epochs"):
        queue_only.submit(spec("long", epochs=70), owner="student-1")
    queue_only.submit(spec("short", epochs=69), owner="student-1")


def test_limits_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("EXPLORER_JOBS_PER_STUDENT", "3")
    monkeypatch.setenv("EXPLORER_MAX_JOBS", "40")
    monkeypatch.setenv("EXPLORER_MAX_JOB_IMAGES", "5000")
    monkeypatch.setenv("EXPLORER_STUDENT_QUOTA_MB", "2")
    assert Limits.from_env() == Limits(3, 40, 5000, 2 * 2**20)
    monkeypatch.setenv("EXPLORER_MAX_JOBS", "lots")
    assert Limits.from_env().total == Limits.total


def test_reserving_a_name_is_constant_work_however_many_share_it(runs, monkeypatch):
    probes = []
    real = store._claim
    monkeypatch.setattr(store, "_claim", lambda root, name: probes.append(name) or real(root, name))
    names = [store.reserve_run_name("run", runs) for _ in range(1500)]
    assert len(set(names)) == 1500 and names[:3] == ["run", "run-2", "run-3"]
    probes.clear()
    assert store.reserve_run_name("run", runs) == "run-1501"
    assert len(probes) == 2  # "run" (taken), then the next suffix: not 1,501 probes
    store.release_run_name(runs / "run")
    assert store.reserve_run_name("run", runs) == "run"  # a freed plain name is found again


def test_a_job_stopped_before_its_first_epoch_saves_nothing(runs):
    events = []
    run_job(spec(str(runs / "never"), epochs=500), lambda k, p: events.append((k, p)),
            lambda: True)  # stopped at once, as a closed tab's job that just started
    kind, done = events[-1]
    assert (kind, done["status"], done["saved_path"]) == ("done", "stopped", None)
    assert done["message"] == "Stopped before it finished an epoch; nothing was saved."
    assert not (runs / "never").exists()
    assert all(e.source != "run" for e in store.list_models(runs=runs)[0])


def test_a_students_quota_is_checked_again_when_the_model_is_saved(runs):
    events = []
    run_job(spec(str(runs / "over"), room=1000), lambda k, p: events.append((k, p)),
            lambda: False)
    done = events[-1][1]
    assert done["saved_path"] is None and done["unsaved"] is not None  # kept to download
    assert "left of your own quota, so it was not saved; download it below" in done["message"]
    assert not (runs / "over").exists()


def test_the_class_quota_is_checked_again_when_the_model_is_saved(runs, monkeypatch):
    (runs / "big.bin").write_bytes(bytes(200_000))  # what others saved meanwhile
    monkeypatch.setenv("EXPLORER_RUNS_QUOTA_MB", "0.2")
    events = []
    run_job(spec(str(runs / "late")), lambda k, p: events.append((k, p)), lambda: False)
    done = events[-1][1]
    assert done["saved_path"] is None and "ask your teacher to remove old runs" in done["message"]
    assert "delete" not in done["message"]


def test_an_owner_over_its_quota_is_refused_at_submit(runs):
    engine = Engine(NeverEnds(), workers=1, runs=runs,
                    limits=Limits(owner_quota_bytes=1000), usage=lambda owner: 5000)
    try:
        with pytest.raises(ConfigError, match="all of the 0 MB each student may keep"):
            engine.submit(spec("x"), owner="student-1")
    finally:
        engine.shutdown()


@pytest.mark.slow  # a server process killed
def test_the_reservation_of_a_killed_server_is_freed_at_start_up(runs):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    marker = runs / ".lost.reserved"
    marker.write_text(f"{__import__('socket').gethostname()} {dead.stdout.strip()}")
    alive = store.reserve_run_name("kept", runs)  # this process's: never freed by the clean-up
    assert store.is_taken("lost", runs)
    assert store.clean_stale_temps(runs) == [".lost.reserved"]  # young, but its owner is gone
    assert not store.is_taken("lost", runs) and store.is_taken(alive, runs)


@pytest.mark.slow  # a server process killed
def test_after_a_restart_the_train_page_says_that_jobs_were_lost(runs):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    (runs / ".mine.reserved").write_text(f"{__import__('socket').gethostname()} "
                                         f"{dead.stdout.strip()}")
    st.cache_resource.clear()  # a fresh server: its start-up clean-up runs again
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.run()
    at.switch_page("explorer/ui/pages/train.py").run()
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any("1 training job(s) were running or queued; they were lost" in w
               for w in warnings), warnings
    assert not store.is_taken("mine", runs)
