"""The container image and compose file name only things that exist (no image is built here).

There is no container daemon on the development machines, so these tests are what keeps
deploy/Dockerfile and deploy/compose.yml honest: every path they copy or mount, every command they
run, every port they publish or probe exists in the repository and matches the runner's settings,
and the example settings they read pass the production runner's start-up check.
"""

from __future__ import annotations

import json
import os
import re
import shlex
from pathlib import Path
from typing import Dict, List

import pytest
from ruamel.yaml import YAML

from bot.store import identities
from deploy.preflight import check
from deploy_helpers import write_key_files

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE = DEPLOY / "compose.yml"
ENV_EXAMPLE = DEPLOY / "meldwijzer.env.example"
SERVE_MODES = ("all", "rasa", "actions", "check")


def instructions() -> List[List[str]]:
    """Dockerfile instructions as [KEYWORD, argument text], continuation lines joined."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text(encoding="utf-8"))
    rows = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [row.split(None, 1) for row in rows]


def env_example() -> Dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    )
    return {key: value for key, value in pairs}


def compose() -> dict:
    """The compose file as plain data with compose's ${VAR:?message} text untouched. Rasa's import teaches
    ruamel to expand ${VARIABLES}; the round-trip loader keeps them as tagged scalars, made text here."""
    return json.loads(json.dumps(YAML(typ="rt").load(COMPOSE.read_text(encoding="utf-8")), default=str))


def test_dockerfile_copies_and_runs_only_what_exists() -> None:
    rows = instructions()
    assert rows[0] == ["FROM", "python:3.10-slim-bookworm"]  # Rasa 3.6 needs Python 3.10
    for keyword, argument in rows:
        if keyword == "COPY":
            *sources, _target = argument.split()
            for source in sources:
                assert source == "." or (REPO / source).exists(), source
        if keyword == "RUN" and argument.startswith("scripts/"):
            assert os.access(REPO / argument.split()[0], os.X_OK), argument
    entry = dict(rows)
    assert shlex.split(entry["ENTRYPOINT"].strip("[]").replace(",", " ")) == ["scripts/serve.sh"]
    assert os.access(REPO / "scripts" / "serve.sh", os.X_OK)
    assert shlex.split(entry["CMD"].strip("[]").replace(",", " "))[0] in SERVE_MODES
    assert entry["EXPOSE"] == env_example()["RASA_PORT"]
    assert f"127.0.0.1:{env_example()['RASA_PORT']}/" in entry["HEALTHCHECK"]
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").split()
    assert "var" in ignored and ".venv" in ignored  # no key, database or local environment in the image


def test_compose_runs_the_same_runner_and_configs() -> None:
    spec = compose()
    services = spec["services"]
    assert set(services) == {"rasa", "actions", "nginx", "postgres", "redis"}
    build = services["rasa"]["build"]
    assert (COMPOSE.parent / build["context"] / build["dockerfile"]).resolve() == DOCKERFILE
    for name in ("rasa", "actions"):
        service = services[name]
        assert service["command"][0] in SERVE_MODES and service["command"] == [name]
        assert (COMPOSE.parent / f"{service['env_file']}.example").resolve() == ENV_EXAMPLE
    for name in ("actions", "nginx"):  # one network namespace: the configs' 127.0.0.1 addresses hold
        assert services[name]["network_mode"] == "service:rasa"
    actions_probe = " ".join(services["actions"]["healthcheck"]["test"])
    assert f"127.0.0.1:{env_example()['ACTIONS_PORT']}/health" in actions_probe
    mounts = [re.sub(r"\$\{[^}]*\}", "HOST_DIR", volume).split(":") for volume in services["nginx"]["volumes"]]
    assert (COMPOSE.parent / mounts[0][0]).resolve() == DEPLOY / "nginx" / "meldwijzer.conf"
    site = (DEPLOY / "nginx" / "meldwijzer.conf").read_text(encoding="utf-8")
    assert mounts[1][1] == "/etc/ssl/meldwijzer" and "/etc/ssl/meldwijzer/fullchain.pem" in site
    assert f"server 127.0.0.1:{env_example()['RASA_PORT']} " in site
    for published in services["rasa"]["ports"]:
        assert f"listen {published.split(':')[1]}" in site
    environment = spec["x-meldwijzer"]["environment"]
    assert "@postgres:5432/" in environment["MELDWIJZER_DB_URL"]
    assert environment["MELDWIJZER_REDIS_URL"].startswith("redis://redis:6379/")
    assert environment["MELDWIJZER_KEY_FILE"] == "/run/secrets/meldwijzer_key"
    assert environment["MELDWIJZER_ID_KEY_FILE"] == "/run/secrets/meldwijzer_id_key"


def test_the_example_settings_pass_the_start_up_check(tmp_path: Path) -> None:
    """An admin who only replaces the CHANGE-ME values gets a server that starts."""
    model = tmp_path / "model.tar.gz"
    model.write_bytes(b"stand-in")
    key = write_key_files(tmp_path)
    keys = {"MELDWIJZER_KEY_FILE": str(key), "MELDWIJZER_ID_KEY_FILE": str(key.with_name(identities.ID_KEY_FILE_NAME))}
    env = {**env_example(), "MELDWIJZER_MODEL": str(model), **keys}
    assert check(env).errors == []
    container = {**env, **compose()["x-meldwijzer"]["environment"], **keys}
    container = {k: re.sub(r"\$\{POSTGRES_PASSWORD[^}]*\}", "pw", v) for k, v in container.items()}
    assert check(container).errors == []


@pytest.mark.parametrize("unit", sorted(p.name for p in (DEPLOY / "systemd").iterdir()))
def test_units_read_the_example_settings_file_name(unit: str) -> None:
    text = (DEPLOY / "systemd" / unit).read_text(encoding="utf-8")
    if "EnvironmentFile=" in text:
        assert "EnvironmentFile=/etc/meldwijzer/meldwijzer.env" in text
        assert "/etc/meldwijzer/meldwijzer.env" in ENV_EXAMPLE.read_text(encoding="utf-8")
