"""Several replicas for real (scripts/cluster.sh): nginx, 2 Rasa replicas with their action servers,
PostgreSQL for both stores, Redis for the conversation locks.

What this proves, with one replica SIGKILLed in the middle of 30 concurrent conversations over REST
(and a web chat over socket.io) and then started again:
- every conversation is completed, by the other replica while one is down;
- no reply is a 5xx except for requests that were in flight at the moment of the kill;
- nginx never re-sends a message to the other replica: each message that was answered is in the
  conversation exactly once, and a message the client resent after a 5xx is there exactly once too;
- the restarted replica answers again; both replicas started together on an empty database.
Redis stopping is covered too: the answer is the Dutch "please resend" and the cluster recovers.
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

from deploy_helpers import CLUSTER, REPO, free_port, nginx_binary
from tests.e2e.conftest import user_texts

pytestmark = [pytest.mark.model, pytest.mark.e2e,
              pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")]
MODEL = REPO / "models" / "meldwijzer.tar.gz"
CONVERSATIONS = 30
MESSAGES = ["hallo", "ik maak me zorgen over een leerling", "wat moet ik nu doen?", "wie kan ik bellen?"]
RETRIES = 5


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
        done = subprocess.run([str(CLUSTER), *args], cwd=REPO, env=self.env, capture_output=True, text=True,
                              timeout=timeout)
        assert done.returncode == 0, f"cluster.sh {' '.join(args)}:\n{done.stdout}\n{done.stderr}\n{self.logs()}"

    def logs(self) -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-2000:]}"
                         for log in sorted(self.directory.glob("*.log")))

    def send(self, sender: str, message: str, key: Optional[str] = None) -> requests.Response:
        """One try of a message; every try of the same message carries the same Idempotency-Key."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        return requests.post(f"{self.url}/webhooks/rest/webhook", json={"sender": sender, "message": message},
                             headers=headers, verify=False, timeout=150)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory, pg_server_url: str) -> Iterator[Cluster]:
    if not MODEL.exists():
        pytest.fail("models/meldwijzer.tar.gz is missing: run `make train` (make test does it for you)")
    from conftest import service_missing

    if not nginx_binary():
        service_missing("nginx is not installed and could not be installed (deploy/install-nginx.sh)")
    if not shutil.which("redis-server"):
        service_missing("redis-server is not installed (Debian package redis-server)")
    directory = tmp_path_factory.mktemp("cluster")
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("MELDWIJZER_", "SANIC_"))},
           "CLUSTER_DIR": str(directory), "CLUSTER_PG_URL": pg_server_url, "CLUSTER_REDIS_PORT": str(free_port()),
           "CLUSTER_HTTPS_PORT": str(free_port()), "CLUSTER_HTTP_PORT": str(free_port()),
           "CLUSTER_RASA_PORTS": f"{free_port()} {free_port()}",
           "CLUSTER_ACTIONS_PORTS": f"{free_port()} {free_port()}"}
    handle = Cluster(directory=directory, env=env)
    try:
        handle.run("up")
        handle.settings = dict(line.split("=", 1) for line in (directory / "cluster.env").read_text().splitlines()
                               if "=" in line and not line.startswith("#"))
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


def converse(cluster: Cluster, sender: str, attempts: List[Attempt], lock: threading.Lock,
             progress: threading.Event, sent: List[int]) -> None:
    """One teacher's conversation: each message is resent after a 5xx or a broken connection, with the
    same Idempotency-Key, as a REST client should (docs/DEPLOY.md)."""
    for number, message in enumerate(MESSAGES):
        for _ in range(RETRIES):
            started = time.monotonic()
            try:
                status = cluster.send(sender, message, key=f"{sender}-{number}").status_code
            except requests.RequestException:
                status = 0
            with lock:
                attempts.append(Attempt(sender, message, started, time.monotonic(), status))
                sent[0] += status == 200
                if sent[0] >= CONVERSATIONS:
                    progress.set()
            if status == 200:
                break
            time.sleep(1)


def test_conversations_survive_a_replica_killed_mid_way(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MELDWIJZER_SECRET_KEY", cluster.settings["MELDWIJZER_SECRET_KEY"])
    run = uuid.uuid4().hex[:6]
    senders = [f"juf-{run}-{n}" for n in range(CONVERSATIONS)]
    attempts: List[Attempt] = []
    lock, progress, sent = threading.Lock(), threading.Event(), [0]
    window: Dict[str, float] = {}
    with ThreadPoolExecutor(max_workers=CONVERSATIONS) as pool, ThreadPoolExecutor(max_workers=1) as restarter:
        futures = [pool.submit(converse, cluster, s, attempts, lock, progress, sent) for s in senders]
        assert progress.wait(timeout=600), "the conversations did not get going"  # mid-way: 30 of 120 answered
        window["kill"] = time.monotonic()
        cluster.run("kill", "1")  # SIGKILL: no goodbye to nginx, Redis or the database
        window["killed"] = time.monotonic()
        restart = restarter.submit(cluster.run, "start", "1")  # comes back while the others talk on
        for future in futures:
            future.result(timeout=900)
        restart.result(timeout=900)

    # Every conversation finished, each message answered.
    for sender in senders:
        answered = [a.message for a in attempts if a.sender == sender and a.status == 200]
        assert answered == MESSAGES, (sender, [(a.message, a.status) for a in attempts if a.sender == sender])
    # A 5xx (or no answer) only for a request that was already with replica 1 when it was killed.
    failed = [a for a in attempts if a.status != 200]
    for attempt in failed:
        assert attempt.status in (0, 502, 503, 504), attempt
        assert attempt.started <= window["killed"] and attempt.ended >= window["kill"], (attempt, window)
    # Each message once in its conversation: nginx never repeated one, and a resent one was not doubled.
    # (Counted, not compared: the channel stores a button's payload for a typed button title.)
    database = cluster.settings["MELDWIJZER_TRACKER_DB_URL"]
    for sender in senders:
        assert len(user_texts(database, f"rest:cluster:{sender}")) == len(MESSAGES), sender
    summary = {"attempts": len(attempts), "failed": [(a.status, round(a.ended - window["kill"], 2)) for a in failed],
               "kill_s": round(window["killed"] - window["kill"], 2)}
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
    from bot.channels.delivery import NOT_PROCESSED_MESSAGE

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
        await client.connect(cluster.url, socketio_path="/socket.io", auth={"token": token},
                             headers={"Origin": cluster.url}, transports=["polling"])
        try:
            await client.emit("session_request", {"session_id": None})
            await client.emit("user_uttered", {"message": text, "session_id": None})
            return await asyncio.wait_for(replies.get(), timeout)
        finally:
            await client.disconnect()

    return asyncio.run(chat())


def test_the_web_chat_works_through_nginx_with_sticky_sessions(cluster: Cluster) -> None:
    assert web_reply(cluster, f"docent-{uuid.uuid4().hex[:6]}", "hallo")
