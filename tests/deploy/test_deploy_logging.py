"""Structured logs without user text: the formatter, and the action server started by scripts/serve.sh.

A log line is kept longer and read by more people than the dossier, so what a teacher typed must
never reach it. The action server is run exactly as the systemd unit runs it, fed a request full of
"pupil" text that makes it fail, and every line it writes must be JSON without that text.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict

import requests

from deploy.jsonlog import JsonFormatter
from deploy_helpers import free_port, write_key_files

REPO = Path(__file__).resolve().parents[2]
SECRET = "Fatima vertelde dat haar stiefvader haar slaat"


def test_a_record_is_one_json_line_and_an_exception_only_its_type_and_place() -> None:
    try:
        raise ValueError(f"could not parse {SECRET!r}")
    except ValueError:
        record = logging.LogRecord("actions", logging.ERROR, __file__, 1, "action failed", None, sys.exc_info())
    line = JsonFormatter().format(record)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "ERROR" and entry["logger"] == "actions" and entry["msg"] == "action failed"
    assert entry["exc"] == "ValueError" and entry["at"].startswith(__file__)
    assert "Fatima" not in line


def test_the_action_server_under_serve_logs_json_lines_without_user_text(tmp_path: Path) -> None:
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"stand-in: the action server does not load the model")
    key = write_key_files(tmp_path)
    port = free_port()
    env: Dict[str, str] = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("MELDWIJZER_", "SANIC_"))},
        "ACTIONS_PORT": str(port),
        "RASA_PORT": str(free_port()),
        "MELDWIJZER_MODEL": str(model),
        "MELDWIJZER_KEY_FILE": str(key),
        "MELDWIJZER_DB_URL": f"sqlite:///{tmp_path / 'cases.db'}",
        "MELDWIJZER_REST_CLIENTS": "intranet:0123456789abcdef0123",
        "MELDWIJZER_WEB": "off",
        "MELDWIJZER_RUNTIME_DIR": str(tmp_path / "run"),
        "MELDWIJZER_ACTIONS_TOKEN": os.environ["MELDWIJZER_ACTIONS_TOKEN"],
    }
    log = tmp_path / "actions.log"
    with log.open("wb") as handle:
        server = subprocess.Popen(
            [str(REPO / "scripts" / "serve.sh"), "actions"],
            cwd=REPO,
            env=env,
            stdout=handle,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        for _ in range(1200):
            assert server.poll() is None, log.read_text()
            try:
                if requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                time.sleep(0.2)
        tracker = {
            "sender_id": "rest:intranet:juf",
            "slots": {},
            "events": [],
            "latest_message": {"text": SECRET, "intent": {"name": "report_signal"}, "entities": []},
        }
        odd = {**tracker, "slots": SECRET}  # malformed: the action must cope without echoing it
        for body in (
            {"next_action": "action_save_note", "tracker": odd, "domain": {"slots": SECRET}},
            {"next_action": "action_bestaat_niet", "tracker": tracker},
        ):
            reply = requests.post(
                f"http://127.0.0.1:{port}/webhook",
                json=body,
                headers={"X-Meldwijzer-Actions-Token": env["MELDWIJZER_ACTIONS_TOKEN"]},
                timeout=60,
            )
            assert SECRET not in reply.text
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert lines, "the action server logged nothing"
    entries = [json.loads(line) for line in lines]  # every line is a JSON object
    assert all({"ts", "level", "logger", "msg"} <= set(entry) for entry in entries)
    assert any(entry["level"] == "ERROR" for entry in entries)  # the unknown action was logged
    assert SECRET not in log.read_text(encoding="utf-8") and "Fatima" not in log.read_text(encoding="utf-8")
