"""Start-up check of the production runner (scripts/serve.sh): every configuration error, by name, first.

Why: a server that starts with a malformed value fails later and partially (a REST client that always
gets 401, Sanic workers sharing an in-memory lock, a web chat that refuses every origin) and the admin
learns it from a teacher. Here every value is checked before a process starts; each problem is one
line naming the variable, and the runner stops (exit 2).

What the production runner refuses on top of the channels' own checks:
- the trial modes ``MELDWIJZER_REST_LOCAL=1`` and ``MELDWIJZER_WEB_ANONYMOUS=1``: both trust that a
  request from 127.0.0.1 is the person at the server, and behind nginx every request comes from
  127.0.0.1. A channel is authenticated (REST client tokens, web staff tokens, Teams' Bot Framework
  tokens) or off (``MELDWIJZER_WEB=off``; REST is off without clients);
- a missing key (``MELDWIJZER_REQUIRE_KEY=1``: a fresh key would make every dossier unreadable) or id key
  (a fresh one would part every person from their cases);
- a missing or short ``MELDWIJZER_ACTIONS_TOKEN``: the Rasa server and the action server, started apart
  (two units, two containers), must share one secret, so it lives in the settings file;
- ``LOG_LEVEL=DEBUG`` (Rasa logs each user message at DEBUG);
- ``SANIC_WORKERS`` > 1 without Redis (Rasa accepts our lock store class as multi-worker capable, but
  without ``MELDWIJZER_REDIS_URL`` each worker would lock conversations in its own memory).

``python -m deploy.preflight`` prints the credentials file to start Rasa with (credentials.yml, or a copy
without the web channel in ``MELDWIJZER_RUNTIME_DIR`` when the web chat is off).
"""

from __future__ import annotations

import ipaddress
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Mapping, Optional

REPO = Path(__file__).resolve().parents[1]
CREDENTIALS = REPO / "credentials.yml"
WEB_CHANNEL_KEY = "plugins.channels.web.WebChatInput"
LOG_LEVELS = ("INFO", "WARNING", "ERROR")
MIN_JWT_KEY_CHARS = 32


@dataclass
class Preflight:
    """The outcome: the errors found and the credentials file Rasa must use."""

    errors: List[str] = field(default_factory=list)
    credentials: Path = CREDENTIALS

    def error(self, variable: str, problem: str) -> None:
        self.errors.append(f"{variable}: {problem}")


def _port(env: Mapping[str, str], name: str, default: str, result: Preflight) -> Optional[int]:
    raw = env.get(name) or default
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        result.error(name, f"must be a TCP port (1-65535), got {raw!r}")
        return None
    return int(raw)


def _positive_int(env: Mapping[str, str], name: str, result: Preflight) -> int:
    raw = env.get(name) or "1"
    if not raw.isdigit() or int(raw) < 1:
        result.error(name, f"must be a whole number >= 1, got {raw!r}")
        return 1
    return int(raw)


def _check_network(env: Mapping[str, str], result: Preflight) -> None:
    rasa = _port(env, "RASA_PORT", "5005", result)
    actions = _port(env, "ACTIONS_PORT", "5055", result)
    if rasa is not None and rasa == actions:
        result.error("ACTIONS_PORT", f"must differ from RASA_PORT ({rasa})")
    interface = env.get("MELDWIJZER_INTERFACE") or "127.0.0.1"
    try:
        ipaddress.ip_address(interface)
    except ValueError:
        result.error("MELDWIJZER_INTERFACE", f"must be an IP address to listen on, got {interface!r}")


def _check_model(env: Mapping[str, str], result: Preflight) -> None:
    model = Path(env.get("MELDWIJZER_MODEL") or REPO / "models" / "meldwijzer.tar.gz")
    if not model.is_file():
        result.error(
            "MELDWIJZER_MODEL",
            f"no trained model at {model}; train with `make train` on a build "
            "machine and copy it (the production runner never trains)",
        )


def _check_key(env: Mapping[str, str], result: Preflight) -> None:
    """The key must already exist: the runner sets MELDWIJZER_REQUIRE_KEY=1 (a new key loses every dossier)."""
    from bot.store import crypto

    if env.get(crypto.ENV_REQUIRE_KEY) not in (None, "", "1"):
        result.error(crypto.ENV_REQUIRE_KEY, "the production runner always requires the key; leave it 1 or unset")
    try:
        crypto.cipher({**env, crypto.ENV_REQUIRE_KEY: "1"})
    except crypto.EncryptionKeyError as error:
        result.error(crypto.ENV_KEY if env.get(crypto.ENV_KEY) else crypto.ENV_KEY_FILE, str(error))
    from bot.store import identities

    try:  # a new id key would give every person a new, empty identity
        identities.id_keys({**env, crypto.ENV_REQUIRE_KEY: "1"})
    except identities.IdentityKeyError as error:
        result.error(
            identities.ENV_ID_KEY if env.get(identities.ENV_ID_KEY) else identities.ENV_ID_KEY_FILE, str(error)
        )


def _check_stores(env: Mapping[str, str], result: Preflight) -> None:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    for name in ("MELDWIJZER_DB_URL", "MELDWIJZER_TRACKER_DB_URL"):
        raw = env.get(name)
        if not raw:
            continue  # the SQLite default in var/: right for one server
        try:
            backend = make_url(raw).get_backend_name()
        except ArgumentError:
            result.error(name, "is not a database URL (postgresql://user:password@host/db or sqlite:////path)")
            continue
        if backend not in ("postgresql", "sqlite"):
            result.error(name, f"must be postgresql:// or sqlite://, got {backend}://")
    redis_url = env.get("MELDWIJZER_REDIS_URL")
    if redis_url:
        from plugins.lock_store import redis_settings

        try:
            redis_settings(redis_url)
        except ValueError as error:
            result.error("MELDWIJZER_REDIS_URL", str(error))
    if env.get("TICKET_LOCK_LIFETIME"):
        _positive_int(env, "TICKET_LOCK_LIFETIME", result)
    workers = _positive_int(env, "SANIC_WORKERS", result)
    _positive_int(env, "ACTION_SERVER_SANIC_WORKERS", result)
    if workers > 1 and not redis_url:
        result.error(
            "SANIC_WORKERS",
            "more than 1 worker needs MELDWIJZER_REDIS_URL (the conversation locks must be shared by all workers)",
        )


def _check_admission(env: Mapping[str, str], result: Preflight) -> None:
    """plugins/channels/admission.py reads these at the first message; a typo must stop the start instead."""
    for name, minimum in (("MELDWIJZER_MAX_IN_FLIGHT", 1), ("MELDWIJZER_MAX_QUEUE", 0)):
        raw = env.get(name)
        if raw is not None and not (raw.isdigit() and int(raw) >= minimum):
            result.error(name, f"must be a whole number >= {minimum}, got {raw!r}")
    raw = env.get("MELDWIJZER_MAX_WAIT_S")
    if raw is not None:
        try:
            valid = float(raw) > 0
        except ValueError:
            valid = False
        if not valid:
            result.error("MELDWIJZER_MAX_WAIT_S", f"must be a number of seconds > 0, got {raw!r}")


def _check_reminders(env: Mapping[str, str], result: Preflight) -> None:
    """bot/reminders.py reads these when the Teams channel starts; it sends reminders only over Teams."""
    from bot import reminders

    switch = (env.get(reminders.ENV_ENABLED) or "").strip().lower()
    if switch not in ("", "0", "1", "true", "false", "yes", "no", "on", "off"):
        result.error(reminders.ENV_ENABLED, f"must be 1 or 0, got {env.get(reminders.ENV_ENABLED)!r}")
    elif reminders.enabled(env) and not env.get("MICROSOFT_APP_ID"):
        result.error(
            reminders.ENV_ENABLED,
            "reminders are sent over Teams: configure the MICROSOFT_APP_* values (docs/TEAMS.md) or switch them off",
        )
    raw = env.get(reminders.ENV_INTERVAL)
    if raw is not None:
        try:
            valid = float(raw) >= reminders.MIN_INTERVAL_SECONDS
        except ValueError:
            valid = False
        if not valid:
            result.error(
                reminders.ENV_INTERVAL,
                f"must be a number of seconds >= {reminders.MIN_INTERVAL_SECONDS:g}, got {raw!r}",
            )


def _check_logging(env: Mapping[str, str], result: Preflight) -> None:
    level = (env.get("LOG_LEVEL") or "INFO").upper()
    if level not in LOG_LEVELS:
        result.error(
            "LOG_LEVEL",
            f"must be one of {', '.join(LOG_LEVELS)} (DEBUG logs what users type), got {env.get('LOG_LEVEL')!r}",
        )


def _check_profile(env: Mapping[str, str], result: Preflight) -> None:
    wanted = env.get("MELDWIJZER_PROFILE") or "national"
    if not (REPO / "knowledge" / "organisations" / f"{wanted}.yml").is_file():
        known = sorted(p.stem for p in (REPO / "knowledge" / "organisations").glob("*.yml"))
        result.error("MELDWIJZER_PROFILE", f"unknown organisation profile {wanted!r}; known: {', '.join(known)}")


def _check_channels(env: Mapping[str, str], result: Preflight) -> bool:
    """The channels' authentication; returns whether the web chat is on."""
    from plugins.channels.identity import REST_LOCAL_ENV, RestClientsError, rest_clients

    channels = 0
    if env.get(REST_LOCAL_ENV) == "1":
        result.error(
            REST_LOCAL_ENV,
            "the tokenless local mode is for `make run` only (behind a proxy every "
            "request looks local); configure MELDWIJZER_REST_CLIENTS instead",
        )
    try:
        clients = rest_clients({k: v for k, v in env.items() if k != REST_LOCAL_ENV})
        channels += bool(clients.tokens)
    except RestClientsError as error:
        result.error("MELDWIJZER_REST_CLIENTS", str(error))

    web = (env.get("MELDWIJZER_WEB") or "on").lower()
    if web not in ("on", "off"):
        result.error("MELDWIJZER_WEB", f"must be on or off, got {env.get('MELDWIJZER_WEB')!r}")
    web_on = web != "off"
    if env.get("MELDWIJZER_WEB_ANONYMOUS") == "1":
        result.error(
            "MELDWIJZER_WEB_ANONYMOUS",
            "the anonymous trial mode is for `make run` only; set "
            "MELDWIJZER_WEB_JWT_KEY (staff tokens) or MELDWIJZER_WEB=off",
        )
    if web_on:
        channels += 1
        _check_web(env, result)

    teams = [env.get(name, "") for name in ("MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD", "MICROSOFT_APP_TENANT_ID")]
    if any(teams):
        channels += 1
        for name, value in zip(("MICROSOFT_APP_ID", "MICROSOFT_APP_PASSWORD", "MICROSOFT_APP_TENANT_ID"), teams):
            if not value:
                result.error(name, "missing: the Teams channel needs all three MICROSOFT_APP_* values (docs/TEAMS.md)")
    if channels == 0:
        result.error(
            "MELDWIJZER_REST_CLIENTS",
            "no channel is enabled: configure REST clients, the web chat "
            "(MELDWIJZER_WEB_JWT_KEY) or Teams (MICROSOFT_APP_*)",
        )
    return web_on


def _check_web(env: Mapping[str, str], result: Preflight) -> None:
    key = env.get("MELDWIJZER_WEB_JWT_KEY", "")
    method = env.get("MELDWIJZER_WEB_JWT_METHOD") or "HS256"
    if method not in ("HS256", "RS256"):
        result.error("MELDWIJZER_WEB_JWT_METHOD", f"must be HS256 or RS256, got {method!r}")
    if not key:
        result.error(
            "MELDWIJZER_WEB_JWT_KEY",
            "the web chat needs signed staff tokens (docs/WEB.md); set the key, or MELDWIJZER_WEB=off",
        )
    elif method == "HS256" and len(key) < MIN_JWT_KEY_CHARS:
        result.error("MELDWIJZER_WEB_JWT_KEY", f"an HS256 key needs at least {MIN_JWT_KEY_CHARS} characters")
    for name, claim in (("MELDWIJZER_WEB_JWT_AUDIENCE", "aud"), ("MELDWIJZER_WEB_JWT_ISSUER", "iss")):
        if not env.get(name, "").strip():
            result.error(
                name,
                f"the '{claim}' every staff token must carry (docs/WEB.md): tokens the intranet "
                "signs for another application must not open the chat",
            )
    origins = [o.strip() for o in env.get("MELDWIJZER_WEB_ORIGINS", "").split(",") if o.strip()]
    if not origins:
        result.error(
            "MELDWIJZER_WEB_ORIGINS",
            "list the web chat's public origin(s), e.g. "
            "https://meldwijzer.school.nl (the default is this machine only)",
        )
    for origin in origins:
        scheme, sep, rest = origin.partition("://")
        if origin == "*" or not sep or scheme not in ("http", "https") or not rest or "/" in rest.rstrip("/"):
            result.error("MELDWIJZER_WEB_ORIGINS", f"{origin!r} is not an origin (scheme://host[:port])")


def _credentials_without_web(runtime_dir: Path) -> Path:
    """credentials.yml minus the web channel, written where the runner keeps its runtime files."""
    from ruamel.yaml import YAML

    yaml = YAML()
    data = yaml.load(CREDENTIALS.read_text(encoding="utf-8"))
    del data[WEB_CHANNEL_KEY]
    runtime_dir.mkdir(parents=True, exist_ok=True)
    target = runtime_dir / "credentials.yml"
    with target.open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)
    return target


def _check_actions_token(env: Mapping[str, str], result: Preflight) -> None:
    from deploy.actions_token import TOKEN_ENV, token_problem

    problem = token_problem(env.get(TOKEN_ENV))
    if problem is not None:
        result.error(TOKEN_ENV, problem.removeprefix(f"{TOKEN_ENV} "))


def check(env: Mapping[str, str]) -> Preflight:
    """Every check, in the order an admin would fix them; nothing is started or written on error."""
    result = Preflight()
    _check_network(env, result)
    _check_model(env, result)
    _check_key(env, result)
    _check_actions_token(env, result)
    _check_stores(env, result)
    _check_admission(env, result)
    _check_reminders(env, result)
    _check_logging(env, result)
    _check_profile(env, result)
    web_on = _check_channels(env, result)
    if not result.errors and not web_on:
        result.credentials = _credentials_without_web(Path(env.get("MELDWIJZER_RUNTIME_DIR") or REPO / "var" / "run"))
    return result


def main() -> int:
    result = check(os.environ)
    for line in result.errors:
        print(f"configuration error: {line}", file=sys.stderr)
    if result.errors:
        print("Meldwijzer not started: fix the variables above (docs/DEPLOY.md lists them).", file=sys.stderr)
        return 2
    print(result.credentials)
    return 0


if __name__ == "__main__":
    sys.exit(main())
