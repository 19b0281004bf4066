"""Every stored person id becomes a keyed hash (bot.store.identities), and the id key's canary is kept.

Why: ``teams:<tenant>:<object id>`` in clear let a reader of a stolen database name the owner of every
case. The rows written before this revision hold clear ids; they are hashed here with the configured id
key chain, users' rows copied under the new id before their cases and practice results move to it.
The list of columns is this revision's own (a later column is hashed when it is written).

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-11
"""

from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

from bot.store import identities

revision: str = "0007"
down_revision: Union[str, None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

USERS = ("users", "id")
COLUMNS = (
    USERS,
    ("cases", "owner_id"),
    ("cases", "closed_by"),
    ("notes", "author_id"),
    ("conversation_references", "user_id"),
    ("practice_results", "user_id"),
    ("role_grants", "user_id"),
    ("role_audit", "user_id"),
)


def upgrade() -> None:
    op.create_table(
        identities.CASE_STORE_CHAIN,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("canary", sa.String(64), nullable=False),
    )
    keys = identities.id_keys()
    connection = op.get_bind()
    identities.rekey(connection, COLUMNS, lambda clear: identities.hashed(clear, keys), parents=(USERS,))
    identities.set_canary(connection, identities.CASE_STORE_CHAIN, keys)


def downgrade() -> None:
    # The clear ids cannot be recovered from their hashes: going back leaves the hashed ids in place.
    op.drop_table(identities.CASE_STORE_CHAIN)
