"""``python -m bot keys generate|rotate|generate-id|rotate-ids``: retire a key without losing a dossier.

Why: Fernet decrypts with every listed key but encrypts with the first, so after a new key is put in
front (``MELDWIJZER_SECRET_KEY="new,old"`` or the key file's first line) the old data still needs the
old key. ``rotate`` re-encrypts every stored token under the first key, in both stores — the case store
(every ``Encrypted`` column, found from the models, so a new encrypted column is never forgotten) and the
tracker store's event data — after which the old key can be removed. Values are never decrypted into
Python objects here: ``MultiFernet.rotate`` re-wraps each token as it is.

``rotate-ids`` does the same for the id key (``bot.store.identities``): it appends a new key to the chain
and re-hashes every stored identity with it, in each store in one transaction with that store's canary.
A store left behind (the command stopped half-way, or a key appended to ``MELDWIJZER_ID_KEY`` by hand)
is brought up to the configured chain first, without adding a key.
"""

from __future__ import annotations

from functools import partial
from typing import Dict, Iterable, List, Sequence, Tuple

import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import Engine

from bot.store import crypto, identities
from bot.store.db import get_engine, init_db, tracker_db_url
from bot.store.models import Base, Encrypted

BATCH = 500
# Rasa's events table as our encrypted tracker store writes it: data is an ASCII Fernet token.
TRACKER_COLUMNS = (("events", ("id",), "data", False),)
Column = Tuple[str, Tuple[str, ...], str, bool]  # table, primary key column(s), encrypted column, binary


def generate() -> str:
    """A new key for the admin to put in front of the current one."""
    return Fernet.generate_key().decode("ascii")


def generate_id() -> str:
    """A new id key, for an admin who keeps the keys in ``MELDWIJZER_ID_KEY`` (appended at its end)."""
    return identities.new_key().decode("ascii")


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


def case_store_identity_columns() -> Tuple[List[identities.IdentityColumn], List[identities.IdentityColumn]]:
    """Every column of the case store's models that holds a person's identity (``info=IDENTITY``), and
    those among them that other columns reference (``users.id``), which are re-keyed by copying."""
    referenced = {(fk.column.table.name, fk.column.name) for t in Base.metadata.sorted_tables for fk in t.foreign_keys}
    columns = [
        (table.name, c.name) for table in Base.metadata.sorted_tables for c in table.columns if c.info.get("identity")
    ]
    return columns, [c for c in columns if c in referenced]


def _catch_up(
    engine: Engine,
    chain_table: str,
    keys: Sequence[bytes],
    columns: Iterable[identities.IdentityColumn],
    parents: Iterable[identities.IdentityColumn] = (),
) -> int:
    """Re-hash a store's ids with each configured key it lacks, and its canary, in one transaction;
    returns the people re-keyed (0 for a store that has no canary yet: it hashes its clear ids itself)."""
    columns, parents = list(columns), list(parents)
    with engine.begin() as connection:
        level = identities.store_level(connection, chain_table, keys)
        if level is None:
            return 0
        people = 0
        for key in keys[level:]:
            people = identities.rekey(connection, columns, partial(identities.rehashed, key=key), parents)
        identities.set_canary(connection, chain_table, keys)
        return people


def _levels(engines: Sequence[Tuple[Engine, str]], keys: Sequence[bytes]) -> List[int]:
    levels = []
    for engine, table in engines:
        if sa.inspect(engine).has_table(table):
            with engine.connect() as connection:
                level = identities.store_level(connection, table, keys)
            if level is not None:
                levels.append(level)
    return levels


def rotate_ids() -> Dict[str, int]:
    """Append a new id key and re-hash every stored identity in the case store and the tracker store with
    it (or, when a store is behind the configured chain, finish that first); returns people per store."""
    case_engine = get_engine()
    init_db(case_engine)
    tracker_engine = get_engine(tracker_db_url())
    keys = identities.id_keys()
    stores = [(case_engine, identities.CASE_STORE_CHAIN), (tracker_engine, identities.TRACKER_CHAIN)]
    if all(level == len(keys) for level in _levels(stores, keys)):
        keys = identities.add_key()
    columns, parents = case_store_identity_columns()
    counts = {"case store": _catch_up(case_engine, identities.CASE_STORE_CHAIN, keys, columns, parents)}
    if sa.inspect(tracker_engine).has_table(identities.TRACKER_CHAIN):
        counts["tracker store"] = _catch_up(
            tracker_engine, identities.TRACKER_CHAIN, keys, identities.TRACKER_IDENTITY_COLUMNS
        )
    return counts
