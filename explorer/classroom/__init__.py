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


# What the pages may use: each module, and the names offered from it (explorer/frontdoor.py).
OFFERS = {
    "dashboard": "dashboard_csv=export_csv dashboard_curves=curves dashboard_rows=rows rd_points",
    "deletion": "delete_class deletion_summary=summary",
    "follow": "latest_lead=latest Lead publish_view=publish View",
    "picker": "PICK_CLASS=CLASS PICK_MINE=MINE PICK_SHIPPED=SHIPPED picker_choices=choices "
              "picker_owners=owners",
    "powers": "allow_students require_adder STUDENTS_ADD_ENV=ENV students_may_add",
    "question_spec": "KINDS OPTION_MAX parse_question PROMPT_MAX QuestionError QuestionSpec",
    "questions": "answer answer_count=count answers answers_csv=export_csv ask close "
                 "get_question=get live_question=live my_answer QuestionInfo reveal",
    "recorder": "Recorder",
    "store": "ClassInfo ENDED StudentInfo",
    "truths": "click_hits READY_QUESTIONS=READY true_answer truth_plane=plane",
}
__getattr__, __dir__ = lazy(__name__, OFFERS, globals())
