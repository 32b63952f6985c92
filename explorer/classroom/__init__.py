"""The class: a teacher's class, its students and their runs' records, in a database.

SQLite in the runs folder by default (nothing to install), PostgreSQL when
``EXPLORER_DATABASE_URL`` names one (several app replicas share it). Alembic migrations run when
the store is opened. Model files stay in the runs folder; the database indexes who trained what
and how it ended. Never imports streamlit: the UI reads the teacher key and passes it down.
"""

from explorer.classroom.identity import ClassError, TeacherRefused
from explorer.classroom.store import ClassStore, database_url, open_store

__all__ = ["ClassError", "ClassStore", "TeacherRefused", "database_url", "open_store"]
