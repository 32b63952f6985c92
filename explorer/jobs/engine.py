"""The job engine: a bounded queue in the web server, workers outside it.

The server never trains. :meth:`Engine.submit` reserves the run's folder name and queues a
:class:`JobSpec`; one scheduler thread starts at most ``workers`` jobs at a time on a backend
(local worker processes by default, :mod:`explorer.jobs.local_backend`; a Ray cluster when
configured, :mod:`explorer.jobs.ray_backend`), folds their events into each
job's :class:`JobState`, and notices a worker that died. Pages hold a :class:`Job` handle and
read :meth:`Job.snapshot`; Stop, a cancelled place in the queue and a closed browser tab all go
through :meth:`Job.stop`.
"""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from explorer.jobs.limits import Limits
from explorer.jobs.local_backend import LocalProcesses
from explorer.jobs.spec import JobSpec, JobState
from explorer.runs import store

log = logging.getLogger(__name__)

DEFAULT_RATE = 15_000.0  # images/s one worker trains, until a finished job has measured it
START_OVERHEAD_S = 3.0  # process start, data, evaluation and saving, per job, until measured
RELEASE_GRACE_S = 30.0  # a closed tab's job stops after this; a reconnecting tab keeps it
QUEUED_GRACE_FACTOR = 4  # a closed tab's queued job is cancelled after 4 × that
POLL_S = 0.1  # how often the scheduler looks at the queue when no worker reports


def default_workers() -> int:
    """$EXPLORER_WORKERS, else one worker per core."""
    try:
        return max(1, int(os.environ.get("EXPLORER_WORKERS", "")))
    except ValueError:
        return max(1, os.cpu_count() or 1)


class Job:
    """A page's handle on one job: read its state, stop or cancel it."""

    def __init__(self, engine: Engine, spec: JobSpec, owner: str | None,
                 student: str | None = None):
        self.id = next(engine._ids)
        self.spec, self.owner = spec, owner
        # Whose caps and quota it counts against: the student (in a class, over all their tabs),
        # else the browser session that owns it (and whose closing stops it).
        self.account = student or owner
        self._engine = engine
        self._state = JobState(epochs=int(spec.train["epochs"]))
        self._run = None  # the backend's running handle, once started
        self.stop_reason = ""  # "student" (Stop) or "tab closed": how a stopped run ended
        self._started = 0.0  # time.monotonic() when a worker took it

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def dataset_name(self) -> str:
        return self.spec.dataset

    def model_config(self):
        return self.spec.model_config()

    def snapshot(self) -> JobState:
        return self._engine._snapshot(self)

    def stop(self, reason: str = "student") -> None:
        """Queued: leave the queue, nothing saved. Training: stop and save what it learned.
        Saving: let the save finish, so the run is either complete or absent."""
        self.stop_reason = self.stop_reason or reason
        self._engine._stop(self)

    @property
    def running(self) -> bool:
        return self.snapshot().active


class Engine:
    def __init__(self, backend=None, workers: int | None = None, runs: Path | None = None,
                 notice: str = "", release_grace: float = RELEASE_GRACE_S,
                 limits: Limits | None = None, usage: Callable[[str], int] | None = None):
        """`limits`: the caps per owner and in total (default: from the environment). `usage`:
        how many bytes an owner's saved runs take (default: the runs this engine saved for it;
        the class store may know better)."""
        self.backend = backend or LocalProcesses()
        self.limits = limits or Limits.from_env()
        self._usage = usage or self._saved_bytes
        self._saved: dict[str, list[Path]] = {}  # owner -> run folders saved for it
        self.workers = workers or default_workers()
        self.notice = notice  # one sentence for the Train page, e.g. why Ray is not used
        self._runs = runs
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._queue: deque[Job] = deque()
        self._running: list[Job] = []
        self._rate = DEFAULT_RATE
        self._overhead = START_OVERHEAD_S
        # Finished jobs' (dataset, batch size, images, seconds from start to end), newest last:
        # a queued job's time is read off the most alike, whole, as a student would wait it.
        self._measured: deque[tuple[str, int, int, float]] = deque(maxlen=32)
        self._grace = release_grace
        self._released: dict[str, float] = {}  # owner -> when its jobs are stopped
        # Asked, once an owner's grace is over, whether it is connected after all (the web
        # server knows): a tab whose connection came back but whose page has not run since
        # keeps its job. None: only a run of the page (reclaim) brings an owner back.
        self.owner_connected: Callable[[str], bool] | None = None
        # Called with (job, kind, payload) for every event folded into a job's state, and a
        # final ("done", ...) for a job cancelled, failed to start or lost: e.g. the class
        # store's recorder. Called under the engine's lock: a listener must only enqueue.
        self.listeners: list = []
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="job-engine", daemon=True)
        self._thread.start()

    # -- the pages' side ------------------------------------------------------------------
    def submit(self, spec: JobSpec, owner: str | None = None,
               student: str | None = None) -> Job:
        """Queue `spec`, with its run folder's name reserved now: two students who ask for the
        same name get two folders. Refused with one sentence (ConfigError) beyond the caps of
        :class:`Limits`: jobs per owner (a browser session, or a student), jobs in all, the
        longest job, the owner's quota. In a class, `student` is counted instead of the session,
        so a second tab gives no second job; the session still owns the job (closing it stops it).
        """
        account = student or owner
        used = self._usage(account) if account is not None else 0  # outside the lock: reads disk
        with self._lock:
            active = self._active()
            mine = sum(j.account == account for j in active) if account is not None else 0
            self.limits.check(int(spec.train["epochs"]), spec.n_train, mine, len(active), used)
            runs = self._runs or store.runs_dir()
            name = store.reserve_run_name(spec.name, runs)  # O(1): a remembered next suffix
            spec = dataclasses.replace(spec, out=str(runs / name), name=name)
            job = Job(self, spec, owner, student)
            self._queue.append(job)
            self._estimate_waits()
        return job

    def release_owner(self, owner: str) -> None:
        """A browser session ended: after a grace period (a dropped connection that comes back
        keeps its job, see :meth:`reclaim` and :attr:`owner_connected`), stop what it left
        running, each job no sooner than a grace period after it started; what it left queued
        costs nothing while it waits, so it is cancelled only after QUEUED_GRACE_FACTOR times
        that (a student on a busy room's Wi-Fi keeps their place in line)."""
        with self._lock:
            self._released[owner] = time.monotonic()

    def reclaim(self, owner: str) -> None:
        """The session is back (it reconnected): its jobs go on."""
        with self._lock:
            self._released.pop(owner, None)

    def _stop_released(self) -> None:
        now = time.monotonic()
        with self._lock:
            jobs = []
            for owner, since in list(self._released.items()):
                if now - since >= self._grace and self._connected(owner):
                    del self._released[owner]  # its connection is back: nothing to stop
                    continue
                if now - since >= self._grace:
                    # A job that started after its tab went gets the grace from its start: its
                    # tab was gone before it ran (Wi-Fi out while it waited in line).
                    jobs += [(j, now - since) for j in self._running
                             if j.owner == owner and now - max(since, j._started) >= self._grace]
                if now - since >= self._grace * QUEUED_GRACE_FACTOR:
                    jobs += [(j, now - since) for j in self._queue if j.owner == owner]
                    del self._released[owner]
        for job, gone in jobs:
            if not job.stop_reason:  # once: a job already stopping saves what it learned
                # A line in the server's terminal: a job a tab left, and how long it was gone
                # (by the job's number: a run's name may be a student's).
                log.warning("stopping job %d (%s): its tab's connection ended %.0f s ago and "
                            "did not come back", job.id, job._state.status, gone)
                job.stop(reason="tab closed")

    def _connected(self, owner: str) -> bool:
        try:
            return bool(self.owner_connected and self.owner_connected(owner))
        except Exception:  # noqa: BLE001 - a failing probe must not stop the scheduler
            log.exception("asking whether a tab is connected failed")
            return False

    def shutdown(self) -> None:
        """Stop scheduling and kill what still runs (the server is going away)."""
        self._closed = True
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
        with self._lock:
            for job in self._running:
                job._run.kill()

    # -- internals ------------------------------------------------------------------------
    def _active(self) -> list[Job]:
        return [*self._running, *self._queue]

    def _snapshot(self, job: Job) -> JobState:
        with self._lock:
            return job._state.copy()

    def _stop(self, job: Job) -> None:
        with self._lock:
            if job in self._queue:
                self._queue.remove(job)
                job._state.status = "cancelled"
                job._state.message = "Cancelled before it started; nothing was saved."
                self._notify(job, "done", {"status": "cancelled"})
                store.release_run_name(Path(job.spec.out))
                self._estimate_waits()
            elif job in self._running and job._state.status != "saving":
                job._run.stop()

    def _estimate(self, job: Job) -> float:
        """Seconds until `job` ends. Queued: read off the finished job with the same data and
        batch size whose length is nearest, scaled by images; a small set's many short epochs
        cost far more per image than a large one's (180 images for 100 epochs: estimated 4 s from
        images per second, 24 s in fact). Running: its remaining steps, then the evaluation and
        saving that every job ends with."""
        state = job._state
        if state.eta is not None and state.status in ("running", "saving"):
            return state.eta + self._overhead
        spec = job.spec
        alike = [(n, s) for d, b, n, s in self._measured
                 if d == spec.dataset and b == int(spec.train["batch_size"])]
        if alike and spec.images > 0:
            n, seconds = min(alike, key=lambda m: abs(math.log(m[0] / spec.images)))
            return self._overhead + max(0.0, seconds - self._overhead) * spec.images / n
        return spec.images / self._rate + self._overhead

    def _estimate_waits(self) -> None:
        """Each queued job's place and the time until a worker is free for it: the running
        jobs' remaining times, then the queued jobs ahead, each taking the first free worker."""
        free_at = [self._estimate(j) for j in self._running]
        free_at += [0.0] * max(0, self.workers - len(free_at))
        heapq.heapify(free_at)
        for position, job in enumerate(self._queue, start=1):
            start = heapq.heappop(free_at)
            job._state.position, job._state.wait = position, start
            heapq.heappush(free_at, start + self._estimate(job))

    def _loop(self) -> None:
        while not self._closed:
            self._stop_released()
            with self._lock:
                self._start_waiting()
                runs = [j._run for j in self._running]
            try:
                self.backend.wait(runs, POLL_S)
            except Exception:  # noqa: BLE001 - the scheduler must keep going
                log.exception("waiting on workers failed")
                time.sleep(POLL_S)
            with self._lock:
                for job in list(self._running):
                    self._collect(job)
                self._estimate_waits()

    def _start_waiting(self) -> None:
        while self._queue and len(self._running) < self.workers:
            job = self._queue.popleft()
            job._state.status, job._state.position, job._state.wait = "starting", 0, None
            if job.account is not None and self.limits.owner_quota_bytes:
                # What the owner may still save, checked again by the worker when it saves.
                room = self.limits.room(self._usage(job.account))
                job.spec = dataclasses.replace(job.spec, room_bytes=room)
            job._started = time.monotonic()
            try:
                job._run = self.backend.start(job.spec)
            except Exception as e:  # noqa: BLE001 - one job's failure must not stop the queue
                log.exception("could not start job %s", job.name)
                job._state.status = "failed"
                job._state.message = f"The training could not start: {e}"
                self._notify(job, "done", {"status": "failed"})
                store.release_run_name(Path(job.spec.out))
                continue
            self._running.append(job)
            self._estimate_waits()  # the places behind it move up at once

    def _collect(self, job: Job) -> None:
        try:
            events = job._run.poll()
        except Exception as e:  # noqa: BLE001 - e.g. a Ray node lost: the job fails alone
            log.exception("reading job %s failed", job.name)
            events = [("done", {"status": "failed", "message": f"The worker was lost: {e}",
                                "saved_path": None, "metrics": {}})]
        for kind, payload in events:
            job._state.apply(kind, payload)
            self._notify(job, kind, payload)
        if any(kind == "done" for kind, _ in events):
            self._finish(job)
        elif job._run.ended():
            state = job._state
            state.status, state.message, state.eta = "failed", job._run.why_ended(), 0.0
            self._notify(job, "done", {"status": "failed"})
            self._finish(job)

    def _saved_bytes(self, owner: str) -> int:
        folders = list(self._saved.get(owner, ()))  # no lock: called with and without it
        return sum(store.folder_bytes(f) for f in folders if f.is_dir())
    def _notify(self, job: Job, kind: str, payload: dict) -> None:
        for listener in self.listeners:
            try:
                listener(job, kind, payload)
            except Exception:  # noqa: BLE001 - a listener must not stop the queue
                log.exception("a job listener failed")

    def _finish(self, job: Job) -> None:
        self._running.remove(job)
        job._run.close()
        store.release_run_name(Path(job.spec.out))
        if job.account is not None and job._state.saved_path:
            self._saved.setdefault(job.account, []).append(Path(job._state.saved_path))
        rate = job._state.images_per_second
        if rate > 0 and job._state.status == "finished":
            self._rate = 0.7 * self._rate + 0.3 * rate
            spec, seconds = job.spec, time.monotonic() - job._started
            if spec.images > 0:
                self._measured.append((spec.dataset, int(spec.train["batch_size"]),
                                       spec.images, seconds))
            overhead = max(0.0, seconds - spec.images / rate)
            self._overhead = 0.5 * self._overhead + 0.5 * overhead


_ENGINE: Engine | None = None
_ENGINE_LOCK = threading.Lock()


def running_engine() -> Engine | None:
    """The process's engine if one was started, without starting one."""
    return _ENGINE


def _ray_backend() -> tuple[object | None, int | None, str]:
    """(backend, workers, notice) for $EXPLORER_RAY_ADDRESS: a Ray backend, or None and the
    sentence saying why training stays on this server. Takes at most the join timeout."""
    address = os.environ.get("EXPLORER_RAY_ADDRESS", "").strip()
    if not address:
        return None, None, ""
    try:
        from explorer.jobs.ray_backend import connect
    except ImportError:
        notice = ("EXPLORER_RAY_ADDRESS is set but Ray is not installed (pip install -r "
                  "requirements-ray.txt); training runs on this server's own workers instead.")
    else:
        try:
            backend, workers = connect(address)
            return backend, workers, ""
        except Exception as e:  # noqa: BLE001 - RayUnavailable, said in a sentence
            notice = str(e)
    log.warning(notice)
    return None, None, notice


def get_engine() -> Engine:
    """The process's engine: on a Ray cluster when $EXPLORER_RAY_ADDRESS is set and reachable,
    else local worker processes (with a notice saying why, when Ray was asked for). The cluster
    is joined outside the lock, with a timeout: a head that never answers delays the first page
    that asks by at most that, and blocks no one else's lock."""
    global _ENGINE
    if _ENGINE is not None:
        return _ENGINE
    backend, workers, notice = _ray_backend()
    with _ENGINE_LOCK:
        if _ENGINE is None:  # another thread may have finished first: its engine is kept
            try:
                grace = float(os.environ.get("EXPLORER_RELEASE_GRACE_S", RELEASE_GRACE_S))
            except ValueError:
                grace = RELEASE_GRACE_S
            _ENGINE = Engine(backend, workers=workers, notice=notice, release_grace=grace)
        return _ENGINE
