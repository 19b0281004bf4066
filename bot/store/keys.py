"""``python -m bot keys generate|rotate``: retire an encryption key without losing a dossier.

Why: Fernet decrypts with every listed key but encrypts with the first, so after a new key is put in
front (``MELDWIJZER_SECRET_KEY="new,old"`` or the key file's first line) the old data still needs the
old key. ``rotate`` re-encrypts every stored token under the first key, in both stores — the case store
(every ``Encrypted`` column, found from the models, so a new encrypted column is never forgotten) and the
tracker store's event data — after which the old key can be removed. Values are never decrypted into
Python objects here: ``MultiFernet.rotate`` re-wraps each token as it is.
"""

from __future__ import annotations

from typing import Dict, Iterable, List, Tuple

import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

from bot.store import crypto
from bot.store.db import get_engine, init_db, tracker_db_url
from bot.store.models import Base, Encrypted

BATCH = 500
# Rasa's events table as our encrypted tracker store writes it: data is an ASCII Fernet token.
TRACKER_COLUMNS = (("events", ("id",), "data", False),)
Column = Tuple[str, Tuple[str, ...], str, bool]  # table, primary key column(s), encrypted column, binary


def generate() -> str:
    """A new key for the admin to put in front of the current one."""
    return Fernet.generate_key().decode("ascii")


def case_store_columns() -> List[Column]:
    """(table, primary key columns, column, binary) for every encrypted column of the case store's models
    (a table may have a composite key, e.g. conversation_references: user and channel)."""
    columns: List[Column] = []
    for table in Base.metadata.sorted_tables:
        pk = tuple(c.name for c in table.primary_key.columns)
        columns += [(table.name, pk, c.name, True) for c in table.columns if isinstance(c.type, Encrypted)]
    return columns


def _rotate_column(engine: Engine, table: str, pk: Tuple[str, ...], column: str, binary: bool) -> int:
    """Re-encrypt one column under the first key, in batches in key order; returns the values rewritten."""
    value_type = sa.LargeBinary if binary else sa.Text
    tbl = sa.table(table, *(sa.column(name) for name in pk), sa.column(column, value_type))
    key_columns = [tbl.c[name] for name in pk]
    done, last = 0, None
    cipher = crypto.cipher()
    while True:
        query = (
            sa.select(*key_columns, tbl.c[column]).where(tbl.c[column].isnot(None)).order_by(*key_columns).limit(BATCH)
        )
        if last is not None:
            query = query.where(sa.tuple_(*key_columns) > sa.tuple_(*last))
        with engine.begin() as connection:
            rows = connection.execute(query).all()
            for row in rows:
                *key, value = row
                token = bytes(value) if binary else value.encode("ascii")
                fresh = cipher.rotate(token)
                match = sa.and_(*(c == v for c, v in zip(key_columns, key)))
                connection.execute(
                    sa.update(tbl).where(match).values({column: fresh if binary else fresh.decode("ascii")})
                )
        if not rows:
            return done
        done, last = done + len(rows), tuple(rows[-1])[:-1]


def _rotate_all(engine: Engine, columns: Iterable[Column]) -> Dict[str, int]:
    present = set(sa.inspect(engine).get_table_names())
    return {
        f"{table}.{column}": _rotate_column(engine, table, pk, column, binary)
        for table, pk, column, binary in columns
        if table in present
    }


def rotate() -> Dict[str, int]:
    """Re-encrypt every stored token in the case store and the tracker store under the first key."""
    case_engine = get_engine()
    init_db(case_engine)
    counts = _rotate_all(case_engine, case_store_columns())
    counts.update(_rotate_all(get_engine(tracker_db_url()), TRACKER_COLUMNS))
    return counts
