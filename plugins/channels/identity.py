"""Who is writing: one identity per person per channel, namespaced so no channel can name another's user.

Why: the case store and the conversation store are keyed by this identity. When it was the raw
``sender`` of a REST request, a caller with the REST token could pass a colleague's Teams object id or
web ``sub`` and read that colleague's dossier. Every channel now builds its identity here, with a
prefix only that channel can produce:

- Teams: ``teams:<tenant id>:<Entra object id>`` (from the verified activity);
- web: ``web:<sub>`` for a signed staff token, ``web:anon:<session id>`` for the local trial mode;
- REST: ``rest:<client>:<sender>``, where the client is the named integration whose token matched.

Whatever a REST client puts in ``sender`` stays inside ``rest:<client>:``.

What Rasa is handed, and so what the tracker, the actions, the logs and the case store see, is that
identity as a keyed hash, ``<channel>:<hex>`` (``bot.store.identities.stored_identity``): the clear ids
stay here. ``python -m bot roles grant`` and ``export --viewer`` hash a clear id typed by the admin the
same way.
"""

from __future__ import annotations

import hmac
import os
import re
from dataclasses import dataclass
from typing import Dict, Optional

from bot.store.identities import stored_identity

REST_CLIENTS_ENV = "MELDWIJZER_REST_CLIENTS"
LEGACY_TOKEN_ENV = "MELDWIJZER_API_TOKEN"
LEGACY_CLIENT = "api"
REST_LOCAL_ENV = "MELDWIJZER_REST_LOCAL"
LOCAL_CLIENT = "local"
CLIENT_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,31}$")


def teams_identity(tenant_id: str, user_id: str) -> str:
    return stored_identity(f"teams:{tenant_id}:{user_id}")


def web_identity(subject: str) -> str:
    return stored_identity(f"web:{subject}")


def web_anonymous_identity(session_id: str) -> str:
    return stored_identity(f"web:anon:{session_id}")


def rest_identity(client: str, sender: str) -> str:
    return stored_identity(f"rest:{client}:{sender}")


def channel_of(identity: str) -> str:
    """The channel an identity belongs to (``teams``, ``web`` or ``rest``), clear or hashed."""
    return identity.split(":", 1)[0]


class RestClientsError(ValueError):
    """The REST client configuration is malformed: a start-up error, never a half-working channel."""


@dataclass(frozen=True)
class RestClients:
    """The named REST integrations and their tokens; ``local`` allows tokenless loopback use."""

    tokens: Dict[str, str]
    local: bool

    @property
    def enabled(self) -> bool:
        return bool(self.tokens) or self.local

    def client_for(self, token: str) -> Optional[str]:
        """The client whose token this is (constant-time per client), or None."""
        match = None
        for name, expected in self.tokens.items():
            if hmac.compare_digest(token.encode("utf-8", "surrogateescape"), expected.encode("utf-8")):
                match = name
        return match


def rest_clients(environ: Optional[Dict[str, str]] = None) -> RestClients:
    """Read ``MELDWIJZER_REST_CLIENTS`` ("name:token,name:token"), the single-token
    ``MELDWIJZER_API_TOKEN`` (client ``api``) and ``MELDWIJZER_REST_LOCAL=1`` (loopback, no token,
    used by ``make run`` and the tests; ignored once any client is configured)."""
    env = os.environ if environ is None else environ
    tokens: Dict[str, str] = {}
    for item in filter(None, (part.strip() for part in env.get(REST_CLIENTS_ENV, "").split(","))):
        name, sep, token = item.partition(":")
        if not sep or not CLIENT_NAME.match(name) or len(token) < 16 or name in tokens:
            raise RestClientsError(
                f"{REST_CLIENTS_ENV}: each entry is name:token (name a-z0-9-, unique; token at least 16 characters)"
            )
        tokens[name] = token
    legacy = env.get(LEGACY_TOKEN_ENV, "")
    if legacy:
        if LEGACY_CLIENT in tokens:
            raise RestClientsError(f"{LEGACY_TOKEN_ENV} and a client named '{LEGACY_CLIENT}' in {REST_CLIENTS_ENV}")
        tokens[LEGACY_CLIENT] = legacy
    return RestClients(tokens=tokens, local=not tokens and env.get(REST_LOCAL_ENV) == "1")
