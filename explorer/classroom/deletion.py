"""Deleting a class (teacher only): its roster and runs' records go, and so do its runs' model
folders in the runs folder — a class's runs are its students' work, and left behind they would be
listed to everyone as runs of no class. A run still queued or training is stopped: the server's
recorder stops it at once when the Teacher page deleted the class, or at its next epoch when
``python -m explorer class delete`` did (another process), tells its student why in a sentence,
and removes what it saves.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from explorer.classroom.identity import ClassError
from explorer.classroom.models import Classroom, RunRecord, Student
from explorer.classroom.store import ENDED, ClassStore, _remove_folder, _said

STOPPED = ("Your teacher deleted this class, so this run was stopped and its files removed; "
           "nothing of it is kept.")


@dataclass(frozen=True)
class Deleted:
    name: str
    students: int
    runs: int
    folders: int  # model folders removed from the runs folder
    active: tuple[int, ...]  # records of runs still queued or training: their jobs must stop


@_said
def summary(store: ClassStore, class_id: int) -> tuple[int, int, int]:
    """(students, runs, runs still queued or training): what deleting the class would remove."""
    runs = store.runs(class_id, include_hidden=True)
    return (len(store.roster(class_id)), len(runs),
            sum(r.status not in ENDED for r in runs))


@_said
def delete_class(store: ClassStore, class_id: int, key: str | None = None,
                 caller: str = "") -> Deleted:
    """Teacher only. Removes the class, its students and its runs' records in one transaction,
    then its ended runs' folders; returns what went, and the records whose jobs must stop."""
    store.gate.require(key, caller)
    klass = store.get_class(class_id)
    if klass is None:
        raise ClassError("There is no such class (already deleted?).")
    runs = store.runs(class_id, include_hidden=True)
    with Session(store.engine) as s, s.begin():
        students = len(s.scalars(select(Student.id).where(Student.class_id == class_id)).all())
        s.execute(delete(RunRecord).where(RunRecord.class_id == class_id))
        s.execute(delete(Student).where(Student.class_id == class_id))
        s.execute(delete(Classroom).where(Classroom.id == class_id))
    folders = 0
    for run in runs:
        if run.saved_path and run.status in ENDED:
            _remove_folder(run.saved_path, store.runs_folder)
            folders += 1
    return Deleted(klass.name, students, len(runs), folders,
                   tuple(r.id for r in runs if r.status not in ENDED))
