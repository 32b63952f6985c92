"""The class store: open a class, join it, record runs, and the teacher's powers.

Every method opens its own short transaction, so one store serves every session of a server (and
several servers share one PostgreSQL). Teacher-only methods take the key and are refused here, in
the backend, whatever a page shows or hides.
"""

from __future__ import annotations

import contextlib
import functools
import os
import secrets
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, event, select
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from explorer.classroom.identity import (
    ClassError,
    TeacherGate,
    TeacherRefused,
    clean_class_name,
    clean_name,
    name_key,
    new_token,
    token_hash,
)
from explorer.classroom.migrate import migrate, sqlite_pragmas
from explorer.classroom.models import Classroom, RunRecord, Setting, Student, now

CODE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read off a projector
CODE_LENGTH = 6
DB_FILE = "classroom.sqlite3"
ENDED = ("finished", "stopped", "tab_closed", "failed", "cancelled")


def database_url(runs: Path | None = None) -> str:
    """$EXPLORER_DATABASE_URL (e.g. ``postgresql+psycopg://host/explorer``), else SQLite in the
    runs folder."""
    if url := os.environ.get("EXPLORER_DATABASE_URL", "").strip():
        return url
    from explorer.runs import store

    folder = Path(runs or store.runs_dir())
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / DB_FILE}"


@dataclass(frozen=True)
class ClassInfo:
    id: int
    code: str
    name: str
    closed: bool


@dataclass(frozen=True)
class StudentInfo:
    id: int
    class_id: int
    name: str


@dataclass(frozen=True)
class RunInfo:
    id: int
    class_id: int
    student_id: int | None
    student: str  # the student's display name ("" for the teacher's own runs)
    run_name: str
    dataset: str
    kind: str
    settings: dict
    started: object
    updated: object
    ended: object
    status: str
    epoch: int
    epochs: int
    message: str
    metrics: dict
    history: list
    saved_path: str | None
    hidden: bool

    @property
    def partial(self) -> bool:
        return self.status in ("stopped", "tab_closed")

    def ending(self) -> str:
        """How it ended (or where it is), in words."""
        k, n = self.epoch, self.epochs
        return {
            "queued": "queued",
            "running": f"running, epoch {k} of {n}",
            "saving": f"saving, {k} of {n} epochs done",
            "finished": f"finished ({n} epochs)",
            "stopped": f"stopped by the student after {k} of {n} epochs",
            "tab_closed": f"stopped because the tab closed, after {k} of {n} epochs",
            "failed": f"failed: {self.message}",
            "cancelled": "cancelled before it started",
        }.get(self.status, self.status)


class ClassStore:
    def __init__(self, url: str, teacher_key: str | None = None, runs: Path | None = None):
        self.url = url
        self.runs_folder = runs
        sqlite = url.startswith("sqlite")
        self.engine = create_engine(url, pool_pre_ping=not sqlite)
        if sqlite:
            event.listen(self.engine, "connect", sqlite_pragmas)
        try:
            migrate(self.engine)
        except OperationalError as e:
            raise ClassError(f"The class database could not be opened ({_short(e)}).") from e
        # A key given at start-up is the key. Without one, the key `class new` keeps (its hash)
        # is read again at every check: a key made while the server runs takes effect at once.
        self._key_given = bool(teacher_key)
        self._gate = TeacherGate(token_hash(teacher_key) if teacher_key else
                                 self._setting("teacher_key_hash"))

    @property
    def gate(self) -> TeacherGate:
        if not self._key_given:
            self._gate.key_hash = self._setting("teacher_key_hash")
        return self._gate

    # -- the teacher key -------------------------------------------------------------------
    def _setting(self, key: str) -> str | None:
        with Session(self.engine) as s:
            row = s.get(Setting, key)
            return row.value if row else None

    def setting(self, key: str) -> str | None:
        return self._setting(key)

    def set_setting(self, key: str, value: str) -> None:
        with Session(self.engine) as s, s.begin():
            s.merge(Setting(key=key, value=value))

    def new_teacher_key(self) -> str:
        """A new teacher key (replacing a stored one): printed once, only its hash is kept."""
        key = secrets.token_hex(12)  # 96 bits, easy to copy (no leading dash)
        with Session(self.engine) as s, s.begin():
            s.merge(Setting(key="teacher_key_hash", value=token_hash(key)))
        self._gate.key_hash = token_hash(key)
        return key

    def is_teacher(self, key: str | None, caller: str = "") -> bool:
        try:
            return self.gate.is_teacher(key, caller)
        except TeacherRefused:
            return False

    # -- classes ---------------------------------------------------------------------------
    def open_class(self, name: str, key: str | None = None, caller: str = "") -> ClassInfo:
        self.gate.require(key, caller)
        name = clean_class_name(name)
        for _ in range(20):  # a code already taken: draw another
            code = "".join(secrets.choice(CODE_LETTERS) for _ in range(CODE_LENGTH))
            try:
                with Session(self.engine) as s, s.begin():
                    row = Classroom(code=code, name=name, closed=False, created=now())
                    s.add(row)
                    s.flush()
                    return _class(row)
            except IntegrityError:
                continue
        raise ClassError("Could not draw a free class code; try again.")

    def classes(self) -> list[ClassInfo]:
        with Session(self.engine) as s:
            return [_class(c) for c in s.scalars(select(Classroom).order_by(Classroom.id))]

    def class_by_code(self, code: str) -> ClassInfo | None:
        code = "".join(str(code or "").split()).upper()[:CODE_LENGTH + 2]
        with Session(self.engine) as s:
            row = s.scalar(select(Classroom).where(Classroom.code == code))
            return _class(row) if row else None

    def get_class(self, class_id: int) -> ClassInfo | None:
        with Session(self.engine) as s:
            row = s.get(Classroom, class_id)
            return _class(row) if row else None

    def close_class(self, class_id: int, key: str | None = None, caller: str = "",
                    closed: bool = True) -> None:
        """A closed class takes no new students; its roster and runs stay."""
        with self.teacher_edit(Classroom, class_id, "class", key, caller) as row:
            row.closed = closed

    @contextlib.contextmanager
    def teacher_edit(self, table, row_id: int, what: str, key: str | None, caller: str):
        """A teacher's change to one row of `table`, in one transaction after the key is checked;
        a row that is not there is a sentence ("There is no such `what`.")."""
        self.gate.require(key, caller)
        with Session(self.engine) as s, s.begin():
            row = s.get(table, row_id)
            if row is None:
                raise ClassError(f"There is no such {what}.")
            yield row

    # -- students --------------------------------------------------------------------------
    def join(self, code: str, raw_name: str) -> tuple[StudentInfo, str]:
        """A new student in the class with this code: their record and their token (to keep
        in their browser; the store keeps only its hash)."""
        name = clean_name(raw_name)
        klass = self.class_by_code(code)
        if klass is None:
            raise ClassError("There is no class with that code: check it with your teacher.")
        if klass.closed:
            raise ClassError("This class is closed to new students.")
        token = new_token()
        try:
            with Session(self.engine) as s, s.begin():
                row = Student(class_id=klass.id, name=name, name_key=name_key(name),
                              token_hash=token_hash(token), joined=now(), removed=False)
                s.add(row)
                s.flush()
                return _student(row), token
        except IntegrityError as e:  # the unique constraint decides two joins at one instant
            raise ClassError(f"Someone in this class is already called “{name}”: add an initial "
                             "or pick another name.") from e

    def student(self, token: str | None) -> StudentInfo | None:
        """The student holding `token`, or None for a forged, stale or removed one."""
        if not token or not isinstance(token, str) or len(token) > 200:
            return None
        with Session(self.engine) as s:
            row = s.scalar(select(Student).where(Student.token_hash == token_hash(token)))
            return _student(row) if row and not row.removed else None

    def roster(self, class_id: int) -> list[StudentInfo]:
        with Session(self.engine) as s:
            rows = s.scalars(select(Student).where(Student.class_id == class_id,
                                                   Student.removed.is_(False))
                             .order_by(Student.id))
            return [_student(r) for r in rows]

    def remove_student(self, student_id: int, key: str | None = None, caller: str = "") -> None:
        """Teacher only: the student's token stops working and their name is free again; their
        runs stay (the teacher may delete them)."""
        with self.teacher_edit(Student, student_id, "student", key, caller) as row:
            row.removed, row.token_hash = True, None
            row.name_key = f"#removed-{row.id}"

    # -- runs ------------------------------------------------------------------------------
    def start_run(self, class_id: int, student_id: int | None, run_name: str, dataset: str,
                  kind: str, settings: dict, epochs: int) -> int:
        with Session(self.engine) as s, s.begin():
            row = RunRecord(class_id=class_id, student_id=student_id, run_name=run_name,
                            dataset=dataset, kind=kind, settings=settings, epochs=epochs,
                            started=now(), updated=now(), status="queued", epoch=0, message="",
                            metrics={}, history=[], hidden=False)
            s.add(row)
            s.flush()
            return row.id

    def update_run(self, run_id: int, **fields) -> bool:
        """Fold what a job reported into its record (the recorder's thread calls this); False
        when the record is gone (its class was deleted meanwhile)."""
        with Session(self.engine) as s, s.begin():
            row = s.get(RunRecord, run_id)
            if row is None:
                return False
            history = fields.pop("append_history", None)
            for k, v in fields.items():
                setattr(row, k, v)
            if history is not None:
                row.history = [*row.history, history]
            row.updated = now()
            if row.status in ENDED and row.ended is None:
                row.ended = now()
            return True

    def runs(self, class_id: int, include_hidden: bool = False) -> list[RunInfo]:
        with Session(self.engine) as s:
            query = (select(RunRecord, Student.name)
                     .outerjoin(Student, Student.id == RunRecord.student_id)
                     .where(RunRecord.class_id == class_id).order_by(RunRecord.id))
            if not include_hidden:
                query = query.where(RunRecord.hidden.is_(False))
            return [_run(r, name) for r, name in s.execute(query)]

    def run(self, run_id: int) -> RunInfo | None:
        with Session(self.engine) as s:
            row = s.get(RunRecord, run_id)
            if row is None:
                return None
            student = s.get(Student, row.student_id) if row.student_id else None
            return _run(row, student.name if student else "")

    def run_by_name(self, run_name: str) -> RunInfo | None:
        """The record of the run saved in the runs folder as `run_name` (None for a run trained
        outside a class, or copied in)."""
        with Session(self.engine) as s:
            row = s.scalars(select(RunRecord).where(RunRecord.run_name == run_name)
                            .order_by(RunRecord.id.desc())).first()
            if row is None:
                return None
            student = s.get(Student, row.student_id) if row.student_id else None
            return _run(row, student.name if student else "")

    def hide_run(self, run_id: int, key: str | None = None, caller: str = "",
                 hidden: bool = True) -> None:
        self.gate.require(key, caller)
        self.update_run(run_id, hidden=hidden)

    def delete_run(self, run_id: int, key: str | None = None, token: str | None = None,
                   caller: str = "") -> None:
        """The teacher may delete any run, a student only their own: the record and its folder
        in the runs folder go."""
        record = self.run(run_id)
        if record is None:
            raise ClassError("That run is already gone.")
        student = self.student(token)
        own = student is not None and student.id == record.student_id
        if not own:
            self.gate.require(key, caller)
        if record.status not in ENDED:
            raise ClassError("Stop this run before deleting it.")
        with Session(self.engine) as s, s.begin():
            row = s.get(RunRecord, run_id)
            if row is not None:
                s.delete(row)
        _remove_folder(record.saved_path, self.runs_folder)


def _remove_folder(saved_path: str | None, runs: Path | None) -> None:
    """Remove a run's folder, only ever one directly inside the runs folder."""
    if not saved_path:
        return
    from explorer.runs import store

    root = Path(runs or store.runs_dir()).resolve()
    folder = Path(saved_path).resolve()
    if folder.parent == root and folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)


def _short(e: Exception) -> str:
    return str(getattr(e, "orig", e)).splitlines()[0][:200]


def _class(row: Classroom) -> ClassInfo:
    return ClassInfo(row.id, row.code, row.name, bool(row.closed))


def _student(row: Student) -> StudentInfo:
    return StudentInfo(row.id, row.class_id, row.name)


def _run(row: RunRecord, student: str | None) -> RunInfo:
    return RunInfo(row.id, row.class_id, row.student_id, student or "", row.run_name,
                   row.dataset, row.kind, dict(row.settings or {}), row.started, row.updated,
                   row.ended, row.status, row.epoch, row.epochs, row.message,
                   dict(row.metrics or {}), list(row.history or []), row.saved_path,
                   bool(row.hidden))


UNREACHABLE = ("The class database is busy or cannot be reached ({why}); try again in a moment. "
               "Training goes on.")


def _said(method):
    """A database that is locked, read-only or gone becomes one sentence, not a traceback."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except IntegrityError:
            raise
        except DBAPIError as e:
            raise ClassError(UNREACHABLE.format(why=_short(e))) from e
    return wrapper


for _name in ("open_class", "classes", "class_by_code", "get_class", "close_class", "join",
              "student", "roster", "remove_student", "runs", "run", "run_by_name", "hide_run",
              "delete_run", "new_teacher_key", "start_run", "is_teacher", "setting", "set_setting"):
    setattr(ClassStore, _name, _said(getattr(ClassStore, _name)))


_STORES: dict[tuple[str, str | None], ClassStore] = {}
_STORES_LOCK = threading.Lock()


def open_store(url: str | None = None, teacher_key: str | None = None) -> ClassStore:
    """The process's store for `url` (default :func:`database_url`), opened (and migrated) once."""
    url = url or database_url()
    with _STORES_LOCK:
        if (url, teacher_key) not in _STORES:
            _STORES[url, teacher_key] = ClassStore(url, teacher_key)
        return _STORES[url, teacher_key]
