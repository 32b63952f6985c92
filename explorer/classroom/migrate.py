"""Bring a class database up to the current schema (Alembic, ``migrations/``), one opener at a
time: a process lock (Alembic's context is global), a lock file beside a SQLite database, and an
advisory lock on PostgreSQL (replicas starting together)."""

from __future__ import annotations

import contextlib
import fcntl
import threading
from pathlib import Path

from sqlalchemy import text

MIGRATIONS = Path(__file__).with_name("migrations")


_MIGRATE_LOCK = threading.Lock()  # alembic's context is global to the process


@contextlib.contextmanager
def _sqlite_file_lock(engine):
    """Servers opening one SQLite file at once migrate it one after the other."""
    database = engine.url.database if engine.url.get_backend_name() == "sqlite" else None
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def migrate(engine) -> None:
    with _MIGRATE_LOCK, _sqlite_file_lock(engine):
        _upgrade(engine)


def _upgrade(engine) -> None:
    from alembic import command  # imported when a store opens, not when the app starts
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Replicas starting together: one migrates, the others wait, then find it done.
            connection.execute(text("SELECT pg_advisory_xact_lock(24024)"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")  # a locked file waits, then says so
    # Readers (the dashboards, every second) and the recorder's writes do not block each other.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
