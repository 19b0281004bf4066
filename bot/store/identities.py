"""Stored user identities as keyed hashes, so a stolen database names nobody.

Why: the case store and the tracker store are keyed by the person. In clear (``teams:<tenant>:<Entra
object id>``, ``web:<sub>``, ``rest:<client>:<sender>``), a reader of a copied database joins a case, its
outcomes, milestones and note kinds to a named colleague without any key. So the channels hand Rasa
``<channel>:<hex HMAC-SHA256>`` instead (``plugins/channels/identity.py``), and the tracker, the actions,
the logs and the case store never see the clear identity. The channel prefix stays: it names no person.

The id key is separate from the Fernet data keys: a leaked data key does not also name the people.
``MELDWIJZER_ID_KEY`` (comma-separated) or the key file ``MELDWIJZER_ID_KEY_FILE`` (default ``id.key``
beside the data key file, one key per line), created with mode 0600 on first run unless
``MELDWIJZER_REQUIRE_KEY=1``. Each key is 64 hex characters (``python -m bot keys generate-id``).

Rotation: an HMAC cannot be recomputed without the clear ids, which are nowhere stored. The keys are a
chain, oldest first: the identity is ``HMAC(k_n, ... HMAC(k_1, clear))``, and a rotation appends a key
and re-hashes every stored id with that key alone (``bot.store.keys.rotate_ids``). Afterwards no single
key, old or new, lets anyone join a stored id to a person.

Each store keeps a canary in a one-row table: the chain over a fixed text. It tells which keys the
store's ids were hashed with, so a wrong or lost id key (every person would silently get a new, empty
identity) stops the bot, and a rotation that stopped half-way is finished by running it again.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Callable, Iterable, Mapping, Optional, Sequence, Set, Tuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from bot.store import crypto, serialise

ENV_ID_KEY = "MELDWIJZER_ID_KEY"
ENV_ID_KEY_FILE = "MELDWIJZER_ID_KEY_FILE"
ID_KEY_FILE_NAME = "id.key"
CANARY_TEXT = "meldwijzer:identity-canary"
CASE_STORE_CHAIN = "identity_chain"  # the model bot.store.models.IdentityChain, created by migration 0007
TRACKER_CHAIN = "tracker_identity_chain"  # created here: Rasa's database has no migrations of ours
TRACKER_IDENTITY_COLUMNS = (("events", "sender_id"),)
_KEY = re.compile(r"[0-9a-f]{64}")

Keys = Tuple[bytes, ...]
IdentityColumn = Tuple[str, str]  # table, column


class IdentityKeyError(crypto.EncryptionKeyError):
    """The id key is missing, malformed or unsafe, or a store's ids were hashed with other keys."""


def id_key_file_path(environ: Optional[Mapping[str, str]] = None) -> Path:
    """``MELDWIJZER_ID_KEY_FILE``, or ``id.key`` beside the data key file (same folder, same care)."""
    env = os.environ if environ is None else environ
    return Path(env.get(ENV_ID_KEY_FILE) or crypto.key_file_path(env).parent / ID_KEY_FILE_NAME)


def new_key() -> bytes:
    """A fresh id key: 32 random bytes as hex."""
    return secrets.token_hex(32).encode("ascii")


def _parse(raw: str, origin: str) -> Keys:
    parts = [part.strip() for part in raw.replace("\n", ",").split(",") if part.strip()]
    if not parts:
        raise IdentityKeyError(f"No id key found in {origin}.")
    if not all(_KEY.fullmatch(part) for part in parts):
        raise IdentityKeyError(
            f"Malformed id key in {origin}: each key is 64 hex characters (`python -m bot keys generate-id`)."
        )
    return tuple(bytes.fromhex(part) for part in parts)


@lru_cache(maxsize=8)
def _keys_for(env_keys: Optional[str], key_file: Path, require: bool) -> Keys:
    """The keys of one configuration, read once (a message costs no file read)."""
    if env_keys:
        return _parse(env_keys, ENV_ID_KEY)
    try:
        raw = crypto.read_key_file(key_file, require, new_key, ENV_ID_KEY)
    except crypto.EncryptionKeyError as error:
        raise IdentityKeyError(str(error)) from error
    return _parse(raw, str(key_file))


def id_keys(environ: Optional[Mapping[str, str]] = None) -> Keys:
    """The id key chain of the current environment (or of ``environ``), oldest key first."""
    env = os.environ if environ is None else environ
    return _keys_for(env.get(ENV_ID_KEY) or None, id_key_file_path(env), env.get(crypto.ENV_REQUIRE_KEY) == "1")


def _link(key: bytes, text: str) -> str:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def chained(keys: Sequence[bytes], text: str) -> str:
    """``HMAC(k_n, ... HMAC(k_1, text))`` as hex (each link hashes the previous one's hex)."""
    for key in keys:
        text = _link(key, text)
    return text


def hashed(clear: str, keys: Sequence[bytes]) -> str:
    """The stored form of a clear identity: its channel prefix, then the chain over the whole identity."""
    return f"{clear.split(':', 1)[0]}:{chained(keys, clear)}"


def stored_identity(clear: str, environ: Optional[Mapping[str, str]] = None) -> str:
    """What every store keeps for the person the channel names ``clear``: the one place ids are hashed."""
    return hashed(clear, id_keys(environ))


def rehashed(stored: str, key: bytes) -> str:
    """A stored identity one link further down the chain (what a rotation does to each id)."""
    channel, _, digest = stored.partition(":")
    return f"{channel}:{_link(key, digest)}"


def canary(keys: Sequence[bytes]) -> str:
    return chained(keys, CANARY_TEXT)


def add_key(environ: Optional[Mapping[str, str]] = None) -> Keys:
    """Append a new key to the id key file (replaced whole, mode 0600) and return the new chain.

    With ``MELDWIJZER_ID_KEY`` set there is no file to write: the admin appends a key there."""
    env = os.environ if environ is None else environ
    if env.get(ENV_ID_KEY):
        raise IdentityKeyError(
            f"{ENV_ID_KEY} is set: append a new key to it (`python -m bot keys generate-id`), "
            "then run `python -m bot keys rotate-ids` again."
        )
    path = id_key_file_path(env)
    keys = id_keys(env)
    fresh = path.with_name(path.name + ".new")
    fresh.unlink(missing_ok=True)
    crypto.create_key_file(fresh, lambda: b"\n".join(key.hex().encode("ascii") for key in keys) + b"\n" + new_key())
    os.replace(fresh, path)
    _keys_for.cache_clear()
    return id_keys(env)


def _chain_table(name: str) -> sa.sql.expression.TableClause:
    return sa.table(name, sa.column("id", sa.Integer), sa.column("canary", sa.String(64)))


TRACKER_CHAIN_TABLE = sa.Table(
    TRACKER_CHAIN,
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("canary", sa.String(64), nullable=False),
)


def store_level(connection: Connection, table: str, keys: Sequence[bytes]) -> Optional[int]:
    """How many of ``keys`` the store's ids are hashed with (None: no canary yet, a store from before).

    A canary that matches no prefix of the chain is a wrong or lost key: an error, never a guess."""
    chain_table = _chain_table(table)
    value = connection.execute(sa.select(chain_table.c.canary)).scalar()
    if value is None:
        return None
    for level in range(len(keys), 0, -1):
        if hmac.compare_digest(canary(keys[:level]), value):
            return level
    raise IdentityKeyError(
        f"The ids in {table} were hashed with another id key: restore the id key ({ENV_ID_KEY} / "
        f"{ENV_ID_KEY_FILE}); with a new key every person would lose their cases."
    )


def set_canary(connection: Connection, table: str, keys: Sequence[bytes]) -> None:
    """Record (in the transaction that re-hashed them) which keys the store's ids are hashed with."""
    chain_table = _chain_table(table)
    connection.execute(sa.delete(chain_table))
    connection.execute(sa.insert(chain_table).values(id=1, canary=canary(keys)))


def require_current(connection: Connection, table: str, keys: Sequence[bytes]) -> None:
    """Refuse a store whose ids are hashed with fewer keys than configured (a rotation not finished)."""
    level = store_level(connection, table, keys)
    if level != len(keys):
        raise IdentityKeyError(
            f"The ids in {table} are hashed with {level or 0} of the {len(keys)} configured id keys: "
            "a rotation was not finished; run `python -m bot keys rotate-ids`."
        )


def rekey(
    connection: Connection,
    columns: Iterable[IdentityColumn],
    transform: Callable[[str], str],
    parents: Iterable[IdentityColumn] = (),
) -> int:
    """Replace every identity stored in ``columns`` by ``transform(old)``; returns the people re-keyed.

    One mapping for all columns, so a person's case, notes and grants still meet. A ``parent`` is a
    primary key other columns reference (``users.id``): its rows are copied under the new id, the
    references moved, and the old rows deleted, so no foreign key is broken at any moment."""
    columns, parents = list(columns), list(parents)
    olds: Set[str] = set()
    for table, column in columns:
        col = sa.column(column, sa.String)
        query = sa.select(col).select_from(sa.table(table, col)).where(col.isnot(None)).distinct()
        olds.update(value for (value,) in connection.execute(query))
    mapping = {old: transform(old) for old in sorted(olds)}
    for table, column in parents:
        _copy_rows(connection, table, column, mapping)
    for table, column in (c for c in columns if c not in parents):
        target = sa.table(table, sa.column(column, sa.String))
        for old, new in mapping.items():
            connection.execute(sa.update(target).where(target.c[column] == old).values({column: new}))
    for table, column in parents:
        target = sa.table(table, sa.column(column, sa.String))
        connection.execute(sa.delete(target).where(target.c[column].in_(list(mapping))))
    return len(mapping)


def _copy_rows(connection: Connection, table: str, column: str, mapping: Mapping[str, str]) -> None:
    reflected = sa.Table(table, sa.MetaData(), autoload_with=connection)
    rows = connection.execute(sa.select(reflected).where(reflected.c[column].in_(list(mapping)))).mappings().all()
    for row in rows:
        connection.execute(sa.insert(reflected).values({**row, column: mapping[row[column]]}))


def adopt_tracker_store(engine: Engine, keys: Sequence[bytes]) -> None:
    """At the Rasa server's start: a tracker store without a canary holds clear sender ids (written
    before ids were hashed): hash them, in the transaction that claims the canary, so no conversation
    is lost; one with a canary must match the keys. Several replicas may start at once: they take
    turns (``bot.store.serialise``), so only the first creates the table and re-keys."""
    with engine.begin() as connection:
        serialise.one_at_a_time(connection, serialise.TRACKER_ADOPTION_LOCK)
        TRACKER_CHAIN_TABLE.create(connection, checkfirst=True)
        claimed = connection.execute(sa.select(TRACKER_CHAIN_TABLE.c.id)).first() is not None
        if not claimed:
            connection.execute(sa.insert(TRACKER_CHAIN_TABLE).values(id=1, canary=canary(keys)))
            rekey(connection, TRACKER_IDENTITY_COLUMNS, lambda clear: hashed(clear, keys))
    with engine.connect() as connection:
        require_current(connection, TRACKER_CHAIN, keys)
