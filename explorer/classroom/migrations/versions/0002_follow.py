"""Follow the teacher: one row per class holding the teacher's page and view.

Revision ID: 0002_follow
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_follow"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "follow_state",
        sa.Column("class_id", sa.Integer(), sa.ForeignKey("classes.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("page", sa.String(40), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("follow_state")
