"""Closing and reopening cases: why a case was closed, by whom, and whether the owner was told.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

``close_reason`` is one of the reason codes in ``bot/cases.py`` (``inactive`` for the auto-close);
``closed_by`` is the user who closed it (NULL for the auto-close); ``close_announced_at`` is set once
the owner has been told about an automatic close at the start of a conversation.
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: Union[str, None] = "0003"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:  # batch: SQLite cannot alter a table in place
        batch.add_column(sa.Column("close_reason", sa.String(32)))
        batch.add_column(sa.Column("closed_by", sa.String(255)))
        batch.add_column(sa.Column("close_announced_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.drop_column("close_announced_at")
        batch.drop_column("closed_by")
        batch.drop_column("close_reason")
