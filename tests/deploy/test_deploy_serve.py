"""The production runner (scripts/serve.sh + deploy/preflight.py): each refusal names its variable.

A server that starts half-configured fails later, for a teacher; these tests pin that every wrong or
missing value stops the runner at start-up, that the trial modes of `make run` are refused, and that
the runner itself never installs or trains.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Dict

import pytest
from ruamel.yaml import YAML

from deploy.preflight import WEB_CHANNEL_KEY, check
from deploy_helpers import write_key_files

REPO = Path(__file__).resolve().parents[2]
SERVE = REPO / "scripts" / "serve.sh"
# the developer's own runtime settings, by prefix
RUNTIME_PREFIXES = ("MELDWIJZER_", "SANIC_", "MICROSOFT_APP_", "LOG_LEVEL", "TICKET_LOCK_LIFETIME")


@pytest.fixture
def good_env(tmp_path: Path) -> Dict[str, str]:
    """A complete production configuration: every refusal below changes exactly one thing in it."""
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"not a real model: the preflight only checks that it is there")
    key = write_key_files(tmp_path)
    return {
        "RASA_PORT": "5105",
        "ACTIONS_PORT": "5155",
        "MELDWIJZER_INTERFACE": "127.0.0.1",
        "MELDWIJZER_MODEL": str(model),
        "MELDWIJZER_KEY_FILE": str(key),
        "MELDWIJZER_DB_URL": "postgresql://meldwijzer:pw@127.0.0.1:5432/meldwijzer",
        "MELDWIJZER_TRACKER_DB_URL": f"sqlite:///{tmp_path / 'tracker.db'}",
        "MELDWIJZER_REST_CLIENTS": "intranet:0123456789abcdef0123",
        "MELDWIJZER_WEB_JWT_KEY": "k" * 32,
        "MELDWIJZER_WEB_ORIGINS": "https://meldwijzer.school.example",
        "MELDWIJZER_WEB_JWT_AUDIENCE": "meldwijzer",
        "MELDWIJZER_WEB_JWT_ISSUER": "https://intranet.school.example",
        "MELDWIJZER_RUNTIME_DIR": str(tmp_path / "run"),
        "MELDWIJZER_ACTIONS_TOKEN": "a" * 48,
    }


def test_a_complete_configuration_passes(good_env: Dict[str, str]) -> None:
    result = check(good_env)
    assert result.errors == []
    assert result.credentials == REPO / "credentials.yml"


def test_reminders_with_teams_pass(good_env: Dict[str, str]) -> None:
    teams = {"MICROSOFT_APP_ID": "app", "MICROSOFT_APP_PASSWORD": "secret", "MICROSOFT_APP_TENANT_ID": "tenant"}
    reminders = {"MELDWIJZER_REMINDERS": "1", "MELDWIJZER_REMINDERS_INTERVAL": "300"}
    assert check({**good_env, **teams, **reminders}).errors == []


def _without(env: Dict[str, str], *names: str) -> Dict[str, str]:
    return {k: v for k, v in env.items() if k not in names}


REFUSALS = [
    ("model missing", {"MELDWIJZER_MODEL": "/nonexistent/model.tar.gz"}, "MELDWIJZER_MODEL"),
    ("key file missing", {"MELDWIJZER_KEY_FILE": "/nonexistent/secret.key"}, "MELDWIJZER_KEY_FILE"),
    ("key malformed", {"MELDWIJZER_SECRET_KEY": "not-a-fernet-key"}, "MELDWIJZER_SECRET_KEY"),
    ("require key switched off", {"MELDWIJZER_REQUIRE_KEY": "0"}, "MELDWIJZER_REQUIRE_KEY"),
    ("action server secret missing", {"MELDWIJZER_ACTIONS_TOKEN": ""}, "MELDWIJZER_ACTIONS_TOKEN"),
    ("action server secret short", {"MELDWIJZER_ACTIONS_TOKEN": "geheim"}, "MELDWIJZER_ACTIONS_TOKEN"),
    ("port not a number", {"RASA_PORT": "http"}, "RASA_PORT"),
    ("ports equal", {"ACTIONS_PORT": "5105"}, "ACTIONS_PORT"),
    ("interface not an address", {"MELDWIJZER_INTERFACE": "everywhere"}, "MELDWIJZER_INTERFACE"),
    ("case store not a URL", {"MELDWIJZER_DB_URL": "meldwijzer.db"}, "MELDWIJZER_DB_URL"),
    ("tracker store unsupported", {"MELDWIJZER_TRACKER_DB_URL": "mysql://u@h/db"}, "MELDWIJZER_TRACKER_DB_URL"),
    ("redis URL wrong scheme", {"MELDWIJZER_REDIS_URL": "http://127.0.0.1:6379"}, "MELDWIJZER_REDIS_URL"),
    ("workers without redis", {"SANIC_WORKERS": "2"}, "SANIC_WORKERS"),
    ("workers zero", {"SANIC_WORKERS": "0"}, "SANIC_WORKERS"),
    ("action workers not a number", {"ACTION_SERVER_SANIC_WORKERS": "many"}, "ACTION_SERVER_SANIC_WORKERS"),
    ("lock lifetime not a number", {"TICKET_LOCK_LIFETIME": "1m"}, "TICKET_LOCK_LIFETIME"),
    ("in-flight limit zero", {"MELDWIJZER_MAX_IN_FLIGHT": "0"}, "MELDWIJZER_MAX_IN_FLIGHT"),
    ("queue negative", {"MELDWIJZER_MAX_QUEUE": "-1"}, "MELDWIJZER_MAX_QUEUE"),
    ("wait not seconds", {"MELDWIJZER_MAX_WAIT_S": "half a minute"}, "MELDWIJZER_MAX_WAIT_S"),
    ("reminders switch unknown", {"MELDWIJZER_REMINDERS": "soms"}, "MELDWIJZER_REMINDERS"),
    ("reminders without Teams", {"MELDWIJZER_REMINDERS": "1"}, "MELDWIJZER_REMINDERS"),
    ("reminder interval too short", {"MELDWIJZER_REMINDERS_INTERVAL": "1"}, "MELDWIJZER_REMINDERS_INTERVAL"),
    ("debug logs user text", {"LOG_LEVEL": "DEBUG"}, "LOG_LEVEL"),
    ("unknown profile", {"MELDWIJZER_PROFILE": "nergens"}, "MELDWIJZER_PROFILE"),
    ("REST local mode", {"MELDWIJZER_REST_LOCAL": "1"}, "MELDWIJZER_REST_LOCAL"),
    ("REST clients malformed", {"MELDWIJZER_REST_CLIENTS": "intranet:short"}, "MELDWIJZER_REST_CLIENTS"),
    ("web anonymous mode", {"MELDWIJZER_WEB_ANONYMOUS": "1"}, "MELDWIJZER_WEB_ANONYMOUS"),
    ("web without staff tokens", {"MELDWIJZER_WEB_JWT_KEY": ""}, "MELDWIJZER_WEB_JWT_KEY"),
    ("web key too short", {"MELDWIJZER_WEB_JWT_KEY": "short"}, "MELDWIJZER_WEB_JWT_KEY"),
    ("web method unknown", {"MELDWIJZER_WEB_JWT_METHOD": "none"}, "MELDWIJZER_WEB_JWT_METHOD"),
    ("web audience missing", {"MELDWIJZER_WEB_JWT_AUDIENCE": ""}, "MELDWIJZER_WEB_JWT_AUDIENCE"),
    ("web issuer missing", {"MELDWIJZER_WEB_JWT_ISSUER": " "}, "MELDWIJZER_WEB_JWT_ISSUER"),
    ("web origins missing", {"MELDWIJZER_WEB_ORIGINS": ""}, "MELDWIJZER_WEB_ORIGINS"),
    ("web origin wildcard", {"MELDWIJZER_WEB_ORIGINS": "*"}, "MELDWIJZER_WEB_ORIGINS"),
    ("web origin with a path", {"MELDWIJZER_WEB_ORIGINS": "https://school.example/chat"}, "MELDWIJZER_WEB_ORIGINS"),
    ("web switch neither on nor off", {"MELDWIJZER_WEB": "maybe"}, "MELDWIJZER_WEB"),
    ("Teams half configured", {"MICROSOFT_APP_ID": "id", "MICROSOFT_APP_PASSWORD": "pw"}, "MICROSOFT_APP_TENANT_ID"),
    ("no channel at all", {"MELDWIJZER_WEB": "off", "MELDWIJZER_REST_CLIENTS": ""}, "MELDWIJZER_REST_CLIENTS"),
]


@pytest.mark.parametrize("change, variable", [(c, v) for _, c, v in REFUSALS], ids=[n for n, _, _ in REFUSALS])
def test_a_wrong_or_missing_value_is_an_error_naming_the_variable(
    good_env: Dict[str, str], change: Dict[str, str], variable: str
) -> None:
    result = check({**good_env, **change})
    assert [e for e in result.errors if e.startswith(f"{variable}: ")], result.errors


def test_a_key_file_readable_by_others_is_refused(good_env: Dict[str, str]) -> None:
    Path(good_env["MELDWIJZER_KEY_FILE"]).chmod(0o644)
    assert any(e.startswith("MELDWIJZER_KEY_FILE: ") and "chmod 600" in e for e in check(good_env).errors)


def test_the_key_check_never_creates_a_key(good_env: Dict[str, str], tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "secret.key"
    check({**_without(good_env, "MELDWIJZER_REQUIRE_KEY"), "MELDWIJZER_KEY_FILE": str(missing)})
    assert not missing.exists()


def test_redis_allows_several_workers(good_env: Dict[str, str]) -> None:
    assert check({**good_env, "SANIC_WORKERS": "2", "MELDWIJZER_REDIS_URL": "redis://127.0.0.1:6379/0"}).errors == []


def test_web_off_starts_rasa_without_the_web_channel(good_env: Dict[str, str]) -> None:
    result = check({**_without(good_env, "MELDWIJZER_WEB_JWT_KEY", "MELDWIJZER_WEB_ORIGINS"), "MELDWIJZER_WEB": "off"})
    assert result.errors == []
    assert result.credentials.parent == Path(good_env["MELDWIJZER_RUNTIME_DIR"])
    channels = YAML(typ="safe").load(result.credentials.read_text(encoding="utf-8"))
    original = YAML(typ="safe").load((REPO / "credentials.yml").read_text(encoding="utf-8"))
    assert WEB_CHANNEL_KEY in original and WEB_CHANNEL_KEY not in channels
    assert set(channels) == set(original) - {WEB_CHANNEL_KEY}


# --- the shell runner itself ---------------------------------------------------------------------


def run_serve(env: Dict[str, str], *args: str) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(RUNTIME_PREFIXES)}
    return subprocess.run(
        [str(SERVE), *args], cwd=REPO, env={**base, **env}, capture_output=True, text=True, timeout=120
    )


def test_serve_check_accepts_a_complete_configuration(good_env: Dict[str, str]) -> None:
    done = run_serve(good_env, "check")
    assert done.returncode == 0, done.stderr
    assert "configuration ok" in done.stdout


@pytest.mark.parametrize("mode", ["all", "rasa", "actions"])
def test_serve_refuses_to_start_without_a_model(good_env: Dict[str, str], mode: str) -> None:
    done = run_serve({**good_env, "MELDWIJZER_MODEL": "/nonexistent/model.tar.gz"}, mode)
    assert done.returncode == 2
    assert "configuration error: MELDWIJZER_MODEL:" in done.stderr


def test_serve_requires_the_key_even_when_the_environment_does_not_ask(
    good_env: Dict[str, str], tmp_path: Path
) -> None:
    missing = tmp_path / "lost" / "secret.key"
    done = run_serve({**good_env, "MELDWIJZER_KEY_FILE": str(missing)}, "rasa")
    assert done.returncode == 2
    assert "configuration error: MELDWIJZER_KEY_FILE:" in done.stderr
    assert not missing.exists()


@pytest.mark.parametrize("variable", ["MELDWIJZER_REST_LOCAL", "MELDWIJZER_WEB_ANONYMOUS"])
def test_serve_refuses_unauthenticated_channels(good_env: Dict[str, str], variable: str) -> None:
    done = run_serve({**good_env, variable: "1"}, "all")
    assert done.returncode == 2
    assert f"configuration error: {variable}:" in done.stderr


def test_serve_names_a_missing_virtualenv(good_env: Dict[str, str], tmp_path: Path) -> None:
    done = run_serve({**good_env, "MELDWIJZER_VENV": str(tmp_path / "no-venv")}, "all")
    assert done.returncode == 2
    assert "configuration error: MELDWIJZER_VENV:" in done.stderr


def test_serve_never_installs_or_trains() -> None:
    """`make run` sets up and trains; the production runner only runs what was built and checked."""
    script = SERVE.read_text(encoding="utf-8")
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("#")]
    commands = "\n".join(re.sub(r'"[^"]*"|\'[^\']*\'', "", line) for line in lines)  # messages aside
    for forbidden in ("pip", "setup.sh", "train", "apt-get", "make"):
        assert not re.search(rf"\b{re.escape(forbidden)}\b", commands), forbidden
    assert "export MELDWIJZER_REQUIRE_KEY=1" in commands
    assert "export RASA_TELEMETRY_ENABLED=false" in commands
