"""Reminders that arrive: reminder state on follow-ups, Teams conversation references, seen activities.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

``followups.reminded_at`` is set once a due reminder reached the owner; ``snoozes`` counts "later";
``remind_lease_until`` is the lease a scheduler holds on the row while it sends (so two replicas never
send one reminder twice). ``conversation_references`` holds the encrypted Teams address of a person;
``seen_activities`` the hashed ids of Teams activities already taken on (de-duplicating retries).
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: Union[str, None] = "0004"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("followups") as batch:  # batch: SQLite cannot alter a table in place
        batch.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("snoozes", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("remind_lease_until", sa.DateTime(timezone=True)))
    op.create_table(
        "conversation_references",
        sa.Column("user_id", sa.String(255), primary_key=True),
        sa.Column("channel", sa.String(16), primary_key=True),
        sa.Column("reference", sa.LargeBinary, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "seen_activities",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_seen_activities_seen_at", "seen_activities", ["seen_at"])


def downgrade() -> None:
    op.drop_index("ix_seen_activities_seen_at", table_name="seen_activities")
    op.drop_table("seen_activities")
    op.drop_table("conversation_references")
    with op.batch_alter_table("followups") as batch:
        batch.drop_column("remind_lease_until")
        batch.drop_column("snoozes")
        batch.drop_column("reminded_at")
