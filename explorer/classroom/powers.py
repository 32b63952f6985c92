"""Who may add datasets and shared models: the teacher, and students only when the teacher allows
it ($EXPLORER_STUDENTS_ADD_DATA=1 at start-up, or the switch on the Teacher page, kept in the
class store's settings). Checked here, in the backend, before anything is read or written;
a page that hides the uploader is only a courtesy.
"""

from __future__ import annotations

import os

from explorer.classroom.identity import ClassError
from explorer.classroom.store import ClassStore

ENV = "EXPLORER_STUDENTS_ADD_DATA"
SETTING = "students_add"
REFUSED = ("Only the teacher may add {what} to this server; ask your teacher to add it, or to "
           "allow students to (a switch on the Teacher page).")


def students_may_add(store: ClassStore) -> bool:
    if os.environ.get(ENV, "").strip().lower() in ("1", "true", "yes", "on"):
        return True
    return store.setting(SETTING) == "1"


def allow_students(store: ClassStore, allowed: bool, key: str | None = None,
                   caller: str = "") -> None:
    """Teacher only: let students add datasets and shared models (or stop them again)."""
    store.gate.require(key, caller)
    store.set_setting(SETTING, "1" if allowed else "0")


def require_adder(store: ClassStore | None, what: str, key: str | None = None,
                  token: str | None = None, caller: str = "") -> None:
    """Raise a :class:`ClassError` with a sentence unless this person may add `what` ("datasets",
    "shared models"): with no class store, or no teacher key configured, everyone may (one person
    on their own machine keeps every power); else the teacher, or a student of a class when
    students are allowed to."""
    if store is None or store.is_teacher(key, caller):
        return
    if students_may_add(store) and store.student(token) is not None:
        return
    raise ClassError(REFUSED.format(what=what))
