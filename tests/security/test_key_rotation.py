"""Key rotation round trip: everything written under the old key reads under the new key alone after
``python -m bot keys rotate``, in the case store (SQLite and PostgreSQL) and the tracker store, and
the old key alone no longer reads it (so it really can be retired)."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.store import keys
from bot.store.crypto import EncryptionKeyError
from bot.store.db import dispose_all, repositories
from plugins.tracker_store import EncryptedSQLTrackerStore

SECRET = "Moeder Yilmaz zei dat de vader hem slaat"
OLD, NEW = Fernet.generate_key().decode(), Fernet.generate_key().decode()
DOMAIN = Domain.empty()


def every_encrypted_column_is_found() -> None:
    found = {f"{table}.{column}" for table, _, column, _ in keys.case_store_columns()}
    assert {"cases.pseudonym", "notes.content_encrypted", "conversation_references.reference"} <= found


async def test_rotate_re_encrypts_both_stores_so_the_old_key_can_go(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    every_encrypted_column_is_found()
    monkeypatch.setenv("MELDWIJZER_DB_URL", db_url)
    monkeypatch.setenv("MELDWIJZER_TRACKER_DB_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    monkeypatch.setenv("MELDWIJZER_SECRET_KEY", OLD)
    repos = repositories(db_url)
    repos.users.upsert("web:juf", organisation_id="symbio")
    case = repos.cases.create("web:juf", "symbio", "Leerling Z9")
    repos.notes.add(case.id, "signaal", "web:juf", "teacher", {"waarnemingen": SECRET}, None)
    for user in ("teams:t:juf", "teams:t:meester"):  # a table with a composite key (user, channel)
        repos.conversation_references.save(user, "teams", {"conversation": f"conv-{user}"})
    tracker_store = EncryptedSQLTrackerStore(domain=DOMAIN)
    tracker = DialogueStateTracker("web:juf", [])
    for event in (ActionExecuted("action_session_start"), SessionStarted(), UserUttered(SECRET)):
        tracker.update(event)
    await tracker_store.save(tracker)

    monkeypatch.setenv("MELDWIJZER_SECRET_KEY", f"{NEW},{OLD}")
    counts = keys.rotate()
    assert counts["notes.content_encrypted"] == 1 and counts["cases.pseudonym"] == 1
    assert counts["conversation_references.reference"] == 2
    assert counts["events.data"] == 3

    monkeypatch.setenv("MELDWIJZER_SECRET_KEY", NEW)
    assert repos.notes.list(case.id, "web:juf", "teacher")[0].fields["waarnemingen"] == SECRET
    assert repos.conversation_references.get("teams:t:meester", "teams") == {"conversation": "conv-teams:t:meester"}
    events = (await EncryptedSQLTrackerStore(domain=DOMAIN).retrieve("web:juf")).events
    assert any(getattr(e, "text", None) == SECRET for e in events)

    monkeypatch.setenv("MELDWIJZER_SECRET_KEY", OLD)
    with pytest.raises(EncryptionKeyError):
        repos.notes.list(case.id, "web:juf", "teacher")
    dispose_all()


def test_generate_gives_a_new_usable_fernet_key_each_time() -> None:
    first, second = keys.generate(), keys.generate()
    assert first != second
    assert Fernet(first.encode()).decrypt(Fernet(first.encode()).encrypt(b"x")) == b"x"
