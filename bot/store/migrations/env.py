"""Alembic environment of the case store.

Two ways in: ``bot.store.db.init_db`` passes an open connection in ``config.attributes`` (the normal
case: the application migrates itself), or the ``alembic`` CLI, which connects to ``-x url=...`` or
``MELDWIJZER_DB_URL``. ``render_as_batch`` lets later revisions alter tables on SQLite too.
"""

from __future__ import annotations

from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context

from bot.store.db import database_url
from bot.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure_and_run(connection: sa.engine.Connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name)  # CLI only: never reconfigure the application's logging
    url = context.get_x_argument(as_dictionary=True).get("url") or database_url()
    engine = sa.create_engine(url, future=True)
    try:
        with engine.connect() as cli_connection:
            _configure_and_run(cli_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported; connect to the database instead.")
run_migrations_online()
