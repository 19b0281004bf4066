"""Engine, schema and the process-wide repositories.

Why: one engine per database URL per process (connection pooling, SQLite pragmas set once), and the
schema always brought to the newest Alembic revision before the first query, so a deployment never
runs new code against an old schema.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any, Dict, Optional

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Engine

from bot.knowledge import REPO_ROOT
from bot.store import identities, serialise
from bot.store.repositories import Repositories

VAR_DIR = REPO_ROOT / "var"
ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"
ENV_DB_URL = "MELDWIJZER_DB_URL"
ENV_TRACKER_DB_URL = "MELDWIJZER_TRACKER_DB_URL"

_lock = threading.Lock()
_engines: Dict[str, Engine] = {}
_repositories: Dict[str, Repositories] = {}


def sqlite_url_in_var(filename: str) -> str:
    """A SQLite URL for a file in the repo's ``var/`` (created if missing): the zero-setup default."""
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{VAR_DIR / filename}"


def database_url() -> str:
    """``MELDWIJZER_DB_URL``, or ``var/meldwijzer.db`` in the repo."""
    return os.environ.get(ENV_DB_URL) or sqlite_url_in_var("meldwijzer.db")


def tracker_db_url(endpoint_url: Optional[str] = None) -> str:
    """Where Rasa's (encrypted) conversation events live: ``MELDWIJZER_TRACKER_DB_URL`` wins (deployments
    configure by env), then a full URL from endpoints.yml, else ``var/tracker.db``. Here, not in
    ``tracker_store``, so the retention purge can find the table without importing Rasa."""
    from_env = os.environ.get(ENV_TRACKER_DB_URL)
    if from_env:
        return from_env
    if endpoint_url and "://" in endpoint_url:
        return endpoint_url
    return sqlite_url_in_var("tracker.db")


SQLITE_BUSY_TIMEOUT_MS = 5000


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """SQLite ignores foreign keys unless asked, per connection; WAL lets readers and a writer coexist,
    and a busy timeout makes a second writer wait briefly instead of failing at once."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def get_engine(url: Optional[str] = None) -> Engine:
    """The engine for ``url`` (default ``database_url()``), created once per process."""
    url = url or database_url()
    with _lock:
        if url not in _engines:
            # hide_parameters: a failed INSERT must not put a note's clear text into the logs.
            engine = sa.create_engine(url, future=True, pool_pre_ping=True, hide_parameters=True)
            if engine.dialect.name == "sqlite":
                sa.event.listen(engine, "connect", sqlite_pragmas)
            _engines[url] = engine
        return _engines[url]


def alembic_config() -> Config:
    """The Alembic configuration of the store (``bot/store/alembic.ini``), usable without a CLI."""
    return Config(str(ALEMBIC_INI))


def init_db(engine: Engine) -> None:
    """Upgrade the database to the newest revision (``alembic upgrade head``), idempotently.

    On PostgreSQL a transaction-level advisory lock serialises processes that start at the same time
    (Rasa server, action server workers), so only one of them creates the tables.
    """
    config = alembic_config()
    with engine.begin() as connection:
        serialise.one_at_a_time(connection, serialise.MIGRATION_LOCK)
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def repositories(url: Optional[str] = None) -> Repositories:
    """The process-wide repositories for ``url`` (default ``database_url()``); migrates on first use and
    refuses a store whose ids were hashed with other id keys (``bot.store.identities``)."""
    url = url or database_url()
    with _lock:
        cached = _repositories.get(url)
    if cached is not None:
        return cached
    engine = get_engine(url)
    init_db(engine)
    with engine.connect() as connection:  # a lost or wrong id key would give everyone an empty new identity
        identities.require_current(connection, identities.CASE_STORE_CHAIN, identities.id_keys())
    with _lock:
        return _repositories.setdefault(url, Repositories(engine))


def dispose_all() -> None:
    """Close every pooled connection and forget the cached engines (tests, and before forking)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _repositories.clear()
