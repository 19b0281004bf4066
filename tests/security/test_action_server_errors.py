"""Attack: call the action server directly, and make it fail and read what comes back.

rasa_sdk's own handler answered 500 with the whole request (the tracker, with what the teacher typed) in
the body, which the Rasa server then logged. Ours answers a fixed text and logs only the exception's
type and place. And only the Rasa server may call it at all: without its shared secret
(``MELDWIJZER_ACTIONS_TOKEN``) every request is refused before an action runs, and without the
variable the server does not start."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
SECRET = "Fatma zei dat haar oom aan haar zit"  # a note a teacher could type: must never come back
TOKEN = "t" * 48
TOKEN_HEADER = "X-Meldwijzer-Actions-Token"
PYTHON = str(REPO / ".venv" / "bin" / "python")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple]:
    port, log = free_port(), tmp_path_factory.mktemp("actions") / "actions.log"
    env = {**os.environ, "SANIC_HOST": "127.0.0.1", "LOG_LEVEL": "DEBUG", "MELDWIJZER_ACTIONS_TOKEN": TOKEN}
    with log.open("wb") as handle:
        proc = subprocess.Popen(
            [PYTHON, "-m", "actions.server", "--port", str(port)],
            cwd=REPO,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            assert proc.poll() is None, log.read_text()[-3000:]
            try:
                requests.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.5)
        yield f"http://127.0.0.1:{port}", log
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize(
    "action,tracker",
    [
        ("action_session_start", {"events": [{"event": "user", "text": SECRET}]}),  # no sender_id: rasa_sdk raises
        (
            "validate_note_form",
            {"sender_id": "mentor-1", "slots": None, "events": [{"event": "user", "text": SECRET}]},
        ),  # a form validation crashes
    ],
)
def test_a_failing_action_call_answers_500_without_the_request(
    action_server: tuple, action: str, tracker: dict
) -> None:
    url, log = action_server
    reply = requests.post(
        f"{url}/webhook",
        json={"next_action": action, "tracker": tracker, "domain": {"slots": {}}, "version": "3.6.21"},
        headers={TOKEN_HEADER: TOKEN},
        timeout=30,
    )
    assert reply.status_code == 500, reply.text[:300]
    assert SECRET not in reply.text and "request_body" not in reply.text
    assert reply.json() == {"error": "internal error in the action server"}
    time.sleep(0.2)
    assert SECRET not in log.read_text(errors="replace")


def test_cross_origin_requests_get_no_cors_grant(action_server: tuple) -> None:
    url, _ = action_server
    reply = requests.options(
        f"{url}/webhook",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert "access-control-allow-origin" not in {k.lower() for k in reply.headers}


@pytest.mark.parametrize(
    "headers",
    [{}, {TOKEN_HEADER: ""}, {TOKEN_HEADER: "t" * 47}, {TOKEN_HEADER: "x" * 48}, {"Authorization": f"Bearer {TOKEN}"}],
    ids=["none", "empty", "too-short", "wrong", "other-header"],
)
def test_a_call_without_the_rasa_servers_secret_is_refused_before_any_action(
    action_server: tuple, headers: dict
) -> None:
    """What another program on the server (or behind a misconfigured proxy) could try: run an action that
    reads a dossier. Refused with 401 and a fixed text; nothing runs, so nothing is logged of the tracker."""
    url, log = action_server
    tracker = {"sender_id": "web:juf", "slots": {}, "events": [{"event": "user", "text": SECRET}]}
    reply = requests.post(
        f"{url}/webhook",
        json={"next_action": "action_export_dossier", "tracker": tracker, "domain": {"slots": {}}, "version": "3.6.21"},
        headers=headers,
        timeout=30,
    )
    assert reply.status_code == 401 and reply.json() == {"error": "unauthorized"}
    assert requests.get(f"{url}/actions", headers=headers, timeout=10).status_code == 401
    assert requests.get(f"{url}/health", timeout=10).ok  # the probe stays open
    time.sleep(0.2)
    assert SECRET not in log.read_text(errors="replace")


@pytest.mark.parametrize("token", ["", "kort"])
def test_the_action_server_does_not_start_without_a_proper_secret(token: str) -> None:
    env = {**os.environ, "MELDWIJZER_ACTIONS_TOKEN": token, "SANIC_HOST": "127.0.0.1"}
    done = subprocess.run(
        [PYTHON, "-m", "actions.server", "--port", str(free_port())],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "MELDWIJZER_ACTIONS_TOKEN" in done.stderr
