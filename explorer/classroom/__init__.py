"""The class: a teacher's class, its students and their runs' records, in a database.

SQLite in the runs folder by default (nothing to install), PostgreSQL when
``EXPLORER_DATABASE_URL`` names one (several app replicas share it). Alembic migrations run when
the store is opened. Model files stay in the runs folder; the database indexes who trained what
and how it ended. Never imports streamlit: the UI reads the teacher key and passes it down.
"""

from explorer.classroom.identity import ClassError, TeacherRefused
from explorer.classroom.store import ClassStore, database_url, open_store
from explorer.frontdoor import lazy

__all__ = ["ClassError", "ClassStore", "TeacherRefused", "database_url", "open_store"]


# What the pages may use, and the module each name comes from (explorer/frontdoor.py).
OFFERS = {
    "dashboard_csv": "dashboard:export_csv", "dashboard_curves": "dashboard:curves",
    "dashboard_rows": "dashboard:rows", "rd_points": "dashboard",
    "delete_class": "deletion", "deletion_summary": "deletion:summary",
    "latest_lead": "follow:latest", "Lead": "follow", "publish_view": "follow:publish",
    "View": "follow",
    "PICK_CLASS": "picker:CLASS", "PICK_MINE": "picker:MINE", "PICK_SHIPPED": "picker:SHIPPED",
    "picker_choices": "picker:choices", "picker_owners": "picker:owners",
    "allow_students": "powers", "require_adder": "powers", "STUDENTS_ADD_ENV": "powers:ENV",
    "students_may_add": "powers",
    "KINDS": "question_spec", "OPTION_MAX": "question_spec", "parse_question": "question_spec",
    "PROMPT_MAX": "question_spec", "QuestionError": "question_spec",
    "QuestionSpec": "question_spec",
    "answer": "questions", "answer_count": "questions:count", "answers": "questions",
    "answers_csv": "questions:export_csv", "ask": "questions", "close": "questions",
    "get_question": "questions:get", "live_question": "questions:live", "my_answer": "questions",
    "QuestionInfo": "questions", "reveal": "questions",
    "Recorder": "recorder",
    "ClassInfo": "store", "ENDED": "store", "StudentInfo": "store",
    "click_hits": "truths", "READY_QUESTIONS": "truths:READY", "true_answer": "truths",
    "truth_plane": "truths:plane",
}
__getattr__, __dir__ = lazy(__name__, OFFERS, globals())
