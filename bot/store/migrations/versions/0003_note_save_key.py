"""Idempotent note saves: a key fixed when the summary is shown, unique per case.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: Union[str, None] = "0002"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    with op.batch_alter_table("notes") as batch:  # batch: SQLite cannot add a constraint in place
        batch.add_column(sa.Column("save_key", sa.String(64)))
        batch.create_unique_constraint("uq_notes_save_key", ["case_id", "save_key"])


def downgrade() -> None:
    with op.batch_alter_table("notes") as batch:
        batch.drop_constraint("uq_notes_save_key", type_="unique")
        batch.drop_column("save_key")
