"""Runs' records kept up to date from the job engine's events.

The engine calls :meth:`Recorder.on_event` under its lock, so the recorder only queues; one
thread writes to the class store. A write that fails (the database locked, PostgreSQL gone) is
kept and retried: training goes on, and the rows catch up when the database returns.
"""

from __future__ import annotations

import logging
import math
import queue
import threading
import time

from explorer.classroom.store import ClassStore

log = logging.getLogger(__name__)
RETRY_S = 1.0
TROUBLE = ("The class database cannot be reached: training goes on, and the class's rows catch "
           "up when it is back.")


def _numbers(metrics: dict) -> dict:
    """The JSON-ready scalar numbers of a metrics dict (NaN and arrays left out)."""
    out = {}
    for k, v in (metrics or {}).items():
        try:
            f = float(v)
        except (TypeError, ValueError):
            continue
        if math.isfinite(f):
            out[str(k)] = f
    return out


def fields_for(job, kind: str, payload: dict) -> dict | None:
    """What one engine event changes in the job's record, or None (steps: too many)."""
    state = job._state  # the engine holds its lock while it calls us
    if kind == "started":
        return {"status": "running", "epochs": int(payload["epochs"])}
    if kind == "epoch":
        return {"status": "running", "epoch": int(payload["epoch"]),
                "epochs": int(payload["epochs"]),
                # "at": when the server heard of the epoch (the dashboard's lag is measured from it)
                "append_history": {"epoch": int(payload["epoch"]), "at": time.time(),
                                   **_numbers(payload.get("test") or payload.get("train"))}}
    if kind == "end":
        return {"status": "saving"}
    if kind != "done":
        return None
    status = payload.get("status", state.status)
    if status == "stopped" and job.stop_reason == "tab closed":
        status = "tab_closed"
    elif status == "diverged":
        status = "failed"
    return {"status": status, "epoch": len(state.history), "message": state.message or "",
            "metrics": _numbers(state.metrics), "saved_path": state.saved_path}


class Recorder:
    def __init__(self, store: ClassStore):
        self.store = store
        self._records: dict[int, int] = {}  # job id -> run record id
        self._jobs: dict[int, object] = {}  # run record id -> job (to stop it if its class goes)
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._pending: list[tuple[int, dict]] = []
        self.trouble = ""  # a sentence while the database cannot be written
        self._count_lock = threading.Lock()
        self._queued = self._written = 0
        self._thread = threading.Thread(target=self._write_loop, name="class-recorder",
                                        daemon=True)
        self._thread.start()

    def attach(self, engine) -> None:
        if self.on_event not in engine.listeners:
            engine.listeners.append(self.on_event)

    def track(self, job, class_id: int, student_id: int | None) -> int:
        """Record `job` (just submitted) as a run of this class and student."""
        spec = job.spec
        record = self.store.start_run(
            class_id, student_id, spec.name, spec.dataset, str(spec.model.get("kind", "")),
            {"model": spec.model, "train": spec.train}, int(spec.train.get("epochs", 0)))
        self._records[job.id] = record
        self._jobs[record] = job
        state = job.snapshot()
        if not state.active:  # it ended before we were listening (cancelled at once)
            self._put(record, {"status": state.status, "message": state.message})
        return record

    def record_of(self, job) -> int | None:
        return self._records.get(job.id)

    def on_event(self, job, kind: str, payload: dict) -> None:
        record = self._records.get(job.id)
        if record is None:
            return
        fields = fields_for(job, kind, payload)
        if fields is not None:
            self._put(record, fields)

    def _put(self, record: int, fields: dict) -> None:
        with self._count_lock:
            self._queued += 1
        self._queue.put((record, fields))

    def stop_deleted(self, records) -> None:
        """The class of these records was deleted: stop their jobs (now, not at their next
        epoch), each with a sentence to its student; what they save is removed."""
        for record in records:
            self._gone(record, {})

    def _gone(self, record: int, fields: dict) -> None:
        """A record that is no longer there: its class was deleted while its job ran."""
        from explorer.classroom.deletion import STOPPED
        from explorer.classroom.store import _remove_folder

        job = self._jobs.get(record)
        if job is not None and job.stop_reason != "class deleted":
            job.stop_reason = ""  # the class's deletion is the reason its student is told
            job.stop("class deleted")
            job.notice = STOPPED
        if saved := fields.get("saved_path"):
            _remove_folder(saved, self.store.runs_folder)
            self._jobs.pop(record, None)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued is written (tests, shutdown)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._count_lock:
                if self._written == self._queued:
                    return True
            time.sleep(0.02)
        return False

    def _write_loop(self) -> None:
        while True:
            if self._pending:
                try:
                    item = self._queue.get(timeout=RETRY_S)
                    self._pending.append(item)
                except queue.Empty:
                    pass
            else:
                self._pending.append(self._queue.get())
            try:
                while self._pending:
                    record, fields = self._pending[0]
                    if not self.store.update_run(record, **dict(fields)):
                        self._gone(record, fields)
                    self._pending.pop(0)
                    with self._count_lock:
                        self._written += 1
                self.trouble = ""
            except Exception as e:  # noqa: BLE001 - keep the rows, say so, retry
                if not self.trouble:
                    log.warning("class database write failed (%s); retrying", type(e).__name__)
                self.trouble = TROUBLE
