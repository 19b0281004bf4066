"""Rasa lock store chosen by the environment: Redis when ``MELDWIJZER_REDIS_URL`` is set, else in memory.

Why: Rasa processes the messages of one conversation strictly in order by locking it. In memory is
right for one process on a laptop; several Rasa workers or replicas need the locks in Redis. The same
endpoints.yml must serve both, so the choice comes from the environment::

    lock_store:
      type: plugins.lock_store.EnvLockStore

Rasa builds custom lock stores as ``cls(endpoint_config=...)``; other keys of the endpoint (e.g.
``key_prefix``, ``socket_timeout``) are passed on to ``RedisLockStore``.
"""

from __future__ import annotations

import os
from typing import Any, Dict, Optional, Text
from urllib.parse import unquote, urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

ENV_REDIS_URL = "MELDWIJZER_REDIS_URL"


def redis_settings(url: str) -> Dict[str, Any]:
    """``redis[s]://[user:password@]host[:port][/db]`` -> ``RedisLockStore`` keyword arguments."""
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss") or not parts.hostname:
        raise ValueError(f"{ENV_REDIS_URL} must look like redis://host:6379/0, got scheme {parts.scheme!r}")
    db = parts.path.strip("/")
    return {
        "host": parts.hostname,
        "port": parts.port or 6379,
        "db": int(db) if db else 0,
        "username": unquote(parts.username) if parts.username else None,
        "password": unquote(parts.password) if parts.password else None,
        "use_ssl": parts.scheme == "rediss",
    }


def _backend(endpoint_config: Optional[EndpointConfig]) -> LockStore:
    url = os.environ.get(ENV_REDIS_URL)
    if not url:
        return InMemoryLockStore()
    extra = dict(endpoint_config.kwargs) if endpoint_config else {}
    return RedisLockStore(**{**extra, **redis_settings(url)})


class EnvLockStore(LockStore):
    """Delegates the three storage primitives to Redis or memory; Rasa's locking logic stays its own."""

    def __init__(self, endpoint_config: Optional[EndpointConfig] = None) -> None:
        self.backend = _backend(endpoint_config)
        super().__init__()

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        return self.backend.get_lock(conversation_id)

    def delete_lock(self, conversation_id: Text) -> None:
        self.backend.delete_lock(conversation_id)

    def save_lock(self, lock: TicketLock) -> None:
        self.backend.save_lock(lock)
