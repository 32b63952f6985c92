"""The job engine on a real Ray cluster: a local head on 127.0.0.1 with token authentication on
(as README's "Serving a department" sets it up), a real training job through it, its events, its
Stop and its saved run; a client without the token is refused; a head that never answers costs
at most the join timeout. Ray is an optional extra (requirements-ray.txt); CI installs it, so
there this test runs rather than skips."""

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from explorer.families.models import ModelConfig
from explorer.jobs import Engine, JobSpec, get_engine
from explorer.runs.checkpoints import load_model
from explorer.training.loop import TrainConfig

# Ray swaps a loopback address for this machine's network address; keep every connection of
# this test on 127.0.0.1 (Ray's single-machine mode, also used on macOS).
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
# The head and this test (the web server's side) share a token, set before Ray is imported;
# nothing else has it.
TOKEN = secrets.token_hex(16)
os.environ.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=TOKEN)

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
        while not long.snapshot().history and time.time() < end:  # one epoch learned
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


# Run by a student's machine: join the head without the token, then run code as the server.
INTRUDER = """
import os, sys, ray
try:
    ray.init(address=sys.argv[1], log_to_driver=False)
    print("RAN", ray.get(ray.remote(lambda: os.getuid()).remote(), timeout=30))
except Exception as e:
    print("REFUSED", type(e).__name__)
"""


@pytest.mark.parametrize("mode", ["disabled", "wrong-token"])
def test_a_client_without_the_token_cannot_run_code_on_the_cluster(ray_head, tmp_path, mode):
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_AUTH")}
    env.update(HOME=str(tmp_path), RAY_USAGE_STATS_ENABLED="0",  # no ~/.ray/auth_token
               RAY_AUTH_MODE="disabled" if mode == "disabled" else "token")
    if mode == "wrong-token":
        env["RAY_AUTH_TOKEN"] = secrets.token_hex(16)
    try:
        out = subprocess.run([sys.executable, "-c", INTRUDER, ray_head], env=env, text=True,
                             capture_output=True, timeout=90, start_new_session=True).stdout
    except subprocess.TimeoutExpired:
        out = "REFUSED (it never got an answer)"
    assert "RAN" not in out and "REFUSED" in out, out


NEVER_ANSWERS = """
import socket, time
from explorer.jobs import get_engine
silent = socket.socket()
silent.bind(("127.0.0.1", 0))
silent.listen(16)  # the kernel completes the handshake; nothing ever answers
import os
os.environ["EXPLORER_RAY_ADDRESS"] = "127.0.0.1:%d" % silent.getsockname()[1]
started = time.time()
engine = get_engine()
print(round(time.time() - started, 1), engine.backend.name, "|", engine.notice, flush=True)
os._exit(0)  # the join it gave up on still hangs in a thread of its own
"""


def test_a_head_that_never_answers_costs_at_most_the_join_timeout(runs):
    out = subprocess.run([sys.executable, "-c", NEVER_ANSWERS], text=True, capture_output=True,
                         timeout=120, cwd=Path(__file__).resolve().parents[2],
                         start_new_session=True).stdout
    seconds, backend, _, notice = out.split(" ", 3)
    assert backend == "local" and float(seconds) < 20  # 10 s to join, the local engine's start
    assert "did not answer within 10 s" in notice and "own workers" in notice
