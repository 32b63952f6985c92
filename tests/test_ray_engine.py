"""The job engine on a real Ray cluster: a local head on 127.0.0.1, a real training job through
it, its events, its Stop and its saved run. Ray is an optional extra (requirements-ray.txt);
CI installs it, so there this test runs rather than skips."""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from explorer.checkpoints import load_model
from explorer.jobs import Engine, JobSpec, get_engine
from explorer.models import ModelConfig
from explorer.training import TrainConfig

# Ray swaps a loopback address for this machine's network address; keep every connection of
# this test on 127.0.0.1 (Ray's single-machine mode, also used on macOS).
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

if os.environ.get("CI"):
    import ray  # noqa: F401 - in CI a missing Ray is a failure, not a skip
else:
    pytest.importorskip("ray")

pytestmark = pytest.mark.slow
RAY = str(Path(sys.executable).with_name("ray"))
CFG = ModelConfig(kind="vae", image_shape=(1, 8, 8), latent_dim=2, hidden=(32,))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ray_head(tmp_path_factory):
    port = free_port()
    temp = tmp_path_factory.mktemp("ray")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    subprocess.run([RAY, "start", "--head", "--port", str(port), "--num-cpus", "2",
                    "--include-dashboard", "false", "--node-ip-address", "127.0.0.1",
                    "--temp-dir", str(temp), "--disable-usage-stats"],
                   check=True, env=env, capture_output=True, timeout=120,
                   start_new_session=True)  # `ray stop` must not reach this test's own group
    try:
        yield f"127.0.0.1:{port}"
    finally:
        import ray

        ray.shutdown()
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True, timeout=60,
                       start_new_session=True)
        shutil.rmtree(temp, ignore_errors=True)


def wait(job, timeout=240):
    end = time.time() + timeout
    while job.snapshot().active and time.time() < end:
        time.sleep(0.1)
    return job.snapshot()


def test_a_job_runs_streams_events_stops_and_saves_on_ray(ray_head, runs):
    from explorer.jobs.ray_backend import connect

    backend, workers = connect(ray_head)
    assert workers == 2  # the head's CPUs
    engine = Engine(backend, workers=workers, runs=runs)
    try:
        job = engine.submit(JobSpec.build(CFG, TrainConfig(epochs=3, batch_size=64), "digits",
                                          "on-ray", n_train=1437))
        state = wait(job)
        assert state.status == "finished", state.message
        assert len(state.history) == 3 and state.steps and len(state.previews) == 3
        model, card = load_model(runs / "on-ray")
        assert card["train"]["epochs_done"] == 3

        long = engine.submit(JobSpec.build(CFG, TrainConfig(epochs=500, batch_size=8),
                                           "digits", "stopped-on-ray", n_train=1437))
        end = time.time() + 120
        while long.snapshot().step < 20 and time.time() < end:
            time.sleep(0.1)
        long.stop()
        state = wait(long)
        assert state.status == "stopped"
        model, card = load_model(runs / "stopped-on-ray")
        assert card["train"]["status"] == "stopped" and card["train"]["epochs_done"] < 500
    finally:
        engine.shutdown()


def test_an_unreachable_head_falls_back_to_local_workers_with_a_sentence(monkeypatch):
    import explorer.jobs.engine as engine_module

    monkeypatch.setenv("EXPLORER_RAY_ADDRESS", f"127.0.0.1:{free_port()}")
    monkeypatch.setattr(engine_module, "_ENGINE", None)
    started = time.time()
    engine = get_engine()
    try:
        assert time.time() - started < 10
        assert engine.backend.name == "local"
        assert "could not be reached" in engine.notice and "own workers" in engine.notice
    finally:
        engine.shutdown()
        monkeypatch.setattr(engine_module, "_ENGINE", None)
