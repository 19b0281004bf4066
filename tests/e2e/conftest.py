"""Real servers for end-to-end tests: the action server and the Rasa server on free ports.

The servers run exactly as ``make run`` starts them (same commands, endpoints and credentials), with
their own temporary databases and key, so tests never touch a developer's data. ``restart()`` stops
and starts both processes to prove that a case survives a restart. A test that needs another
configuration (tokens required, a school's profile) asks for that configuration's own pair
(``VARIANTS``) instead of reconfiguring the shared one.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterator, List, Optional

import pytest
import requests
import sqlalchemy as sa
from cryptography.fernet import Fernet

from bot.store import identities

REPO = Path(__file__).resolve().parents[2]
MODEL = REPO / "models" / "meldwijzer.tar.gz"
VENV_BIN = REPO / ".venv" / "bin"
START_TIMEOUT_S = 240


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise RuntimeError(f"server at {url} did not start within {START_TIMEOUT_S}s:\n{log.read_text()[-4000:]}")


@dataclass
class Servers:
    """Handle on one running pair (an action server and its Rasa server) with the settings ``env``."""

    workdir: Path
    env: Dict[str, str]
    rasa_port: int = field(default_factory=free_port)
    actions_port: int = field(default_factory=free_port)
    procs: List[subprocess.Popen] = field(default_factory=list)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.rasa_port}"

    def _spawn(self, args: List[str], log_name: str, env: Dict[str, str]) -> subprocess.Popen:
        log = self.workdir / log_name
        handle = log.open("ab")
        return subprocess.Popen(
            args, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )

    def _env(self) -> Dict[str, str]:
        return {
            **os.environ,
            **self.env,
            "RASA_PORT": str(self.rasa_port),
            "ACTIONS_PORT": str(self.actions_port),
            "SANIC_HOST": "127.0.0.1",
        }

    def _spawn_actions(self) -> subprocess.Popen:
        return self._spawn(
            [str(VENV_BIN / "python"), "-m", "actions.server", "--port", str(self.actions_port)],
            "actions.log",
            self._env(),
        )

    def launch(self) -> None:
        """Start both processes without waiting for them (``wait_ready`` waits)."""
        env = self._env()
        actions = self._spawn_actions()
        rasa = self._spawn(
            [
                str(VENV_BIN / "rasa"),
                "run",
                "--model",
                str(MODEL),
                "--endpoints",
                "endpoints.yml",
                "--credentials",
                "credentials.yml",
                "--interface",
                "127.0.0.1",
                "--port",
                str(self.rasa_port),
            ],
            "rasa.log",
            env,
        )
        self.procs = [actions, rasa]

    def wait_ready(self) -> None:
        actions, rasa = self.procs
        wait_for(f"http://127.0.0.1:{self.actions_port}/health", actions, self.workdir / "actions.log")
        wait_for(f"{self.base_url}/", rasa, self.workdir / "rasa.log")

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def stop(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self.procs = []

    def restart(self) -> None:
        self.stop()
        self.start()

    def kill_actions(self) -> None:
        """Kill only the action server, hard (as a crash would)."""
        os.killpg(self.procs[0].pid, signal.SIGKILL)
        self.procs[0].wait()

    def start_actions(self) -> None:
        """Bring a killed action server back on the same port; the Rasa server keeps running."""
        self.procs[0] = self._spawn_actions()
        wait_for(f"http://127.0.0.1:{self.actions_port}/health", self.procs[0], self.workdir / "actions.log")

    def send(
        self, sender: str, message: str, token: Optional[str] = None, expect: int = 200, key: Optional[str] = None
    ) -> List[dict]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if key is not None:
            headers["Idempotency-Key"] = key
        reply = requests.post(
            f"{self.base_url}/webhooks/rest/webhook",
            json={"sender": sender, "message": message},
            headers=headers,
            timeout=120,
        )
        assert reply.status_code == expect, (reply.status_code, reply.text)
        return reply.json()


def user_texts(database_url: str, sender: str) -> List[str]:
    """The user messages of one conversation as the tracker store holds them (decrypted with the
    MELDWIJZER_SECRET_KEY of this process's environment: set it to the servers' key first)."""
    from plugins.tracker_store import EncryptedSQLTrackerStore

    events = EncryptedSQLTrackerStore.SQLEvent
    engine = sa.create_engine(database_url, future=True)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.select(events.data).where(events.sender_id == sender, events.type_name == "user").order_by(events.id)
            ).all()
    finally:
        engine.dispose()
    return [json.loads(row.data)["text"] for row in rows]


def texts(replies: List[dict]) -> str:
    """All reply texts joined, for assertions on content."""
    return "\n".join(r.get("text", "") for r in replies)


def button_payloads(replies: List[dict]) -> List[str]:
    return [b["payload"] for r in replies for b in r.get("buttons", [])]


# --- the server pairs of a test run ---------------------------------------------------------------
# Why pairs per configuration instead of restarts: a start costs about 20 s on 2 cores, and a test
# that reconfigured the shared pair had to start it twice (its own setting, then the default back).
# Each configuration below gets its own pair, launched once at the start of the run, beside the default
# pair, when a collected test asks for it; it comes up on the second core while the first tests run.
# A test then only waits for a pair that is not up yet, and the default pair is never reconfigured.

REST_TOKEN = "s3cret-token"  # the shared REST token of the secured pair
WEB_JWT_KEY = "web-test-secret-that-is-long-enough-for-hs256"
WEB_JWT_AUDIENCE, WEB_JWT_ISSUER = "meldwijzer", "https://intranet.test"
WEB_OFFICER_ROLE = "Meldwijzer.Aandachtsfunctionaris"  # the app role the school's identity provider assigns

VARIANTS: Dict[str, Dict[str, str]] = {
    # A deployment that authenticates: the REST token and staff tokens for the web chat.
    "secured_servers": {
        "MELDWIJZER_API_TOKEN": REST_TOKEN,
        "MELDWIJZER_WEB_JWT_KEY": WEB_JWT_KEY,
        "MELDWIJZER_WEB_JWT_AUDIENCE": WEB_JWT_AUDIENCE,
        "MELDWIJZER_WEB_JWT_ISSUER": WEB_JWT_ISSUER,
        "MELDWIJZER_WEB_JWT_ATTENTION_OFFICER_ROLE": WEB_OFFICER_ROLE,
    },
    # A school's own deployment: Symbio's profile (which says Hengelo) with the school's gemeente set.
    "school_servers": {"MELDWIJZER_PROFILE": "symbio", "MELDWIJZER_SCHOOL_GEMEENTE": "Den Haag"},
}


def default_env(workdir: Path) -> Dict[str, str]:
    """The configuration of ``make run``, with the pair's own stores and key."""
    return {
        "MELDWIJZER_DB_URL": f"sqlite:///{workdir / 'cases.db'}",
        "MELDWIJZER_TRACKER_DB_URL": f"sqlite:///{workdir / 'tracker.db'}",
        "MELDWIJZER_SECRET_KEY": Fernet.generate_key().decode(),
        "MELDWIJZER_ID_KEY": identities.new_key().decode(),  # tests hash a clear id with it (stored_identity)
        "MELDWIJZER_PROFILE": "national",
        "MELDWIJZER_API_TOKEN": "",
        "MELDWIJZER_REST_CLIENTS": "",
        "MELDWIJZER_REST_LOCAL": "1",  # tokenless REST from this machine, as `make run` has it
        "MELDWIJZER_WEB_ANONYMOUS": "1",  # the web chat's single-user trial mode, as `make run` has it
        # The most talkative level, for every pair: tests/e2e/test_logs.py greps what it wrote for what the
        # users typed (it must find none of it, bot/logs.py).
        "LOG_LEVEL": "DEBUG",
    }


@dataclass
class ServerPool:
    """The default pair and the pairs of ``VARIANTS`` that this run's tests use, all launched at once."""

    pairs: Dict[str, Servers]

    def get(self, name: str) -> Servers:
        """The pair, once it answers (each is asked for once, by its session fixture below)."""
        pair = self.pairs[name]
        pair.wait_ready()
        return pair

    def stop(self) -> None:
        for pair in self.pairs.values():
            pair.stop()


@pytest.fixture(scope="session")
def intranet_port() -> int:
    """The port of the browser tests' intranet site, known before the servers start (their origin list)."""
    return free_port()


@pytest.fixture(scope="session")
def server_pool(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, intranet_port: int
) -> Iterator[ServerPool]:
    if not MODEL.exists():
        pytest.fail("models/meldwijzer.tar.gz is missing: run `make train` (make test does it for you)")
    wanted = {name for item in request.session.items for name in getattr(item, "fixturenames", ())}
    names = ["servers", *(name for name in VARIANTS if name in wanted)]
    pairs: Dict[str, Servers] = {}
    for name in names:
        workdir = tmp_path_factory.mktemp(name)
        pair = Servers(workdir=workdir, env={**default_env(workdir), **VARIANTS.get(name, {})})
        # The chat's own origin and the browser tests' intranet (web_helpers.IntranetSite: 127.0.0.1).
        pair.env["MELDWIJZER_WEB_ORIGINS"] = f"{pair.base_url},http://127.0.0.1:{intranet_port}"
        pair.launch()
        pairs[name] = pair
    pool = ServerPool(pairs)
    try:
        yield pool
    finally:
        pool.stop()


@pytest.fixture(scope="session")
def servers(server_pool: ServerPool) -> Servers:
    """The pair as ``make run`` configures it (tokenless REST from loopback, anonymous web trial)."""
    return server_pool.get("servers")


@pytest.fixture(scope="session")
def secured_servers(server_pool: ServerPool) -> Servers:
    """A pair that requires the REST token and staff tokens (``VARIANTS``)."""
    return server_pool.get("secured_servers")


@pytest.fixture(scope="session")
def school_servers(server_pool: ServerPool) -> Servers:
    """A pair with a school's profile and gemeente (``VARIANTS``)."""
    return server_pool.get("school_servers")
