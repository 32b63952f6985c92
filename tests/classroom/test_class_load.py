"""Forty students press Train at once (each twice, from two tabs), then some close their tabs:
the caps hold, every queued job's place and wait stay consistent, the server's memory stays
bounded, and nothing untrained is saved."""

import json
import resource
import threading
import time

import pytest

from explorer.errors import ConfigError
from explorer.families.models import ModelConfig
from explorer.jobs import Engine, JobSpec
from explorer.jobs.limits import Limits
from explorer.training.loop import TrainConfig

pytestmark = pytest.mark.slow
CFG = ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=2, hidden=(16,))
STUDENTS, CLASS_CAP = 40, 16
SERVER_GROWTH_CAP_MB = 300  # what the web server's process may grow by while the class trains


def test_forty_students_at_once(runs):
    engine = Engine(workers=2, runs=runs, release_grace=0.0,
                    limits=Limits(per_owner=1, total=CLASS_CAP, max_job_images=1437 * 3))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    accepted, refused, lock = [], [], threading.Lock()
    go = threading.Barrier(STUDENTS)

    def student(k: int) -> None:
        go.wait()  # all at once
        for _tab in range(2):  # two tabs of one student
            epochs = 500 if k % 5 == 0 else 3  # some ask for far more than the class allows
            spec = JobSpec.build(CFG, TrainConfig(epochs=epochs, batch_size=64, seed=k), "digits",
                                 "run", n_train=1437)
            try:
                job = engine.submit(spec, owner=f"student-{k}")
                with lock:
                    accepted.append(job)
            except ConfigError as e:
                with lock:
                    refused.append(str(e))

    try:
        threads = [threading.Thread(target=student, args=(k,)) for k in range(STUDENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # The caps held: at most CLASS_CAP jobs, one per student, none too long.
        assert len(accepted) == CLASS_CAP
        assert len({j.owner for j in accepted}) == CLASS_CAP
        assert all(j.spec.images <= 1437 * 3 for j in accepted)
        assert any("longer than your teacher allows" in r for r in refused)
        assert any("already have a model training or queued" in r for r in refused)
        assert any("The class's queue is full" in r for r in refused)
        assert len({j.name for j in accepted}) == CLASS_CAP  # names reserved, all different

        # Places and waits: 1, 2, 3 ... in order, each wait at least the one before.
        with engine._lock:
            queued = [j._state.copy() for j in engine._queue]
        assert [s.position for s in queued] == list(range(1, len(queued) + 1))
        assert all(a.wait <= b.wait for a, b in zip(queued, queued[1:], strict=False))

        # Half the class closes its tabs: queued jobs are cancelled, a job that just started
        # is stopped, and nothing it did not finish an epoch of is saved.
        for job in accepted[::2]:
            engine.release_owner(job.owner)
        end = time.time() + 600
        while any(j.snapshot().active for j in accepted) and time.time() < end:
            time.sleep(0.2)
        states = [j.snapshot() for j in accepted]
        assert not any(s.active for s in states), "still training after 10 minutes"
        assert all(s.status in ("finished", "cancelled", "stopped") for s in states), \
            [s.message for s in states]
        assert all(s.status == "finished" for s in states[1::2])  # those who stayed
        for card in runs.glob("*/card.json"):
            assert json.loads(card.read_text())["train"]["epochs_done"] >= 1, card
        assert not list(runs.glob(".*.reserved"))  # every reservation released
        grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - before
        assert grown < SERVER_GROWTH_CAP_MB, f"the server grew by {grown:.0f} MB"
    finally:
        engine.shutdown()
