"""Start-up work that several processes may begin at the same moment, done by one at a time.

Why: a Rasa server, its action-server workers and a second replica all start together against one
PostgreSQL database; each creates its tables and claims its canary if missing. ``CREATE TABLE ... IF NOT
EXISTS`` is not safe against a concurrent create in PostgreSQL (both pass the check, one fails on the
catalogue's unique index), so each such step takes a transaction-level advisory lock first. SQLite
serialises writers itself and needs nothing.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

MIGRATION_LOCK = 0x6D656C64  # the case store's Alembic upgrade
TRACKER_ADOPTION_LOCK = 0x6D777472  # the tracker store's identity chain (bot.store.identities)


def one_at_a_time(connection: Connection, lock: int) -> None:
    """Wait until no other transaction holds ``lock``; it is released when this transaction ends."""
    if connection.dialect.name == "postgresql":
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock})
