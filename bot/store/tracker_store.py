"""Rasa tracker store that encrypts every conversation event at rest.

Why: Rasa's ``SQLTrackerStore`` writes each event as clear JSON, including everything a teacher typed
about a child. This subclass keeps Rasa's own logic (sessions, event order, keys) and changes only the
table's column types: ``data`` is encrypted with the case store's key (``bot.store.crypto``), and
``intent_name``/``action_name`` are left empty, because an intent such as ``acute_danger`` already
tells a reader of the raw table what a conversation was about. Rasa never queries those two columns.

endpoints.yml::

    tracker_store:
      type: bot.store.tracker_store.EncryptedSQLTrackerStore

The database is ``MELDWIJZER_TRACKER_DB_URL`` (default ``var/tracker.db``), else an explicit ``url:``
in endpoints.yml. Rasa builds custom stores as ``cls(host=url, domain=..., event_broker=..., **kwargs)``
(``rasa.core.tracker_store._load_from_module_name_in_endpoint_config``).
"""
from __future__ import annotations

from typing import Any, Optional, Text

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, _create_sequence
from rasa.shared.core.domain import Domain
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import declarative_base

from bot import server
from bot.store import crypto
from bot.store.db import sqlite_pragmas, tracker_db_url

# Every Rasa server of ours loads this module (endpoints.yml), so its process adjustments go in here.
server.install()

class EncryptedText(sa.types.TypeDecorator):
    """Text stored as a Fernet token (ASCII), decrypted on read; a wrong key raises, never returns garbage."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Optional[str], dialect: Dialect) -> Optional[str]:
        return None if value is None else crypto.encrypt(value.encode("utf-8")).decode("ascii")

    def process_result_value(self, value: Optional[str], dialect: Dialect) -> Optional[str]:
        return None if value is None else crypto.decrypt(value.encode("ascii")).decode("utf-8")


class Withheld(sa.types.TypeDecorator):
    """A column Rasa fills but never reads back, and that would leak what was said: always stored empty."""

    impl = sa.String(255)
    cache_ok = True

    def process_bind_param(self, value: Optional[str], dialect: Dialect) -> None:
        return None


class EncryptedSQLTrackerStore(SQLTrackerStore):
    """``SQLTrackerStore`` with encrypted event data; see the module docstring."""

    Base = declarative_base()

    class SQLEvent(Base):
        """Same table and columns as Rasa's ``SQLEvent``, with encrypting column types."""

        __tablename__ = "events"

        id = sa.Column(sa.Integer, _create_sequence(__tablename__), primary_key=True)
        sender_id = sa.Column(sa.String(255), nullable=False, index=True)
        type_name = sa.Column(sa.String(255), nullable=False)
        timestamp = sa.Column(sa.Float)
        intent_name = sa.Column(Withheld)
        action_name = sa.Column(Withheld)
        data = sa.Column(EncryptedText)

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[Text] = None,
        event_broker: Optional[EventBroker] = None,
        **kwargs: Any,
    ) -> None:
        crypto.cipher()  # fail at start-up, not at the first message, when the key is missing or malformed
        super().__init__(domain=domain, host=tracker_db_url(host), event_broker=event_broker, **kwargs)
        if self.engine.dialect.name == "sqlite":
            # Rasa's engine has no pragmas: WAL and a busy timeout let the purge and a second process
            # read while Rasa writes, instead of failing with "database is locked".
            sa.event.listen(self.engine, "connect", sqlite_pragmas)
            self.engine.dispose()  # the connection Rasa opened to create the table predates the listener
