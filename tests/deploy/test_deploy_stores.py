"""Backups, restores and the purge across replicas, on the real PostgreSQL and SQLite.

docs/DEPLOY.md tells the admin to back up with `pg_dump -Fc` / `sqlite3 .backup` and to restore with
`pg_restore` / a file copy; these tests run exactly those commands on a database with an encrypted
dossier and read the dossier back from the restored copy, with the key and without it. The purge
takes a database lock so that, with the timer on every replica, one purges at a time and a purge
killed half-way leaves no lock behind.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator, List

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.orm import Session

from bot.store import crypto, identities
from bot.store.cli import purge, purge_lock
from bot.store.db import dispose_all, get_engine, repositories
from bot.store.models import Case
from conftest import fresh_pg_database
from bot.store.repositories import Repositories

REPO = Path(__file__).resolve().parents[2]
TEACHER, ORG = "rest:intranet:juf-anna", "national"
SIGNAL = "blauwe plekken op beide armen, zegt dat hij thuis gevallen is"


def write_dossier(repos: Repositories) -> str:
    repos.users.upsert(TEACHER, organisation_id=ORG, role="teacher")
    case = repos.cases.create(TEACHER, ORG, "Leerling Berk-Zeven")
    repos.notes.add(case.id, "signal", TEACHER, "teacher", {"signalen": SIGNAL}, None)
    return case.id


def read_signal(repos: Repositories, case_id: str) -> str:
    [note] = repos.notes.list(case_id, TEACHER, "teacher")
    return note.fields["signalen"]


def tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        from conftest import service_missing

        service_missing(f"{name} is not installed (Debian package postgresql-client / sqlite3)")
    return str(path)


@pytest.fixture
def second_pg_database(pg_server_url: str) -> Iterator[str]:
    """An empty database to restore into (the admin's new server), dropped afterwards."""
    with fresh_pg_database(pg_server_url, "mw_restore") as url:
        yield url


def libpq_url(url: str) -> str:
    """pg_dump/pg_restore take libpq URLs: the same URL without SQLAlchemy's driver suffix."""
    return url.replace("postgresql+psycopg2://", "postgresql://")


def test_pg_dump_and_pg_restore_round_trip_keeps_the_dossier_readable(
    pg_database: str, second_pg_database: str, tmp_path: Path
) -> None:
    case_id = write_dossier(repositories(pg_database))
    dump = tmp_path / "meldwijzer.dump"
    subprocess.run(
        [tool("pg_dump"), "--format=custom", "--no-owner", f"--file={dump}", libpq_url(pg_database)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert SIGNAL.encode() not in dump.read_bytes()  # the dump holds only ciphertext
    subprocess.run(
        [tool("pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={libpq_url(second_pg_database)}", str(dump)],
        check=True,
        capture_output=True,
        timeout=120,
    )

    assert read_signal(repositories(second_pg_database), case_id) == SIGNAL


def test_a_restored_backup_without_its_key_is_unreadable(
    pg_database: str, second_pg_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What docs/DEPLOY.md warns about: the backup of the database is worthless without the key."""
    case_id = write_dossier(repositories(pg_database))
    dump = tmp_path / "meldwijzer.dump"
    subprocess.run(
        [tool("pg_dump"), "--format=custom", "--no-owner", f"--file={dump}", libpq_url(pg_database)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        [tool("pg_restore"), "--no-owner", f"--dbname={libpq_url(second_pg_database)}", str(dump)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    monkeypatch.setenv(crypto.ENV_KEY, Fernet.generate_key().decode())  # a new key: the old one was lost
    with pytest.raises(crypto.EncryptionKeyError):
        read_signal(repositories(second_pg_database), case_id)


def test_sqlite_online_backup_and_copy_back_keeps_the_dossier_readable(tmp_path: Path) -> None:
    live = tmp_path / "meldwijzer.db"
    case_id = write_dossier(repositories(f"sqlite:///{live}"))
    backup = tmp_path / "backup" / "meldwijzer.db"
    backup.parent.mkdir()
    # `.backup` copies a consistent snapshot while the server keeps writing (WAL mode).
    subprocess.run([tool("sqlite3"), str(live), f".backup '{backup}'"], check=True, capture_output=True, timeout=60)
    dispose_all()
    restored = tmp_path / "restored" / "meldwijzer.db"
    restored.parent.mkdir()
    shutil.copy2(backup, restored)

    assert SIGNAL.encode() not in restored.read_bytes()
    assert read_signal(repositories(f"sqlite:///{restored}"), case_id) == SIGNAL


# --- the purge across replicas ----------------------------------------------------------------------


def closed_long_ago(repos: Repositories) -> str:
    case_id = write_dossier(repos)
    repos.cases.close(case_id)
    with Session(repos.engine, future=True) as session, session.begin():
        session.get(Case, case_id).closed_at = datetime.now(timezone.utc) - timedelta(days=400)
    return case_id


def test_a_second_replica_skips_the_purge_while_one_is_purging(
    pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MELDWIJZER_DB_URL", pg_database)
    closed_long_ago(repositories())
    with purge_lock(get_engine(pg_database)) as first:  # replica 1 is purging
        assert first
        skipped = purge("180d")
    assert skipped.skipped and (skipped.cases, skipped.conversation_events) == (0, 0)

    done = purge("180d")
    assert not done.skipped and done.cases == 1


def test_a_purge_killed_half_way_leaves_no_lock(pg_database: str, tmp_path: Path) -> None:
    """The lock lives on the purging process's connection: a SIGKILL frees it with the connection."""
    ready = tmp_path / "locked"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(f"""
        import pathlib, time
        from bot.store.cli import purge_lock
        from bot.store.db import get_engine
        with purge_lock(get_engine({pg_database!r})) as acquired:
            assert acquired
            pathlib.Path({str(ready)!r}).write_text("yes")
            time.sleep(600)
        """),
        ],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        for _ in range(600):
            if ready.exists() or holder.poll() is not None:
                break
            subprocess.run(["sleep", "0.1"], check=True)
        assert ready.exists(), "the holder never took the lock"
        with purge_lock(get_engine(pg_database)) as acquired:
            assert not acquired
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=30)
    for _ in range(100):  # PostgreSQL notices the closed connection at once; allow it a moment
        with purge_lock(get_engine(pg_database)) as acquired:
            if acquired:
                break
        subprocess.run(["sleep", "0.1"], check=True)
    assert acquired


def test_sqlite_needs_no_lock(tmp_path: Path) -> None:
    with purge_lock(get_engine(f"sqlite:///{tmp_path / 'one-server.db'}")) as acquired:
        assert acquired


# --- replicas starting together -----------------------------------------------------------------------

REPLICA_START = """
import logging, pathlib, sys, time
logging.basicConfig(level=logging.INFO, stream=sys.stdout)
go = pathlib.Path(sys.argv[2])
while not go.exists():
    time.sleep(0.01)
from bot.store.db import repositories
from plugins.tracker_store import EncryptedSQLTrackerStore
repositories(sys.argv[1])                    # the case store: Alembic under the advisory lock
EncryptedSQLTrackerStore()                   # the conversation store: Rasa creates its table
print("replica ready")
"""


def test_two_replicas_starting_together_migrate_once(pg_database: str, tmp_path: Path) -> None:
    go = tmp_path / "go"
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "MELDWIJZER_SECRET_KEY": Fernet.generate_key().decode(),
        "MELDWIJZER_ID_KEY": identities.new_key().decode(),  # not a file both replicas would create at once
        "MELDWIJZER_DB_URL": pg_database,
        "MELDWIJZER_TRACKER_DB_URL": pg_database,
    }
    replicas = [
        subprocess.Popen(
            [sys.executable, "-c", REPLICA_START, pg_database, str(go)],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    subprocess.run(["sleep", "3"], check=True)  # both have imported everything and wait for the signal
    go.write_text("go")
    outputs = [replica.communicate(timeout=300)[0] for replica in replicas]
    for replica, output in zip(replicas, outputs):
        assert replica.returncode == 0 and "replica ready" in output, output
    assert sum(output.count("Running upgrade  -> 0001") for output in outputs) == 1
    engine = get_engine(pg_database)
    with engine.connect() as connection:
        assert len(connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()) == 1
    assert "events" in sa.inspect(engine).get_table_names()


def test_replicas_adopting_one_tracker_store_at_once_all_start(pg_database: str) -> None:
    """Four Rasa servers claiming the tracker store's identity chain at the same moment: before the
    advisory lock, one in four failed on PostgreSQL's concurrent CREATE TABLE (a clean-clone CI run)."""
    engine = get_engine(pg_database)
    with engine.begin() as connection:  # Rasa's own table, with a conversation from before hashing
        connection.execute(sa.text("CREATE TABLE events (id SERIAL PRIMARY KEY, sender_id VARCHAR(255))"))
        connection.execute(sa.text("INSERT INTO events (sender_id) VALUES ('web:teacher')"))
    keys = [identities.new_key()]
    start = threading.Barrier(4)
    errors: List[BaseException] = []

    def adopt() -> None:
        start.wait()
        try:
            identities.adopt_tracker_store(engine, keys)
        except BaseException as error:  # noqa: BLE001 - collected and asserted below
            errors.append(error)

    threads = [threading.Thread(target=adopt) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with engine.connect() as connection:
        senders = connection.execute(sa.text("SELECT sender_id FROM events")).scalars().all()
    assert senders == [identities.hashed("web:teacher", keys)]  # re-keyed exactly once
