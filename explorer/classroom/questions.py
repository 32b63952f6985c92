"""Predict, then reveal: the teacher asks the class a question, students answer on their own
screens, the teacher reveals the class's answers beside the true one. Stored with the class
(tables ``questions`` and ``answers``, migration ``0002_questions``).

One question of a class is live at a time: asking a new one closes the one before. A question is
"open" (students answer, and may change their answer), then "revealed" (answers are final and
everyone sees them), then "closed" (gone from students' screens, kept for the export).
Teacher-only actions take the key and are refused here, in the backend; a student answers with
their token, only in their own class. :func:`live` is what 30 students' screens poll: one small
query that reads the live question's id and state, nothing else.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, UniqueConstraint, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from explorer.classroom.dashboard import _cell
from explorer.classroom.identity import ClassError
from explorer.classroom.models import Base, Student, now
from explorer.classroom.question_spec import (
    QuestionError,
    QuestionSpec,
    parse_answer,
    parse_question,
)
from explorer.classroom.store import ClassStore, _said

STATES = ("open", "revealed", "closed")


class Question(Base):
    __tablename__ = "questions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    spec: Mapped[dict] = mapped_column(JSON)  # QuestionSpec.to_dict()
    truth: Mapped[dict | None] = mapped_column(JSON, nullable=True)  # {"value", "text"}
    state: Mapped[str] = mapped_column(String(12), default="open")
    asked: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    revealed: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Answer(Base):
    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("question_id", "student_id", name="uq_answer_once"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("questions.id", ondelete="CASCADE"))
    student_id: Mapped[int] = mapped_column(ForeignKey("students.id", ondelete="CASCADE"))
    value: Mapped[object] = mapped_column(JSON)  # an option's text, a number, or [x, y]
    answered: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)


@dataclass(frozen=True)
class QuestionInfo:
    id: int
    class_id: int
    spec: QuestionSpec
    truth: dict | None  # {"value": ..., "text": how it was computed}, or None (no stated answer)
    state: str
    asked: object


@dataclass(frozen=True)
class AnswerInfo:
    student_id: int
    student: str  # the display name, as typed
    value: object
    answered: object


def _question(row: Question) -> QuestionInfo:
    return QuestionInfo(row.id, row.class_id, parse_question(row.spec),
                        dict(row.truth) if row.truth else None, row.state, row.asked)


def stated_truth(spec: QuestionSpec) -> dict | None:
    """The teacher's stated answer as the question's truth (None when there is none)."""
    if spec.answer is None:
        return None
    return {"value": spec.answer, "text": "The answer the teacher gave with the question."}


@_said
def ask(store: ClassStore, class_id: int, spec: QuestionSpec | dict, truth: dict | None = None,
        key: str | None = None, caller: str = "") -> QuestionInfo:
    """Teacher only: put `spec` to the class (closing the live question, if any). `truth` is the
    true answer the app computed ({"value", "text"}); without one, the stated answer if any."""
    store.gate.require(key, caller)
    spec = parse_question(spec)
    truth = truth if truth is not None else stated_truth(spec)
    with Session(store.engine) as s, s.begin():
        if store.get_class(class_id) is None:
            raise ClassError("There is no such class.")
        for old in s.scalars(select(Question).where(Question.class_id == class_id,
                                                    Question.state != "closed")):
            old.state = "closed"
        row = Question(class_id=class_id, spec=spec.to_dict(), truth=truth, state="open",
                       asked=now())
        s.add(row)
        s.flush()
        return _question(row)


@_said
def live(store: ClassStore, class_id: int) -> tuple[int, str] | None:
    """(id, state) of the class's live question (open or revealed), or None: what every
    student's screen polls, so it reads two small columns of one row."""
    with Session(store.engine) as s:
        row = s.execute(select(Question.id, Question.state)
                        .where(Question.class_id == class_id, Question.state != "closed")
                        .order_by(Question.id.desc()).limit(1)).first()
        return (row[0], row[1]) if row else None


@_said
def get(store: ClassStore, question_id: int) -> QuestionInfo | None:
    with Session(store.engine) as s:
        row = s.get(Question, question_id)
        return _question(row) if row else None


@_said
def asked(store: ClassStore, class_id: int) -> list[QuestionInfo]:
    """Every question the class was asked, oldest first."""
    with Session(store.engine) as s:
        return [_question(r) for r in s.scalars(select(Question).where(
            Question.class_id == class_id).order_by(Question.id))]


@_said
def answer(store: ClassStore, question_id: int, token: str | None, raw: object) -> object:
    """A student's answer (their token says who): one per student, which they may change until
    the reveal. Returns the answer as stored; refused with a sentence otherwise."""
    student = store.student(token)
    if student is None:
        raise ClassError("Join the class to answer its questions.")
    question = get(store, question_id)
    if question is None or question.class_id != student.class_id:
        raise ClassError("That question is not one of your class's.")
    if question.state != "open":
        raise ClassError("The answers are revealed: this question takes no more answers.")
    try:
        value = parse_answer(question.spec, raw)
    except QuestionError as e:
        raise ClassError(str(e)) from e
    for _ in range(2):  # a double click racing itself: the second one updates the first's row
        try:
            with Session(store.engine) as s, s.begin():
                # Re-read the state in this transaction: an answer that crosses the reveal loses.
                state = s.scalar(select(Question.state).where(Question.id == question_id))
                if state != "open":
                    raise ClassError("The answers are revealed: this question takes no more "
                                     "answers.")
                row = s.scalar(select(Answer).where(Answer.question_id == question_id,
                                                    Answer.student_id == student.id))
                if row is None:
                    s.add(Answer(question_id=question_id, student_id=student.id, value=value,
                                 answered=now()))
                else:
                    row.value, row.answered = value, now()
            return value
        except IntegrityError:
            continue
    raise ClassError("Your answer could not be saved; try again.")


@_said
def my_answer(store: ClassStore, question_id: int, token: str | None) -> object | None:
    """What this student answered (None if nothing yet)."""
    student = store.student(token)
    if student is None:
        return None
    with Session(store.engine) as s:
        return s.scalar(select(Answer.value).where(Answer.question_id == question_id,
                                                   Answer.student_id == student.id))


@_said
def answers(store: ClassStore, question_id: int) -> list[AnswerInfo]:
    """The class's answers with the students' display names, in the order they came."""
    with Session(store.engine) as s:
        rows = s.execute(select(Answer, Student.name).join(Student, Student.id ==
                                                           Answer.student_id)
                         .where(Answer.question_id == question_id).order_by(Answer.id))
        return [AnswerInfo(a.student_id, name, a.value, a.answered) for a, name in rows]


@_said
def count(store: ClassStore, question_id: int) -> int:
    from sqlalchemy import func

    with Session(store.engine) as s:
        return int(s.scalar(select(func.count(Answer.id))
                            .where(Answer.question_id == question_id)) or 0)


def _set_state(store: ClassStore, question_id: int, state: str, key: str | None,
               caller: str) -> None:
    with store.teacher_edit(Question, question_id, "question", key, caller) as row:
        row.state = state
        if state == "revealed" and row.revealed is None:
            row.revealed = now()


@_said
def reveal(store: ClassStore, question_id: int, key: str | None = None, caller: str = "") -> None:
    """Teacher only: answers become final, and every screen shows them beside the truth."""
    _set_state(store, question_id, "revealed", key, caller)


@_said
def close(store: ClassStore, question_id: int, key: str | None = None, caller: str = "") -> None:
    """Teacher only: the question leaves the students' screens (kept for the export)."""
    _set_state(store, question_id, "closed", key, caller)


EXPORT_COLUMNS = ("question", "asked", "kind", "prompt", "student", "answer", "answered",
                  "true_answer", "how_the_truth_was_found")


def _value_text(value: object) -> str:
    """An answer or a truth in a cell: a number as digits, a point as "(x, y)", an option's
    text guarded against a spreadsheet's formulas."""
    if isinstance(value, list):
        return "(" + ", ".join(f"{float(v):.4g}" for v in value) + ")"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.6g}"
    return _cell(value)


@_said
def export_csv(store: ClassStore, class_id: int, key: str | None = None, caller: str = "") -> str:
    """Teacher only: every answer to every question of the class, one row each, with the
    students' display names (never a token). A cell that a spreadsheet would run as a formula
    is prefixed with a quote (the dashboard's export does the same)."""
    store.gate.require(key, caller)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for q in asked(store, class_id):
        truth = q.truth or {}
        for a in answers(store, q.id):
            writer.writerow([
                q.id, q.asked.isoformat() if q.asked else "", q.spec.kind, _cell(q.spec.prompt),
                _cell(a.student), _value_text(a.value),
                a.answered.isoformat() if a.answered else "", _value_text(truth.get("value")),
                _cell(truth.get("text", ""))])
    return buffer.getvalue()
