"""Jobs on a Ray cluster: the same job contract when one machine is not enough.

Each job runs in its own Ray actor (one CPU, or a GPU share with $EXPLORER_RAY_GPUS_PER_JOB),
which buffers the job's events; the engine's scheduler thread collects them every poll and stops
a job through the actor. The run folder is the path the web server reserved, so the cluster's
nodes and the web servers must see the same runs folder (a shared filesystem) and the app's code
at the same path. Ray is an optional extra (requirements-ray.txt): only this module imports it,
and only when $EXPLORER_RAY_ADDRESS is set.
"""

from __future__ import annotations

import os
import socket
import threading
import time

from explorer.paths import ROOT

# Token authentication unless the department says otherwise; Ray reads this when it is imported.
os.environ.setdefault("RAY_AUTH_MODE", "token")

import ray  # noqa: E402
import torch  # noqa: E402

from explorer.jobs.spec import JobSpec
from explorer.jobs.worker import run_job

CONNECT_TIMEOUT_S = 3.0  # to open the head's port
JOIN_TIMEOUT_S = 10.0  # to join the cluster: a port that accepts and never answers must not hang


class RayUnavailable(Exception):
    """Ray was asked for but cannot be used; the message says so in one sentence."""


@ray.remote(max_concurrency=4)  # run() trains while poll() and stop() are answered
class JobActor:
    def __init__(self) -> None:
        self._events: list = []
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def run(self, spec: JobSpec) -> None:
        torch.set_num_threads(1)
        run_job(spec, self._emit, self._stop.is_set)

    def _emit(self, kind: str, payload: dict) -> None:
        with self._lock:
            self._events.append((kind, payload))

    def poll(self) -> list:
        with self._lock:
            events, self._events = self._events, []
        return events

    def stop(self) -> None:
        self._stop.set()


class _RayRun:
    def __init__(self, actor, ref) -> None:
        self.actor, self.ref = actor, ref
        self._error: BaseException | None = None

    def poll(self) -> list:
        return ray.get(self.actor.poll.remote(), timeout=30)

    def stop(self) -> None:
        self.actor.stop.remote()

    def ended(self) -> bool:
        """True only when the actor died: a job that ends normally reports "done" first."""
        ready, _ = ray.wait([self.ref], timeout=0)
        if not ready:
            return False
        try:
            ray.get(self.ref)
            return False
        except Exception as e:  # noqa: BLE001 - any failure of the remote call ends the job
            self._error = e
            return True

    def why_ended(self) -> str:
        return (f"The worker on the Ray cluster was lost ({type(self._error).__name__}); "
                "nothing was saved. Try again.")

    def kill(self) -> None:
        ray.kill(self.actor, no_restart=True)

    close = kill


class RayBackend:
    name = "ray"

    def start(self, spec: JobSpec) -> _RayRun:
        gpus = float(os.environ.get("EXPLORER_RAY_GPUS_PER_JOB", "0") or 0)
        actor = JobActor.options(num_cpus=1, num_gpus=gpus).remote()
        return _RayRun(actor, actor.run.remote(spec))

    def wait(self, runs: list, timeout: float) -> None:
        time.sleep(timeout)


def _reachable(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), CONNECT_TIMEOUT_S):
            return True
    except (OSError, ValueError):
        return False


def connect(address: str, timeout: float = JOIN_TIMEOUT_S) -> tuple[RayBackend, int]:
    """Join the Ray cluster at `address` ("host:port" of its head, or "auto"): the backend and
    how many jobs to run at once ($EXPLORER_WORKERS, else the cluster's CPUs).

    Token authentication is on unless $RAY_AUTH_MODE says otherwise: the cluster's token comes
    from $RAY_AUTH_TOKEN, $RAY_AUTH_TOKEN_PATH or ~/.ray/auth_token (Ray's own token mode, see
    README, "Serving a department"). Joining gives up after `timeout` seconds."""
    fallback = "training runs on this server's own workers instead"
    if address != "auto" and not _reachable(address):
        raise RayUnavailable(f"The Ray cluster at {address} could not be reached; {fallback}.")
    env = {k: v for k, v in os.environ.items() if k.startswith("EXPLORER_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    outcome: dict = {}

    def join() -> None:
        try:
            ray.init(address=address, namespace="latent-explorer", log_to_driver=False,
                     runtime_env={"env_vars": env}, ignore_reinit_error=True)
            outcome["cpus"] = int(ray.cluster_resources().get("CPU", 1))
        except BaseException as e:  # noqa: BLE001 - any failure to join means: use local workers
            outcome["error"] = e

    # ray.init has no timeout of its own for a head that accepts and never answers: it runs in
    # a thread of its own, left behind (a daemon) if it does not finish in time.
    joining = threading.Thread(target=join, name="ray-join", daemon=True)
    joining.start()
    joining.join(timeout)
    if joining.is_alive():
        raise RayUnavailable(f"The Ray cluster at {address} did not answer within "
                             f"{timeout:.0f} s; {fallback}.")
    if "error" in outcome:
        e = outcome["error"]
        raise RayUnavailable(
            f"The Ray cluster at {address} could not be joined ({type(e).__name__}); "
            f"{fallback}.") from e
    cpus = outcome["cpus"]
    try:
        workers = max(1, int(os.environ["EXPLORER_WORKERS"]))
    except (KeyError, ValueError):
        workers = max(1, cpus)
    return RayBackend(), workers
