"""Follow the teacher: while "Class follows me" is on, the teacher's view (a page of the app and
the query parameters a shared link of it carries) is one small row per class, with a version
number that goes up at each change. A follower's page asks only for that number, and moves to the
teacher's view when it changes.

Reading is cheap by design, since thirty followers ask every half second: each process keeps the
latest row of each class in memory, updated at once when a teacher's session in this process
publishes, and read again from the database (the truth, shared by replicas) at most every
``DB_EVERY_S``, by one thread while the others keep the copy they have.

Publishing is the teacher's alone: refused here, in the backend, without the teacher key. A view
holds only a page and URL parameters; the viewer's own choices (``PRIVATE``: presenter mode) are
dropped, and a student's identity or the teacher key is never in a URL to begin with.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from explorer.classroom.identity import ClassError
from explorer.classroom.models import FollowState, now

DB_EVERY_S = 1.0  # how stale a process's copy may get before it reads the database again
PAGE_MAX = 40
PARAMS_MAX_CHARS = 8000  # a view's parameters as JSON; a longer one is not published
PRIVATE = frozenset({"present"})  # the viewer's own choice, never taken from the teacher


@dataclass(frozen=True)
class View:
    """A page (its key in the app's page table) and its URL parameters, each with its values
    (a multiselect puts several), in a canonical order: two equal views compare equal."""

    page: str
    params: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def of(cls, page: str, params: Mapping[str, str | Iterable[str]] | None = None) -> View:
        items = []
        for key, values in (params or {}).items():
            if str(key) in PRIVATE:
                continue
            values = (values,) if isinstance(values, str) else tuple(values)
            items.append((str(key), tuple(str(v) for v in values)))
        return cls(str(page), tuple(sorted(items)))

    def as_dict(self) -> dict[str, list[str]]:
        return {k: list(v) for k, v in self.params}

    def query(self) -> str:
        """The URL query string of this view (without the ``?``)."""
        return urlencode(self.as_dict(), doseq=True)


@dataclass(frozen=True)
class Lead:
    """A class's follow state: whether the class follows, the teacher's view, its version."""

    class_id: int
    active: bool
    view: View
    version: int
    updated: datetime | None = None


def _checked(view: View) -> View:
    if not view.page or len(view.page) > PAGE_MAX:
        raise ClassError("That page cannot be shared with the class.")
    if len(json.dumps(view.as_dict())) > PARAMS_MAX_CHARS:
        raise ClassError("This view's link is too long to share with the class; the class "
                         "stays on the last view.")
    return view


def _lead(row: FollowState) -> Lead:
    params = row.params if isinstance(row.params, dict) else {}
    return Lead(row.class_id, bool(row.active), View.of(row.page, params), int(row.version),
                row.updated)


# -- the process's copy ----------------------------------------------------------------------
# (the store's id, a class id) -> (the lead, when it was read, monotonic): a store is one
# server's door to the database (the app opens one per process), so its copy is that server's.
_COPY: dict[tuple[int, int], tuple[Lead | None, float]] = {}
_COPY_LOCK = threading.Lock()
_READING = threading.Lock()  # one database read at a time; the others keep their copy


def _keep(store, class_id: int, lead: Lead | None) -> None:
    with _COPY_LOCK:
        _COPY[id(store), class_id] = (lead, time.monotonic())


def forget_copies() -> None:
    """Drop this process's copies (tests: a new server process)."""
    with _COPY_LOCK:
        _COPY.clear()


def read(store, class_id: int) -> Lead | None:
    """The class's follow state from the database (None: never published)."""
    try:
        with Session(store.engine) as s:
            row = s.get(FollowState, class_id)
            lead = _lead(row) if row is not None else None
    except DBAPIError as e:
        raise ClassError(f"The class database is busy or cannot be reached ({_short(e)}).") from e
    _keep(store, class_id, lead)
    return lead


def latest(store, class_id: int, max_age_s: float = DB_EVERY_S) -> Lead | None:
    """The class's follow state as this process last knew it, read again from the database when
    that copy is older than `max_age_s`. Never raises: a database that does not answer leaves the
    copy as it was (followers stay where they are)."""
    with _COPY_LOCK:
        lead, at = _COPY.get((id(store), class_id), (None, -1e18))
    if time.monotonic() - at < max_age_s or not _READING.acquire(blocking=False):
        return lead
    try:
        return read(store, class_id)
    except ClassError:
        _keep(store, class_id, lead)  # try again after max_age_s, not at every call
        return lead
    finally:
        _READING.release()


def publish(store, class_id: int, view: View | None, key: str | None = None, caller: str = "",
            active: bool = True) -> Lead:
    """Teacher only: the class follows `view` (or, with `active` False, no longer follows). The
    version goes up only when something changed; returns the state now."""
    store.gate.require(key, caller)
    view = _checked(view) if view is not None else None
    for _ in range(2):  # two first publishes at one instant: the second finds the row
        try:
            with Session(store.engine) as s, s.begin():
                row = s.get(FollowState, class_id, with_for_update=True)
                if row is None:
                    if store.get_class(class_id) is None:
                        raise ClassError("There is no such class.")
                    row = FollowState(class_id=class_id, active=False, page="", params={},
                                      version=0, updated=now())
                    s.add(row)
                old = _lead(row) if row.page or row.version else None
                new_view = view or (old.view if old else View(""))
                if old is None or old.active != active or old.view != new_view:
                    row.active, row.page = active, new_view.page
                    row.params, row.version, row.updated = new_view.as_dict(), row.version + 1, now()
                s.flush()
                lead = _lead(row)
            break
        except IntegrityError:
            continue
        except DBAPIError as e:
            raise ClassError(f"The class database is busy or cannot be reached ({_short(e)}); "
                             "the class stays on the last view.") from e
    else:
        raise ClassError("The class's view could not be saved; try again.")
    _keep(store, class_id, lead)
    return lead


def stop(store, class_id: int, key: str | None = None, caller: str = "") -> Lead:
    """Teacher only: the class stops following (each student keeps the page they are on)."""
    return publish(store, class_id, None, key, caller, active=False)


def _short(e: Exception) -> str:
    return str(getattr(e, "orig", e)).splitlines()[0][:200]
