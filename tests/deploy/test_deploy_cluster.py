"""Several replicas for real (scripts/cluster.sh): nginx, 2 Rasa replicas with their action servers,
PostgreSQL for both stores, Redis for the conversation locks.

What this proves, with one replica SIGKILLed in the middle of 30 concurrent conversations over REST
(and a web chat over socket.io) and then started again:
- every conversation is completed, by the other replica while one is down, and the signal note each
  teacher recorded and confirmed is in the dossier exactly once (also when the confirmation was resent);
- no reply is a 5xx except for requests that were in flight at the moment of the kill;
- nginx never re-sends a message to the other replica: each message that was answered is in the
  conversation exactly once, and a message the client resent after a 5xx is there exactly once too;
- the restarted replica answers again; both replicas started together on an empty database.
Redis stopping, and PostgreSQL crashing for 10 s, are covered too: the answer is the Dutch "please
resend", no lock stays behind, nothing stored is lost, and the cluster recovers.
Model tier (pytestmark): it needs models/meldwijzer.tar.gz and starts servers.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest
import requests
import sqlalchemy as sa

from bot.store.identities import stored_identity
from deploy_helpers import CLUSTER, REPO, free_port, nginx_binary
from tests.e2e.conftest import texts, user_texts
from tests.e2e.note_answers import answer_for

pytestmark = [
    pytest.mark.model,
    pytest.mark.e2e,
    pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning"),
]
MODEL = REPO / "models" / "meldwijzer.tar.gz"
CONVERSATIONS = 30
TEACHER = '/inform_role{"role":"teacher"}'
MESSAGES = [
    "hallo",
    "ik maak me zorgen over een leerling",
    TEACHER,
    "wat moet ik nu doen?",
    "wie kan ik bellen?",
    "signaal vastleggen: gisteren om 10 uur zag ik op het plein dat hij striemen op zijn rug had",
]
NOTE_QUESTIONS = 8  # at most: what the one-message note leaves out, then the summary
KILL_AFTER = CONVERSATIONS * len(MESSAGES)  # answered messages: the notes are being filled in
RETRIES = 8
PG_DOWN_S = 10


@dataclass
class Cluster:
    directory: Path
    env: Dict[str, str]
    settings: Dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.settings["CLUSTER_URL"]

    @property
    def token(self) -> str:
        return self.settings["MELDWIJZER_REST_CLIENTS"].split(":", 1)[1]

    def run(self, *args: str, timeout: int = 600) -> None:
        done = subprocess.run(
            [str(CLUSTER), *args], cwd=REPO, env=self.env, capture_output=True, text=True, timeout=timeout
        )
        assert done.returncode == 0, f"cluster.sh {' '.join(args)}:\n{done.stdout}\n{done.stderr}\n{self.logs()}"

    def logs(self) -> str:
        return "\n".join(
            f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}" for log in sorted(self.directory.glob("*.log"))
        )

    def send(self, sender: str, message: str, key: Optional[str] = None) -> requests.Response:
        """One try of a message; every try of the same message carries the same Idempotency-Key."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return requests.post(
            f"{self.url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message},
            headers=headers,
            verify=False,
            timeout=150,
        )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not MODEL.exists():
        pytest.fail("models/meldwijzer.tar.gz is missing: run `make train` (make test does it for you)")
    from conftest import service_missing

    if not nginx_binary():
        service_missing("nginx is not installed and could not be installed (deploy/install-nginx.sh)")
    if not shutil.which("redis-server"):
        service_missing("redis-server is not installed (Debian package redis-server)")
    directory = tmp_path_factory.mktemp("cluster")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MELDWIJZER_", "SANIC_"))},
        "CLUSTER_DIR": str(directory),
        "CLUSTER_PG_PORT": str(free_port()),
        "CLUSTER_REDIS_PORT": str(free_port()),
        "CLUSTER_HTTPS_PORT": str(free_port()),
        "CLUSTER_HTTP_PORT": str(free_port()),
        "CLUSTER_RASA_PORTS": f"{free_port()} {free_port()}",
        "CLUSTER_ACTIONS_PORTS": f"{free_port()} {free_port()}",
    }
    handle = Cluster(directory=directory, env=env)
    try:
        handle.run("up")
        handle.settings = dict(
            line.split("=", 1)
            for line in (directory / "cluster.env").read_text().splitlines()
            if "=" in line and not line.startswith("#")
        )
        yield handle
    finally:
        subprocess.run([str(CLUSTER), "down"], cwd=REPO, env=env, capture_output=True, timeout=300)


@dataclass
class Attempt:
    sender: str
    message: str
    started: float
    ended: float
    status: int  # 0: no HTTP answer at all


@dataclass
class Conversation:
    """One teacher's conversation as the driver saw it: the messages answered, in order, and whether the
    note was confirmed as saved."""

    sender: str
    answered: List[str] = field(default_factory=list)
    saved: bool = False


class Tally:
    """Shared by the conversation threads: every attempt, and the event that starts the kill once
    KILL_AFTER messages have been answered (mid-way, while notes are being filled and confirmed)."""

    def __init__(self) -> None:
        self.attempts: List[Attempt] = []
        self.lock = threading.Lock()
        self.kill_now = threading.Event()

    def add(self, attempt: Attempt) -> None:
        with self.lock:
            self.attempts.append(attempt)
            if sum(a.status == 200 for a in self.attempts) >= KILL_AFTER:
                self.kill_now.set()


def deliver(cluster: Cluster, tally: Tally, sender: str, message: str, key: str) -> List[dict]:
    """One message until it is processed: resent after a 5xx, a broken connection or the Dutch "please
    resend", always with the same Idempotency-Key, as a REST client should (docs/DEPLOY.md)."""
    from plugins.channels.delivery import NOT_PROCESSED_MESSAGE

    for _ in range(RETRIES):
        started = time.monotonic()
        replies: List[dict] = []
        try:
            response = cluster.send(sender, message, key=key)
            status = response.status_code
            replies = response.json() if status == 200 else []
        except requests.RequestException:
            status = 0
        tally.add(Attempt(sender, message, started, time.monotonic(), status))
        if status == 200 and NOT_PROCESSED_MESSAGE not in texts(replies):
            return replies
        time.sleep(1)
    raise AssertionError(f"{sender}: {message!r} was not processed in {RETRIES} tries")


def converse(cluster: Cluster, sender: str, tally: Tally) -> Conversation:
    """A teacher starts a case, asks what to do and whom to call, then records a signal told in one
    message, answers what the form still asks and confirms it."""
    conversation = Conversation(sender)

    def say(message: str) -> List[dict]:
        replies = deliver(cluster, tally, sender, message, key=f"{sender}-{len(conversation.answered)}")
        conversation.answered.append(message)
        return replies

    for message in MESSAGES:
        replies = say(message)
    for _ in range(NOTE_QUESTIONS):
        if "Klopt dit?" in texts(replies):
            conversation.saved = "Opgeslagen in het dossier" in texts(say("/affirm"))
            return conversation
        replies = say(answer_for(replies))
    raise AssertionError(f"{sender}: no note summary: {texts(replies)}")


def signal_notes(database: str, owner: str) -> int:
    """How many signal notes the owner's cases hold in the case store (counted, nothing decrypted)."""
    from bot.store.models import Case, Note

    engine = sa.create_engine(database, future=True)
    try:
        with engine.connect() as connection:
            return connection.execute(
                sa.select(sa.func.count(Note.id))
                .join(Case, Note.case_id == Case.id)
                .where(Case.owner_id == owner, Note.kind == "signaal")
            ).scalar_one()
    finally:
        engine.dispose()


def test_conversations_survive_a_replica_killed_mid_way(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MELDWIJZER_SECRET_KEY", cluster.settings["MELDWIJZER_SECRET_KEY"])
    run = uuid.uuid4().hex[:6]
    senders = [f"juf-{run}-{n}" for n in range(CONVERSATIONS)]
    tally = Tally()
    window: Dict[str, float] = {}
    with ThreadPoolExecutor(max_workers=CONVERSATIONS) as pool, ThreadPoolExecutor(max_workers=1) as restarter:
        futures = [pool.submit(converse, cluster, s, tally) for s in senders]
        assert tally.kill_now.wait(timeout=600), "the conversations did not get going"
        window["kill"] = time.monotonic()
        cluster.run("kill", "1")  # SIGKILL: no goodbye to nginx, Redis or the database
        window["killed"] = time.monotonic()
        restart = restarter.submit(cluster.run, "start", "1")  # comes back while the others talk on
        conversations = [future.result(timeout=900) for future in futures]
        restart.result(timeout=900)

    # Every conversation finished, its note confirmed as saved.
    assert all(c.saved for c in conversations), [c.sender for c in conversations if not c.saved]
    # A 5xx (or no answer) only for a request that was already with replica 1 when it was killed.
    failed = [a for a in tally.attempts if a.status != 200]
    for attempt in failed:
        assert attempt.status in (0, 502, 503, 504), attempt
        assert attempt.started <= window["killed"] and attempt.ended >= window["kill"], (attempt, window)
    # Each message once in its conversation: nginx never repeated one, and a resent one was not doubled.
    # (Counted, not compared: the channel stores a button's payload for a typed button title.) And each
    # confirmed note is in the dossier exactly once, also when its confirmation was resent.
    settings = cluster.settings
    for conversation in conversations:
        owner = stored_identity(f"rest:cluster:{conversation.sender}", settings)
        assert len(user_texts(settings["MELDWIJZER_TRACKER_DB_URL"], owner)) == len(conversation.answered), owner
        assert signal_notes(settings["MELDWIJZER_DB_URL"], owner) == 1, owner
    summary = {
        "attempts": len(tally.attempts),
        "kill_s": round(window["killed"] - window["kill"], 2),
        "failed": [(a.status, round(a.ended - window["kill"], 2)) for a in failed],
    }
    (cluster.directory / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    # The other replica carried on while replica 1 was down, and replica 1 answers again after its restart.
    access = (cluster.directory / "meldwijzer.access.log").read_text()
    replica_2 = cluster.env["CLUSTER_RASA_PORTS"].split()[1]
    assert f"127.0.0.1:{replica_2}" in access
    replica_1 = cluster.env["CLUSTER_RASA_PORTS"].split()[0]
    assert requests.get(f"http://127.0.0.1:{replica_1}/", timeout=10).ok


def test_replicas_started_together_migrated_once(cluster: Cluster) -> None:
    # The case store migrates on its first use: a case started on each replica (nginx alternates them)
    # makes sure both have used it, whichever test ran before.
    for n in range(2):
        started = cluster.send(f"migrate-{uuid.uuid4().hex[:6]}-{n}", "ik maak me zorgen over een leerling")
        assert started.status_code == 200
    logs = "".join(log.read_text(errors="replace") for log in cluster.directory.glob("*-[12].log"))
    assert logs.count("Running upgrade  -> 0001") <= 1  # the case store migrates on its first use, once
    engine = sa.create_engine(cluster.settings["MELDWIJZER_DB_URL"], future=True)
    try:
        with engine.connect() as connection:
            assert len(connection.execute(sa.text("SELECT version_num FROM alembic_version")).all()) == 1
    finally:
        engine.dispose()


def test_logs_are_json_lines_without_user_text(cluster: Cluster) -> None:
    for log in cluster.directory.glob("*-[12].log"):
        for line in log.read_text(errors="replace").splitlines():
            if line.strip():
                json.loads(line)  # raises on any line that is not JSON
        text = log.read_text(errors="replace")
        for message in MESSAGES:
            assert message not in text, (log.name, message)


def test_redis_down_asks_to_resend_and_recovers(cluster: Cluster) -> None:
    """With the lock store gone the answer is the Dutch 'could not process, please resend' (no 5xx, no
    silence), and once Redis is back the same conversation carries on."""
    from plugins.channels.delivery import NOT_PROCESSED_MESSAGE

    sender = f"meester-{uuid.uuid4().hex[:6]}"
    assert cluster.send(sender, "hallo").status_code == 200
    cluster.run("redis-stop")
    try:
        for _ in range(2):  # whichever replica nginx picks; without a key and with one
            for key in (None, f"{sender}-1"):
                reply = cluster.send(sender, "wat moet ik nu doen?", key=key)
                assert reply.status_code == 200
                assert [m["text"] for m in reply.json()] == [NOT_PROCESSED_MESSAGE]
    finally:
        cluster.run("redis-start")
    reply = cluster.send(sender, "wat moet ik nu doen?", key=f"{sender}-1")  # resent: it was never processed
    assert reply.status_code == 200 and NOT_PROCESSED_MESSAGE not in [m.get("text") for m in reply.json()]


def lock_keys(cluster: Cluster, sender: str) -> List[str]:
    """The conversation locks the cluster's Redis holds for ``sender``."""
    port = cluster.env["CLUSTER_REDIS_PORT"]
    found = subprocess.run(
        ["redis-cli", "-p", port, "--scan", "--pattern", f"*{sender}*"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return found.stdout.split()


def test_postgres_down_for_10_seconds_asks_to_resend_loses_nothing_and_recovers(
    cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both stores gone at once (a crash: no clean shutdown): every message gets the Dutch "please
    resend" on whichever replica, no lock stays behind, and once PostgreSQL is back the same conversation
    carries on with its case, its note and its history intact."""
    from plugins.channels.delivery import NOT_PROCESSED_MESSAGE

    monkeypatch.setenv("MELDWIJZER_SECRET_KEY", cluster.settings["MELDWIJZER_SECRET_KEY"])
    sender, newcomer = f"ib-{uuid.uuid4().hex[:6]}", f"nieuw-{uuid.uuid4().hex[:6]}"
    before = converse(cluster, sender, Tally())
    assert before.saved
    cluster.run("pg-stop")
    stopped = time.monotonic()
    outage: List[List[str]] = []
    try:
        while time.monotonic() - stopped < PG_DOWN_S:
            for who, text in ((sender, "wat moet ik nu doen?"), (newcomer, "ik maak me zorgen over een leerling")):
                reply = cluster.send(who, text, key=f"{who}-outage")
                assert reply.status_code == 200, reply.text
                outage.append([m.get("text", "") for m in reply.json()])
    finally:
        cluster.run("pg-start")
    assert len(outage) >= 4 and all(answer == [NOT_PROCESSED_MESSAGE] for answer in outage), outage
    assert not lock_keys(cluster, sender) and not lock_keys(cluster, newcomer)

    # Back: the resent messages are processed now, at the first try, on both replicas (nginx alternates).
    settings = cluster.settings
    resent = cluster.send(newcomer, "ik maak me zorgen over een leerling", key=f"{newcomer}-outage")
    assert resent.status_code == 200 and "rol" in texts(resent.json()), resent.text
    for _ in range(2):
        shown = cluster.send(sender, "toon mijn dossier")
        assert shown.status_code == 200 and "1 aantekening(en)" in texts(shown.json()), shown.text
    owner = stored_identity(f"rest:cluster:{sender}", settings)
    assert signal_notes(settings["MELDWIJZER_DB_URL"], owner) == 1
    assert len(user_texts(settings["MELDWIJZER_TRACKER_DB_URL"], owner)) == len(before.answered) + 2


def web_reply(cluster: Cluster, subject: str, text: str, timeout: float = 120) -> Optional[str]:
    """One message over socket.io through nginx with a staff token; the first reply's text."""
    import asyncio

    import socketio

    from tests.fakes.intranet import staff_token

    token = staff_token(cluster.settings["MELDWIJZER_WEB_JWT_KEY"], subject, "meldwijzer", "https://cluster.test")

    async def chat() -> Optional[str]:
        client = socketio.AsyncClient(ssl_verify=False)
        replies: asyncio.Queue[str] = asyncio.Queue()
        client.on("bot_uttered", lambda data: replies.put_nowait(data.get("text", "")))
        # Long-polling only: every poll is a new HTTP request, so without stickiness in nginx a poll would
        # reach the replica that does not know the session. (This python-socketio's WebSocket transport
        # also needs a newer aiohttp than Rasa pins.)
        await client.connect(
            cluster.url,
            socketio_path="/socket.io",
            auth={"token": token},
            headers={"Origin": cluster.url},
            transports=["polling"],
        )
        try:
            await client.emit("session_request", {"session_id": None})
            await client.emit("user_uttered", {"message": text, "session_id": None})
            return await asyncio.wait_for(replies.get(), timeout)
        finally:
            await client.disconnect()

    return asyncio.run(chat())


def test_the_web_chat_works_through_nginx_with_sticky_sessions(cluster: Cluster) -> None:
    assert web_reply(cluster, f"docent-{uuid.uuid4().hex[:6]}", "hallo")
