"""Rasa tracker store that encrypts every conversation event at rest.

Why: Rasa's ``SQLTrackerStore`` writes each event as clear JSON, including everything a teacher typed
about a child. This subclass keeps Rasa's own logic (sessions, event order, keys) and changes only the
table's column types: ``data`` is encrypted with the case store's key (``bot.store.crypto``), and
``intent_name``/``action_name`` are left empty, because an intent such as ``acute_danger`` already
tells a reader of the raw table what a conversation was about. Rasa never queries those two columns.
``sender_id`` is the keyed hash the channels give (``bot.store.identities``); a store from before that
has its clear sender ids hashed at start-up, its conversations kept.

endpoints.yml::

    tracker_store:
      type: plugins.tracker_store.EncryptedSQLTrackerStore

The database is ``MELDWIJZER_TRACKER_DB_URL`` (default ``var/tracker.db``), else an explicit ``url:``
in endpoints.yml. Rasa builds custom stores as ``cls(host=url, domain=..., event_broker=..., **kwargs)``
(``rasa.core.tracker_store._load_from_module_name_in_endpoint_config``).
"""

from __future__ import annotations

from collections import OrderedDict
from itertools import islice
from typing import Any, Iterator, Optional, Text, Tuple

import sqlalchemy as sa
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, _create_sequence
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import declarative_base
from sqlalchemy.pool import QueuePool

from plugins import server
from bot.store import crypto, identities
from bot.store.db import sqlite_pragmas, tracker_db_url

# Every Rasa server of ours loads this module (endpoints.yml), so its process adjustments go in here.
server.install()

# Trackers kept in memory per process (the most recently used conversations).
RECENT_TRACKERS = 500


def _relaxed_sync(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


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

    Base: Any = declarative_base()  # untyped without SQLAlchemy's stubs
    engine: Any  # set by SQLTrackerStore.__init__, replaced by _tune_sqlite

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
        keys = identities.id_keys()
        super().__init__(domain=domain, host=tracker_db_url(host), event_broker=event_broker, **kwargs)
        identities.adopt_tracker_store(self.engine, keys)  # sender ids from before hashing: hashed, kept
        self._recent: OrderedDict[str, Tuple[Tuple[int, int], DialogueStateTracker]] = OrderedDict()
        if self.engine.dialect.name == "sqlite":
            self._tune_sqlite()
        else:
            self._ping_before_use()

    # --- the per-process tracker cache -------------------------------------------------------------
    # Why: Rasa's retrieve decrypts and replays every event of the session on every message, so a turn
    # costs more the longer the conversation runs (and the payload guard reads the tracker again). The
    # tracker this process loaded or saved last is kept while it is known to be exactly the stored latest
    # session, with the highest stored event id and its own length at that moment:
    # - loaded from the database, it is that session by construction;
    # - saved by this process after a turn that started no new session, the store holds what it held
    #   plus the turn's events, which is what Rasa's save writes (it appends the events beyond the
    #   stored session's count, so a kept tracker that is not exactly the stored session would store
    #   events twice);
    # - a turn that starts a session, a new conversation, a tracker this process did not keep: not kept,
    #   loaded from the database at the next message.
    # One indexed query (the highest id of the conversation) tells whether the store changed meanwhile:
    # another replica's write or an erased conversation change it; a tracker changed in memory but never
    # saved (a failed turn) changed its own length. Either way the tracker is loaded as before. (The
    # count of the session's events, used before, cost a scan of the whole conversation per message.)

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        last_id = self._last_id(sender_id)
        remembered = self._recent.get(sender_id)
        if remembered is not None and remembered[0] == (last_id, len(remembered[1].events)):
            self._recent.move_to_end(sender_id)
            return remembered[1]
        tracker = await super().retrieve(sender_id)
        self._forget(sender_id)
        if tracker is not None:
            self._remember(sender_id, last_id, tracker)
        return tracker

    async def save(self, tracker: DialogueStateTracker) -> None:
        remembered = self._recent.get(tracker.sender_id)
        await super().save(tracker)
        self._forget(tracker.sender_id)
        if remembered is not None and remembered[1] is tracker:
            new_events = list(islice(reversed(tracker.events), len(tracker.events) - remembered[0][1]))
            if not any(isinstance(event, SessionStarted) for event in new_events):
                self._remember(tracker.sender_id, self._last_id(tracker.sender_id), tracker)

    def _additional_events(self, session: Any, tracker: DialogueStateTracker) -> Iterator[Any]:
        """The events Rasa's save writes: those beyond the stored latest session. For a kept tracker
        whose conversation nobody wrote since, that session is the kept length, so Rasa's count of the
        session's stored events (a scan of the conversation) is not needed."""
        remembered = self._recent.get(tracker.sender_id)
        if remembered is not None and remembered[1] is tracker:
            last_id, length = remembered[0]
            query = sa.select(sa.func.max(self.SQLEvent.id)).where(self.SQLEvent.sender_id == tracker.sender_id)
            if int(session.execute(query).scalar() or 0) == last_id and length <= len(tracker.events):
                return islice(tracker.events, length, len(tracker.events))
        return super()._additional_events(session, tracker)

    def _last_id(self, sender_id: Text) -> int:
        """The highest stored event id of the conversation (0 when there is none): one indexed lookup."""
        with self.session_scope() as session:
            query = sa.select(sa.func.max(self.SQLEvent.id)).where(self.SQLEvent.sender_id == sender_id)
            return int(session.execute(query).scalar() or 0)

    def _forget(self, sender_id: Text) -> None:
        self._recent.pop(sender_id, None)

    def _remember(self, sender_id: Text, last_id: int, tracker: DialogueStateTracker) -> None:
        self._recent[sender_id] = ((last_id, len(tracker.events)), tracker)
        while len(self._recent) > RECENT_TRACKERS:
            self._recent.popitem(last=False)

    def _ping_before_use(self) -> None:
        """Rasa's engine for a database server reuses pooled connections as they are: after the server
        restarted, each dead one fails a message before the pool notices. Checked on checkout instead
        (one round trip), the first message after an outage is answered as usual."""
        from rasa.core.tracker_store import create_engine_kwargs

        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, pool_pre_ping=True, **create_engine_kwargs(url))
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    def _tune_sqlite(self) -> None:
        """Rasa's SQLite engine opens a new connection for every session (SQLAlchemy 1.4's NullPool for
        files) and sets no pragmas. Ours keeps a small pool, and uses WAL with a busy timeout (the purge
        and a second process can read while Rasa writes) and synchronous=NORMAL: in WAL mode that cannot
        corrupt the file, and at worst loses the last conversation events on a power cut — the case store,
        the source of truth, keeps full durability."""
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(
            url, poolclass=QueuePool, pool_size=4, max_overflow=4, connect_args={"check_same_thread": False}
        )
        sa.event.listen(self.engine, "connect", sqlite_pragmas)
        sa.event.listen(self.engine, "connect", _relaxed_sync)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
