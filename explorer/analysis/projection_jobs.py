"""Fitting a map in the background: :class:`ProjectionJob` runs :func:`fit_projection` in a
daemon thread, so a page can show the PCA map at once and swap the slow one in when it is done,
and stores the result in a :class:`~explorer.analysis.projection_files.ProjectionCache`.
"""

from __future__ import annotations

import logging
import os
import threading
import time

from explorer.analysis.projection import (
    STAGE_FITTING,
    STAGE_WARMING,
    TITLES,
    Projection,
    ProjectionParams,
    fit_projection,
    umap_ready,
)
from explorer.analysis.projection_files import ProjectionCache
from explorer.errors import ExplorerError

log = logging.getLogger(__name__)

STAGE_NOT_STARTED = "not started"
STAGE_QUEUED = "waiting for another map to finish"
STAGE_DONE = "done"
# UMAP and t-SNE fits run at most this many at once in the server ($EXPLORER_PROJECTION_WORKERS,
# default 1): a class asking for maps queues them instead of sharing two cores thirty ways.
_SLOTS = threading.BoundedSemaphore(max(1, int(os.environ.get("EXPLORER_PROJECTION_WORKERS",
                                                              "1") or 1)))


class ProjectionJob:
    """Fit a map in a daemon thread, so a page can show PCA at once and swap this in when done.

    Poll ``done``; then ``result`` (a :class:`Projection`) or ``error`` (a sentence to show).
    Fits wait for one of a few slots. Sessions :meth:`claim` the job they show and
    :meth:`release` it when they ask for another map: a job nobody wants any more when its
    turn comes is dropped (``dropped``), not fitted.
    ``stage`` says what it is doing (:data:`STAGE_WARMING`, :data:`STAGE_FITTING`,
    :data:`STAGE_DONE`). With a cache, a model hash and a data key, the finished map is also
    written to the cache. Exceptions never escape the thread.
    """

    def __init__(self, codes, params: ProjectionParams | None = None,
                 cache: ProjectionCache | None = None, model_hash: str | None = None,
                 data_key: str | None = None) -> None:
        self.codes = codes
        self.params = params or ProjectionParams()
        self.cache = cache
        self.model_hash = model_hash
        self.data_key = data_key
        self.result: Projection | None = None
        self.error: str | None = None
        self.stage = STAGE_NOT_STARTED
        self._t0: float | None = None
        self._t1: float | None = None
        self._done = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._claims: set[str] = set()
        self._claimed = False
        self.dropped = False

    def claim(self, who: str) -> None:
        with self._start_lock:
            self._claims.add(who)
            self._claimed = True

    def release(self, who: str) -> None:
        with self._start_lock:
            self._claims.discard(who)

    def _unwanted(self) -> bool:
        with self._start_lock:
            return self._claimed and not self._claims

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def start(self) -> ProjectionJob:
        """Start the thread (once; later calls do nothing) and return the job."""
        with self._start_lock:
            if self._thread is not None:
                return self
            self._t0 = time.monotonic()
            warming = self.params.method == "umap" and not umap_ready()
            self.stage = STAGE_WARMING if warming else STAGE_FITTING
            self._thread = threading.Thread(
                target=self._run, name=f"projection-{self.params.key()}", daemon=True
            )
            self._thread.start()
        return self

    def wait(self, timeout: float | None = None) -> bool:
        """Block until done (or ``timeout`` seconds); returns ``done``. For scripts and tests."""
        return self._done.wait(timeout)

    def elapsed(self) -> float:
        """Seconds since start(), frozen once done; 0 before start()."""
        if self._t0 is None:
            return 0.0
        end = self._t1 if self._t1 is not None else time.monotonic()
        return end - self._t0

    def _set_stage(self, stage: str) -> None:
        self.stage = stage

    def _run(self) -> None:
        stage = self.stage
        self.stage = STAGE_QUEUED
        while not _SLOTS.acquire(timeout=0.2):
            if self._unwanted():  # superseded while it waited: never fitted
                self.dropped, self.stage, self._t1 = True, STAGE_DONE, time.monotonic()
                self.error = "This map was no longer asked for."
                self._done.set()
                return
        self.stage = stage
        try:
            proj = fit_projection(self.codes, self.params, progress=self._set_stage)
            if self.cache is not None and self.model_hash and self.data_key and \
                    proj.method != "latent":
                try:
                    self.cache.put(self.model_hash, self.data_key, self.params, proj.coords)
                except Exception as e:  # noqa: BLE001 - a map that cannot be cached is still a map
                    log.warning("projection not cached: %s", e)
            self.result = proj
        except Exception as e:  # noqa: BLE001 - reported through .error, never raised
            self.error = _error_sentence(e, self.params.method)
            log.warning("projection job failed: %s", self.error, exc_info=True)
        finally:
            _SLOTS.release()
            self._t1 = time.monotonic()
            self.stage = STAGE_DONE
            self._done.set()  # last, so whoever sees done also sees result or error


def _error_sentence(e: BaseException, method: str) -> str:
    if isinstance(e, ExplorerError):
        msg = str(e)
    elif isinstance(e, MemoryError):
        msg = (f"There was not enough memory to compute the {TITLES.get(method, method)} map; "
               "try PCA or close other programs")
    else:
        detail = str(e).strip() or "no details"
        title = TITLES.get(method, method)
        msg = f"{title} stopped with an unexpected {type(e).__name__} ({detail})"
    msg = msg.strip()
    return msg if msg.endswith((".", "!", "?")) else msg + "."
