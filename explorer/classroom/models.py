"""The class store's tables (SQLAlchemy 2 declarative). Changing them needs a migration in
``migrations/versions``."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAME_MAX = 40  # a display name's characters
CLASS_NAME_MAX = 80


def now() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Setting(Base):
    """Server-wide values, e.g. the hash of a teacher key printed by ``class new``."""

    __tablename__ = "settings"
    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class Classroom(Base):
    __tablename__ = "classes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(12), unique=True)  # short join code, not a secret
    name: Mapped[str] = mapped_column(String(CLASS_NAME_MAX))
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    closed: Mapped[bool] = mapped_column(Boolean, default=False)


class Student(Base):
    __tablename__ = "students"
    __table_args__ = (UniqueConstraint("class_id", "name_key", name="uq_student_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(NAME_MAX))
    # casefolded name: two students cannot be "Ada" and "ada" (the constraint decides a race)
    name_key: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    joined: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    removed: Mapped[bool] = mapped_column(Boolean, default=False)


class RunRecord(Base):
    """One training run of a class: who, when, with what settings, and how it ended."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"))
    student_id: Mapped[int | None] = mapped_column(ForeignKey("students.id"), nullable=True)
    run_name: Mapped[str] = mapped_column(String(200))  # the folder in the runs folder
    dataset: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    settings: Mapped[dict] = mapped_column(JSON, default=dict)
    started: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
    ended: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # queued, running, saving, finished, stopped, tab_closed, failed, cancelled
    status: Mapped[str] = mapped_column(String(20), default="queued")
    epoch: Mapped[int] = mapped_column(Integer, default=0)
    epochs: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    history: Mapped[list] = mapped_column(JSON, default=list)  # per epoch: test loss parts
    saved_path: Mapped[str | None] = mapped_column(String(400), nullable=True)
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)


class FollowState(Base):
    """What the teacher shows while "Class follows me" is on: one row per class, read by every
    follower (explorer/classroom/follow.py). `version` goes up by one at each change."""

    __tablename__ = "follow_state"
    class_id: Mapped[int] = mapped_column(ForeignKey("classes.id", ondelete="CASCADE"),
                                          primary_key=True)
    active: Mapped[bool] = mapped_column(Boolean, default=False)
    page: Mapped[str] = mapped_column(String(40), default="")
    params: Mapped[dict] = mapped_column(JSON, default=dict)  # query parameter -> its values
    version: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=now)
