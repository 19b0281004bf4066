"""Rasa-side stores, loaded the way Rasa loads them from endpoints.yml: the encrypted tracker store on
SQLite and PostgreSQL, and the lock store that uses Redis when MELDWIJZER_REDIS_URL is set.
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from cryptography.fernet import Fernet
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.core.utils import AvailableEndpoints
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.knowledge import REPO_ROOT
from bot.store.crypto import EncryptionKeyError
from bot.store.cli import purge_conversations
from plugins.lock_store import EnvLockStore, redis_settings
from plugins.tracker_store import EncryptedSQLTrackerStore

SECRET = "Sanne zei dat haar stiefvader haar opsluit in de kelder"
DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [report_worry, acute_danger]
entities: [role]
slots:
  role:
    type: text
    mappings: [{type: from_entity, entity: role}]
responses:
  utter_ok: [{text: "Dank u."}]
""")
DAY = 24 * 3600


def endpoints(tmp_path: Path, body: str) -> AvailableEndpoints:
    """Read an endpoints.yml with Rasa's own reader."""
    path = tmp_path / "endpoints.yml"
    path.write_text(body, encoding="utf-8")
    return AvailableEndpoints.read_endpoints(str(path))


@pytest.fixture
def repo_endpoints(monkeypatch: pytest.MonkeyPatch) -> AvailableEndpoints:
    """The repo's own endpoints.yml, as ``rasa run`` reads it."""
    monkeypatch.setenv("ACTIONS_PORT", "5055")
    return AvailableEndpoints.read_endpoints(str(REPO_ROOT / "endpoints.yml"))


@pytest.fixture
def tracker_store(db_url: str, repo_endpoints: AvailableEndpoints, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MELDWIJZER_TRACKER_DB_URL", db_url)
    store = TrackerStore.create(repo_endpoints.tracker_store, DOMAIN)
    yield store
    store.engine.dispose()


def conversation(sender_id: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender_id, DOMAIN.slots)
    for event in (
        ActionExecuted("action_session_start"),
        SessionStarted(),
        ActionExecuted("action_listen"),
        UserUttered(
            SECRET,
            intent={"name": "acute_danger", "confidence": 0.97},
            entities=[{"entity": "role", "value": "teacher", "start": 0, "end": 5}],
        ),
        SlotSet("role", "teacher"),
        BotUttered("Bel nu 112.", metadata={"utter_action": "utter_ok"}),
        ActionExecuted("action_listen"),
    ):
        tracker.update(event)
    return tracker


def raw_events(store: EncryptedSQLTrackerStore) -> list:
    with store.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(sa.text("SELECT * FROM events ORDER BY id"))]


async def test_endpoint_config_builds_the_encrypted_store_and_events_round_trip(tracker_store) -> None:
    assert isinstance(tracker_store, EncryptedSQLTrackerStore)
    tracker = conversation("teams:teacher-1")
    await tracker_store.save(tracker)

    full = await tracker_store.retrieve_full_tracker("teams:teacher-1")
    assert [e.as_dict() for e in full.events] == [e.as_dict() for e in tracker.events]
    restored = await tracker_store.retrieve("teams:teacher-1")  # the latest session: from SessionStarted on
    assert [e.as_dict() for e in restored.events] == [e.as_dict() for e in list(tracker.events)[1:]]
    assert restored.latest_message.text == SECRET
    assert restored.latest_message.intent["name"] == "acute_danger"
    assert restored.get_slot("role") == "teacher"
    assert list(await tracker_store.keys()) == ["teams:teacher-1"]

    restored.update(UserUttered("en ook haar broertje", intent={"name": "report_worry", "confidence": 0.9}))
    await tracker_store.save(restored)
    again = await tracker_store.retrieve("teams:teacher-1")
    assert again.latest_message.text == "en ook haar broertje"

    rows = raw_events(tracker_store)
    assert len(rows) == len(tracker.events) + 1  # only the new event was appended
    dump = " ".join(str(value) for row in rows for value in row.values())
    for clear in ("Sanne", "broertje", "acute_danger", "Bel nu 112", 'teacher"'):
        assert clear not in dump
    assert all(row["intent_name"] is None and row["action_name"] is None for row in rows)
    assert {row["type_name"] for row in rows} >= {"user", "bot", "slot", "session_started"}


async def test_stored_conversation_needs_the_same_key(tracker_store, monkeypatch: pytest.MonkeyPatch) -> None:
    await tracker_store.save(conversation("web:abc"))
    monkeypatch.setenv("MELDWIJZER_SECRET_KEY", Fernet.generate_key().decode())
    with pytest.raises(EncryptionKeyError):
        await tracker_store.retrieve("web:abc")


async def test_failed_insert_does_not_put_the_message_in_the_log(tracker_store) -> None:
    """Rasa logs database errors with their parameters; those must already be encrypted."""
    with tracker_store.engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE events ADD COLUMN must_be_set INTEGER NOT NULL DEFAULT 0"))
        connection.execute(
            sa.text("ALTER TABLE events ADD CONSTRAINT ck_fail CHECK (must_be_set = 1)")
            if connection.dialect.name == "postgresql"
            else sa.text("CREATE TRIGGER fail BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'x'); END")
        )
    with pytest.raises(sa.exc.DBAPIError, match="INSERT INTO events") as error:
        await tracker_store.save(conversation("web:abc"))
    assert "Sanne" not in str(error.value) and "acute_danger" not in str(error.value)


async def test_retention_purge_deletes_old_conversation_events_and_keeps_recent_ones(tracker_store) -> None:
    """`python -m bot purge` also empties the conversation history, which holds what was typed."""
    now = time.time()
    old, recent = conversation("web:old"), conversation("web:recent")
    for event in old.events:
        event.timestamp = now - 40 * DAY
    await tracker_store.save(old)
    await tracker_store.save(recent)

    deleted = purge_conversations(timedelta(days=30))

    assert deleted == len(old.events)
    assert await tracker_store.retrieve_full_tracker("web:old") is None  # nothing of it is left
    kept = await tracker_store.retrieve("web:recent")
    assert kept.latest_message.text == SECRET and kept.get_slot("role") == "teacher"
    assert purge_conversations(timedelta(days=30)) == 0


def test_retention_purge_of_a_tracker_database_rasa_never_created_deletes_nothing() -> None:
    assert purge_conversations(timedelta(days=1)) == 0


def test_required_key_missing_stops_the_tracker_store_at_start(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MELDWIJZER_REQUIRE_KEY", "1")
    with pytest.raises(EncryptionKeyError, match="does not exist"):
        EncryptedSQLTrackerStore(DOMAIN)


def test_lock_store_is_in_memory_without_redis_url(repo_endpoints: AvailableEndpoints) -> None:
    store = LockStore.create(repo_endpoints.lock_store)
    assert isinstance(store, EnvLockStore) and isinstance(store.backend, InMemoryLockStore)


async def test_lock_store_keeps_locks_in_redis_when_configured(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MELDWIJZER_REDIS_URL", redis_url)
    prefix = f"mwtest{uuid.uuid4().hex[:8]}"
    config = endpoints(tmp_path, f"lock_store:\n  type: plugins.lock_store.EnvLockStore\n  key_prefix: {prefix}\n")
    store = LockStore.create(config.lock_store)
    assert isinstance(store.backend, RedisLockStore)

    client = redis.Redis.from_url(redis_url)
    key = f"{prefix}:lock:teams:teacher-1"
    try:
        async with store.lock("teams:teacher-1"):
            assert client.exists(key) == 1
            other_worker = LockStore.create(config.lock_store)
            assert other_worker.get_lock("teams:teacher-1").is_locked(ticket_number=1)
        assert client.exists(key) == 0
    finally:
        client.delete(key)
        client.close()


def test_redis_url_is_parsed_into_lock_store_settings() -> None:
    assert redis_settings("rediss://bot:p%40ss@cache.example:6380/2") == {
        "host": "cache.example",
        "port": 6380,
        "db": 2,
        "username": "bot",
        "password": "p@ss",
        "use_ssl": True,
    }
    assert redis_settings("redis://127.0.0.1")["db"] == 0
    with pytest.raises(ValueError):
        redis_settings("http://127.0.0.1:6379/0")


def test_sqlite_tracker_database_uses_wal_and_waits_when_busy(repo_endpoints: AvailableEndpoints) -> None:
    """Rasa's own engine has no pragmas; ours must, or the purge and a second reader hit 'locked'.
    (The default tracker database of the test environment is SQLite: conftest's isolated_store_env.)"""
    store = TrackerStore.create(repo_endpoints.tracker_store, DOMAIN)
    try:
        with store.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    finally:
        store.engine.dispose()


def test_loading_the_tracker_store_installs_the_prebuilt_action_validator() -> None:
    from rasa.core.actions.action import RemoteAction

    assert getattr(RemoteAction._validate_action_result, "__wrapped__", None) is not None


# --- the per-process tracker cache ----------------------------------------------------------------------


def _turn(tracker: DialogueStateTracker, text: str) -> None:
    for event in (
        UserUttered(text, intent={"name": "start_case", "confidence": 0.9}),
        ActionExecuted("action_next_step"),
        BotUttered("Stap 1"),
        ActionExecuted("action_listen"),
    ):
        tracker.update(event)


def _as_dicts(tracker: DialogueStateTracker) -> list:
    return [e.as_dict() for e in tracker.events]


async def test_a_saved_tracker_is_served_from_memory_and_equals_a_fresh_load(tracker_store) -> None:
    await tracker_store.save(conversation("cache-1"))
    first = await tracker_store.retrieve("cache-1")  # loaded as Rasa loads it (the latest session)
    _turn(first, "ik maak me zorgen")
    await tracker_store.save(first)
    assert await tracker_store.retrieve("cache-1") is first  # no decrypting and replaying every event again
    fresh = await EncryptedSQLTrackerStore(domain=DOMAIN).retrieve("cache-1")
    assert _as_dicts(await tracker_store.retrieve("cache-1")) == _as_dicts(fresh)


async def test_another_replicas_write_is_seen(tracker_store) -> None:
    await tracker_store.save(conversation("cache-2"))
    mine = await tracker_store.retrieve("cache-2")
    await tracker_store.save(mine)
    assert await tracker_store.retrieve("cache-2") is mine
    other_replica = EncryptedSQLTrackerStore(domain=DOMAIN)  # same database (MELDWIJZER_TRACKER_DB_URL)
    theirs = await other_replica.retrieve("cache-2")
    _turn(theirs, "bericht via de andere replica")
    await other_replica.save(theirs)
    again = await tracker_store.retrieve("cache-2")
    assert again is not mine and _as_dicts(again) == _as_dicts(theirs)


async def test_a_tracker_changed_in_memory_but_never_saved_is_not_served(tracker_store) -> None:
    """A turn that failed half-way left events in the object that never reached the database."""
    await tracker_store.save(conversation("cache-3"))
    tracker = await tracker_store.retrieve("cache-3")
    stored = _as_dicts(tracker)
    _turn(tracker, "deze beurt mislukte")
    assert _as_dicts(await tracker_store.retrieve("cache-3")) == stored


async def test_a_new_session_is_loaded_as_rasa_does(tracker_store) -> None:
    tracker = conversation("cache-4")
    await tracker_store.save(tracker)
    time.sleep(0.01)
    for event in (ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")):
        tracker.update(event)
    await tracker_store.save(tracker)
    current = await tracker_store.retrieve("cache-4")
    fresh = await EncryptedSQLTrackerStore(domain=DOMAIN).retrieve("cache-4")
    assert _as_dicts(current) == _as_dicts(fresh)
    assert [e["event"] for e in _as_dicts(current)] == ["session_started", "action"]  # the latest session only


async def test_a_session_started_in_a_kept_tracker_is_loaded_again_and_nothing_is_stored_twice(tracker_store) -> None:
    """Rasa's save appends the events beyond the stored session's count: a kept tracker that still held
    the previous session after a new one began would store that session's events a second time."""
    await tracker_store.save(conversation("cache-5"))
    kept = await tracker_store.retrieve("cache-5")
    _turn(kept, "eerste sessie")
    await tracker_store.save(kept)
    assert await tracker_store.retrieve("cache-5") is kept
    time.sleep(0.01)
    for event in (ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")):
        kept.update(event)
    await tracker_store.save(kept)
    current = await tracker_store.retrieve("cache-5")
    assert current is not kept
    assert [e["event"] for e in _as_dicts(current)] == ["session_started", "action"]
    _turn(current, "tweede sessie")
    await tracker_store.save(current)
    fresh = await EncryptedSQLTrackerStore(domain=DOMAIN).retrieve("cache-5")
    assert _as_dicts(await tracker_store.retrieve("cache-5")) == _as_dicts(fresh)
    with tracker_store.session_scope() as session:
        stored = session.execute(
            sa.select(sa.func.count()).where(EncryptedSQLTrackerStore.SQLEvent.sender_id == "cache-5")
        ).scalar()
    assert stored == len(conversation("cache-5").events) + 4 + 3 + 4  # each event once


async def test_saving_a_kept_tracker_writes_its_new_events_without_counting_the_stored_ones(
    tracker_store, monkeypatch: pytest.MonkeyPatch
) -> None:
    await tracker_store.save(conversation("cache-6"))
    kept = await tracker_store.retrieve("cache-6")
    counted = []
    rasas = SQLTrackerStore._additional_events
    monkeypatch.setattr(
        SQLTrackerStore, "_additional_events", lambda self, s, t: counted.append(1) or rasas(self, s, t)
    )
    for text in ("eerste", "tweede", "derde"):
        _turn(kept, text)
        await tracker_store.save(kept)
        assert await tracker_store.retrieve("cache-6") is kept
    assert counted == []
    fresh = await EncryptedSQLTrackerStore(domain=DOMAIN).retrieve("cache-6")
    assert _as_dicts(fresh) == _as_dicts(kept)
    other_replica = EncryptedSQLTrackerStore(domain=DOMAIN)
    theirs = await other_replica.retrieve("cache-6")
    _turn(theirs, "via de andere replica")
    await other_replica.save(theirs)
    _turn(kept, "na de andere replica")  # a write this process did not see: Rasa's own count decides
    await tracker_store.save(kept)
    assert counted == [1]
