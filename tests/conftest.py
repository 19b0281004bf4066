"""Shared pytest fixtures. Each block names its owner; add new blocks below, do not mix them."""

from __future__ import annotations

# === test tiers (owner: build) =====================================================================
# The model tier: anything that starts servers, runs `rasa test` or loads the trained model through the
# `trained_agent` fixture. `make test-fast` runs the rest (no training needed); `make test` runs all.
from pathlib import Path as _Path

import pytest as _pytest

TESTS_DIR = _Path(__file__).resolve().parent
MODEL_PATH = TESTS_DIR.parent / "models" / "meldwijzer.tar.gz"
MODEL_TIER_PATHS = (TESTS_DIR / "e2e", TESTS_DIR / "test_rasa_project.py")


@_pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups from the markers
def pytest_collection_modifyitems(config: _pytest.Config, items: list) -> None:
    """Mark the model tier. Run in parallel (``-n 2 --dist loadgroup``, as ``make test`` does), the whole
    model tier stays in one worker, in order: one model load and one set of servers for all of it, while
    the other worker runs the rest."""
    for item in items:
        path = _Path(str(item.fspath))
        if "trained_agent" in item.fixturenames or any(p == path or p in path.parents for p in MODEL_TIER_PATHS):
            item.add_marker(_pytest.mark.model)
            item.add_marker(_pytest.mark.xdist_group("model"))


@_pytest.fixture(scope="session")
def trained_agent():
    """The trained model, loaded once per test run for every NLU-level test, the way the Rasa server
    loads it (with plugins.server's patches: seconds instead of a minute)."""
    from rasa.core.agent import Agent

    from plugins import server

    server.install()
    if not MODEL_PATH.exists():
        _pytest.fail("models/meldwijzer.tar.gz is missing: run `make train` (make test does it for you)")
    return Agent.load(str(MODEL_PATH))


# === end test tiers ===============================================================================

# === the action server's secret (owner: actions/server.py) =======================================
# Every Rasa server and action server the tests start share one secret, as `make run` gives them.
import os as _os
import secrets as _secrets

_os.environ.setdefault("MELDWIJZER_ACTIONS_TOKEN", _secrets.token_hex(24))
# === end action server's secret ===================================================================

# === db fixtures (owner: case store, bot/store) ==================================================
# Every test runs against its own throw-away stores: a key file, case DB and tracker DB in a temp
# directory (never var/ or a developer's MELDWIJZER_* settings), and, for `db_url`, a fresh SQLite
# file and a fresh PostgreSQL database (dropped afterwards). PostgreSQL or Redis missing -> skip with
# the reason, except with CI=true, where a missing service is a failure.
import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from bot.store.db import dispose_all, repositories
from bot.store.repositories import Repositories

PG_URL_ENV = "MELDWIJZER_TEST_PG_URL"
PG_DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL_ENV = "MELDWIJZER_TEST_REDIS_URL"
REDIS_DEFAULT_URL = "redis://127.0.0.1:6379/0"


def service_missing(reason: str) -> None:
    """Skip locally; in CI a missing database is a broken build, not a skipped test."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the service must be available)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def isolated_store_env(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the store, the tracker store and the keys (the id key file beside the data key) at a temp
    directory for every test."""
    root = tmp_path_factory.mktemp("store")
    for name in (
        "MELDWIJZER_SECRET_KEY",
        "MELDWIJZER_REQUIRE_KEY",
        "MELDWIJZER_REDIS_URL",
        "MELDWIJZER_ID_KEY",
        "MELDWIJZER_ID_KEY_FILE",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MELDWIJZER_KEY_FILE", str(root / "secret.key"))
    monkeypatch.setenv("MELDWIJZER_DB_URL", f"sqlite:///{root / 'meldwijzer.db'}")
    monkeypatch.setenv("MELDWIJZER_TRACKER_DB_URL", f"sqlite:///{root / 'tracker.db'}")


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """The PostgreSQL server to create test databases on (``MELDWIJZER_TEST_PG_URL``)."""
    url = os.environ.get(PG_URL_ENV, PG_DEFAULT_URL)
    engine = sa.create_engine(url, future=True, connect_args={"connect_timeout": 3})
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as error:
        service_missing(
            f"PostgreSQL not reachable at {make_url(url).render_as_string(hide_password=True)}: {error.orig}"
        )
    finally:
        engine.dispose()
    return url


@contextmanager
def fresh_pg_database(pg_server_url: str, prefix: str = "mw_test") -> Iterator[str]:
    """A new, empty PostgreSQL database on the server; dropped (connections forced closed) afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(pg_server_url, future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(pg_server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        dispose_all()
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def pg_database(pg_server_url: str) -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test."""
    with fresh_pg_database(pg_server_url) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    """An empty database URL, once per dialect."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
        dispose_all()
    else:
        yield request.getfixturevalue("pg_database")


@pytest.fixture
def repos(db_url: str) -> Repositories:
    """Migrated repositories over ``db_url``."""
    return repositories(db_url)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """A reachable Redis server (``MELDWIJZER_TEST_REDIS_URL``, default the local one, db 0)."""
    import redis

    url = os.environ.get(REDIS_URL_ENV, REDIS_DEFAULT_URL)
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as error:
        service_missing(f"Redis not reachable at {url}: {error}")
    finally:
        client.close()
    return url


# === end db fixtures ==============================================================================


# === action fixtures (owner: actions/) =============================================================
@pytest.fixture(scope="session")
def domain() -> Dict[str, Any]:
    """The domain as the Rasa server sends it to the action server with every request."""
    from rasa.shared.core.domain import Domain

    return Domain.load(str(Path(__file__).resolve().parents[1] / "domain.yml")).as_dict()


# === end action fixtures ==========================================================================
