"""Predict, then reveal: the questions a class is asked and its students' answers.

Revision ID: 0002_questions
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_questions"
down_revision = "0002_follow"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "questions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("class_id", sa.Integer(), sa.ForeignKey("classes.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("truth", sa.JSON(), nullable=True),
        sa.Column("state", sa.String(12), nullable=False),
        sa.Column("asked", WHEN, nullable=False),
        sa.Column("revealed", WHEN, nullable=True),
    )
    # What every student's screen polls: the class's live question.
    op.create_index("ix_questions_class", "questions", ["class_id", "state"])
    op.create_table(
        "answers",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("question_id", sa.Integer(),
                  sa.ForeignKey("questions.id", ondelete="CASCADE"), nullable=False),
        sa.Column("student_id", sa.Integer(), sa.ForeignKey("students.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("answered", WHEN, nullable=False),
        sa.UniqueConstraint("question_id", "student_id", name="uq_answer_once"),
    )


def downgrade() -> None:
    op.drop_table("answers")
    op.drop_index("ix_questions_class", "questions")
    op.drop_table("questions")
