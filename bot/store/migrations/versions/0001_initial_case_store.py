"""Initial case store: users, cases, weighing trace, notes, follow-ups, practice results, deletion log.

Revision ID: 0001
Revises:
Create Date: 2026-11-23

Column types are frozen here (plain DateTime(timezone=True) / LargeBinary) rather than imported from
bot.store.models: a migration must keep producing the same schema when the models change later. The
encryption and UTC handling live in the models' TypeDecorators and need no DDL of their own.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: Union[str, None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

# Children first on the way down, parents first on the way up.
TABLES = ("deletion_log", "practice_results", "followups", "notes", "weighing_answers", "cases", "users")


def _time(name: str, nullable: bool = False) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _id() -> sa.Column:
    return sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True)


def _case_id() -> sa.Column:
    return sa.Column(
        "case_id", sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True
    )


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.String(255), primary_key=True),
        sa.Column("organisation_id", sa.String(64), nullable=False, index=True),
        sa.Column("role", sa.String(64)),
        sa.Column("gemeente", sa.String(128)),
        _time("created_at"),
        _time("updated_at"),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("owner_id", sa.String(255), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("organisation_id", sa.String(64), nullable=False, index=True),
        sa.Column("pseudonym", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(8), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("done", sa.JSON(), nullable=False),
        _time("created_at"),
        _time("updated_at"),
        _time("closed_at", nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name="ck_cases_status"),
    )
    op.create_index("ix_cases_owner_status", "cases", ["owner_id", "status"])
    op.create_table(
        "weighing_answers",
        _id(),
        _case_id(),
        sa.Column("question", sa.Integer(), nullable=False),
        sa.Column("answer", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(64)),
        sa.Column("details", sa.LargeBinary(), nullable=False),
        _time("created_at"),
    )
    op.create_table(
        "notes",
        _id(),
        _case_id(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("author_id", sa.String(255), nullable=False),
        sa.Column("author_role", sa.String(64)),
        sa.Column("content_encrypted", sa.LargeBinary(), nullable=False),
        _time("occurred_at", nullable=True),
        _time("created_at"),
    )
    op.create_table(
        "followups",
        _id(),
        _case_id(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("description", sa.LargeBinary(), nullable=False),
        _time("created_at"),
        _time("done_at", nullable=True),
    )
    op.create_table(
        "practice_results",
        _id(),
        sa.Column("user_id", sa.String(255), sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("organisation_id", sa.String(64), nullable=False, index=True),
        sa.Column("practice_case_id", sa.String(64), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("max_score", sa.Float(), nullable=False),
        sa.Column("themes", sa.JSON(), nullable=False),
        _time("created_at"),
    )
    op.create_table(
        "deletion_log",
        _id(),
        sa.Column("case_id_hash", sa.String(64), nullable=False),
        _time("deleted_at"),
        sa.Column("notes_deleted", sa.Integer(), nullable=False),
        sa.Column("weighing_deleted", sa.Integer(), nullable=False),
        sa.Column("followups_deleted", sa.Integer(), nullable=False),
    )


def downgrade() -> None:
    for table in TABLES:
        op.drop_table(table)
