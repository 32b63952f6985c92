"""The engine's default backend: each job in a child process of this machine, started by a fork
server that has torch imported already (:mod:`explorer.jobs.preload`). The same contract as
:mod:`explorer.jobs.ray_backend`: ``start(spec)`` gives a run to ``poll`` for events, ``stop``,
``kill`` and ``close``, and ``wait`` sleeps until one of them has something to say.
"""

from __future__ import annotations

import multiprocessing as mp
import threading
import time
from multiprocessing import forkserver
from multiprocessing.connection import wait as wait_for

from explorer.jobs.spec import JobSpec


class LocalProcesses:
    """Each job in a fresh child process of a fork server that has torch imported already."""

    name = "local"

    def __init__(self) -> None:
        self._ctx = mp.get_context("forkserver")
        self._ctx.set_forkserver_preload(["explorer.jobs.preload"])
        # Start the fork server (it imports torch once) now, not when the first student waits.
        threading.Thread(target=forkserver.ensure_running, name="fork-server", daemon=True).start()

    def start(self, spec: JobSpec) -> _LocalRun:
        from explorer.jobs.worker import process_main

        receive, send = self._ctx.Pipe(duplex=False)
        stop = self._ctx.Event()
        process = self._ctx.Process(target=process_main, args=(spec, send, stop),
                                    name=f"train-{spec.name}", daemon=True)
        process.start()
        send.close()  # the child holds the only sending end: EOF means it has gone
        return _LocalRun(process, receive, stop)

    def wait(self, runs: list, timeout: float) -> None:
        handles = [h for r in runs for h in (r.conn, r.process.sentinel)]
        if handles:
            wait_for(handles, timeout)
        else:
            time.sleep(timeout)


class _LocalRun:
    def __init__(self, process, conn, stop_event) -> None:
        self.process, self.conn, self._stop = process, conn, stop_event
        self._closed = False

    def poll(self) -> list[tuple[str, dict]]:
        events = []
        try:
            while not self._closed and self.conn.poll():
                events.append(self.conn.recv())
        except (EOFError, OSError):
            self._closed = True
        return events

    def stop(self) -> None:
        self._stop.set()

    def ended(self) -> bool:
        """The process has exited and everything it sent has been read."""
        return not self.process.is_alive() and (self._closed or not self.conn.poll())

    def why_ended(self) -> str:
        code = self.process.exitcode
        if code is not None and code < 0:
            how = f"was killed (signal {-code}; the machine may have run out of memory)"
        else:
            how = f"ended unexpectedly (exit code {code})"
        return f"The training process {how}; nothing was saved. Try again, or a smaller model."

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()

    def close(self) -> None:
        self.conn.close()
