"""The class in the app: the store, who this session is (a student, the teacher, or someone on
their own machine), and the recorder that writes each run's record.

A student's token lives in the session and in a cookie (``SameSite=Strict``) that their browser
sends when the page reloads or reconnects; it is never put in the URL. The teacher key is read
here (``EXPLORER_TEACHER_KEY`` or Streamlit's secrets ``teacher_key``) and passed down to the
backend, which checks it for every teacher-only action.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import streamlit as st

from explorer.classroom import (
    ClassError,
    ClassInfo,
    ClassStore,
    Recorder,
    StudentInfo,
    database_url,
)
from explorer.errors import plain

COOKIE = "explorer_student"
COOKIE_DAYS = 30
_TOKEN = "_class_token"  # this session's student token (server memory only)
_KEY = "_teacher_key"  # the teacher key this session typed (server memory only)
_CLASS = "_class_id"  # the class the teacher is looking at
_LEFT = "_class_left"  # "Not you? Leave": the cookie this session's browser sent is ignored
_CLEAR = "_class_clear_cookie"


def configured_key() -> str | None:
    """The teacher key set at start-up, if any."""
    if key := os.environ.get("EXPLORER_TEACHER_KEY", "").strip():
        return key
    try:
        return str(st.secrets.get("teacher_key", "")).strip() or None
    except Exception:  # noqa: BLE001 - no secrets file: no key from there
        return None


@st.cache_resource(max_entries=2, show_spinner=False)
def _store(url: str, key: str | None) -> ClassStore:
    return ClassStore(url, teacher_key=key)


def class_store() -> ClassStore | None:
    """The server's class store, or None (and a sentence on the page) when it cannot open."""
    try:
        return _store(database_url(), configured_key())
    except ClassError as e:
        st.error(str(e), icon=":material/database:")
        return None


@st.cache_resource(max_entries=2, show_spinner=False)
def _recorder(url: str, key: str | None) -> Recorder:
    from explorer.jobs import get_engine

    recorder = Recorder(_store(url, key))
    recorder.attach(get_engine())
    return recorder


def recorder() -> Recorder:
    return _recorder(database_url(), configured_key())


def caller() -> str:
    """Who is guessing, for the teacher key's rate limit: this browser session."""
    from explorer.ui.parts.job_owner import session_owner

    return session_owner()


def teacher_key() -> str | None:
    return st.session_state.get(_KEY)


def is_teacher(store: ClassStore) -> bool:
    """With no teacher key configured, one person on their own machine is the teacher."""
    try:
        return store.is_teacher(teacher_key(), caller())
    except ClassError as e:  # the database is locked or gone
        st.warning(str(e), icon=":material/database:")
        return False


def try_key(store: ClassStore, key: str) -> bool:
    if store.is_teacher(key, caller()):
        st.session_state[_KEY] = key
        return True
    return False


def token() -> str | None:
    """This browser's student token: the session's, else the cookie its browser sent."""
    if st.session_state.get(_LEFT):
        return st.session_state.get(_TOKEN)
    return st.session_state.get(_TOKEN) or st.context.cookies.get(COOKIE)


def current_student(store: ClassStore) -> StudentInfo | None:
    if st.session_state.pop(_CLEAR, False):
        _set_cookie("", 0)
    try:
        student = store.student(token())
    except ClassError as e:  # the database is locked or gone: said once, the page goes on
        st.warning(str(e), icon=":material/database:")
        return None
    if student is not None:
        st.session_state[_TOKEN] = token()
    return student


def remember(token_value: str) -> None:
    """Keep the token in this session and in the browser (a cookie, sent on reload)."""
    st.session_state[_TOKEN] = token_value
    st.session_state.pop(_LEFT, None)
    _set_cookie(token_value, COOKIE_DAYS * 86400)


def forget() -> None:
    """on_click of "Not you? Leave": this browser forgets the identity (its runs stay)."""
    st.session_state.pop(_TOKEN, None)
    st.session_state[_LEFT] = st.session_state[_CLEAR] = True


def _set_cookie(value: str, max_age: int) -> None:
    # The one script built from a value (tests/test_boundaries.py knows it): the value must be a
    # token of URL-safe base64 (or empty, to clear it), and json.dumps quotes it besides.
    if not re.fullmatch(r"[A-Za-z0-9_-]{0,128}", value) or not isinstance(max_age, int):
        raise ValueError("a student cookie holds a token and nothing else")
    st.html(f"<script>document.cookie = {json.dumps(COOKIE)} + '=' + {json.dumps(value)} + "
            f"'; Max-Age={max_age}; Path=/; SameSite=Strict';</script>",
            unsafe_allow_javascript=True)


def chosen_class(store: ClassStore) -> ClassInfo | None:
    class_id = st.session_state.get(_CLASS)
    return store.get_class(class_id) if class_id else None


def choose_class(class_id: int | None) -> None:
    st.session_state[_CLASS] = class_id


def student_account() -> str | None:
    """The student this browser session is, as the job engine counts caps and quotas (a job per
    student, not per tab); None outside a class."""
    if not token():
        return None
    store = _quiet_store()
    try:
        student = current_student(store) if store is not None else None
    except ClassError:
        return None
    return f"student:{student.id}" if student is not None else None


def track(job) -> None:
    """Record a job just submitted on the Train page as a run of this student's class (or of
    the class the teacher has open). Nothing for someone outside a class."""
    if not token() and not st.session_state.get(_CLASS):
        return  # not in a class: nothing to record
    store = _quiet_store()
    if store is None:
        return
    try:  # the job is already queued: a database problem must not lose it
        student = current_student(store)
        if student is not None:
            recorder().track(job, student.class_id, student.id)
        elif (klass := chosen_class(store)) is not None:
            recorder().track(job, klass.id, None)
    except ClassError as e:
        st.warning(f"{e} This run trains, but the class dashboard will not show it.",
                   icon=":material/database:")


def my_class_runs(store: ClassStore) -> tuple[StudentInfo | None, list]:
    """This student's class runs (the runs list shows names as text)."""
    student = current_student(store)
    if student is None:
        return None, []
    return student, [r for r in store.runs(student.class_id) if r.student_id == student.id]


def join_link(code: str) -> str:
    """The join page's address on this server (the code only: identity never goes in a link)."""
    from urllib.parse import urlsplit

    url = urlsplit(st.context.url or "http://localhost:8501/")
    folder = url.path.rsplit("/", 1)[0]  # the app may be served under a base path
    return f"{url.scheme}://{url.netloc}{folder}/join?code={code}"


def picker_context() -> tuple[list, int | None, bool]:
    """For the model picker's groups: the runs' records of this person's class (a student's
    class, or the class the teacher has open), the student's id, and whether this is the teacher.
    Nothing for someone outside a class (and no database file is made for them)."""
    store = _quiet_store()
    if store is None:
        return [], None, False
    try:
        student = store.student(token()) if token() else None
        if student is not None:
            return store.runs(student.class_id, include_hidden=True), student.id, False
        klass = chosen_class(store)
        teacher = klass is not None and store.is_teacher(teacher_key(), caller())
        return (store.runs(klass.id, include_hidden=True) if teacher else []), None, teacher
    except ClassError:  # the database is busy or gone: the picker still lists every model
        return [], None, False


def adding_refused(what: str) -> str | None:
    """Why this person may not add `what` ("datasets", "shared models"), in a sentence, or None.
    The backend decides (:func:`explorer.classroom.powers.require_adder`); call it again when the
    file arrives, not only to hide the uploader."""
    from explorer import classroom

    try:
        classroom.require_adder(_quiet_store(), what, teacher_key(), token(), caller())
    except ClassError as e:
        return str(e)
    return None


def owner_caption(entry) -> None:
    """Under the model picker: who trained a class's run, and how it ended, in words."""
    if entry is None or entry.source != "run":
        return
    store = _quiet_store()
    if store is None or (record := store.run_by_name(entry.name)) is None:
        return
    klass = store.get_class(record.class_id)
    who = record.student or "the teacher"
    st.caption(f"Trained by {plain(who)} in {plain(klass.name if klass else '?')}: "
               f"{plain(record.ending())}.")


def _quiet_store() -> ClassStore | None:
    """The store, if there is one already, without a message on the page when it cannot open
    (the sidebar stays quiet). Someone who never opened a class gets no database file."""
    url = database_url()
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        return None
    try:
        return _store(url, configured_key())
    except ClassError:
        return None
