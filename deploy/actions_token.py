"""The secret the Rasa server and the action server share: its name, its header and what makes it valid.

Here, apart from ``actions/server.py``, so the production runner's start-up check (deploy/preflight.py)
can judge it without importing the action server (rasa_sdk, sanic) before the logs are set up.
"""

from __future__ import annotations

from typing import Optional

TOKEN_ENV = "MELDWIJZER_ACTIONS_TOKEN"
TOKEN_HEADER = "X-Meldwijzer-Actions-Token"  # endpoints.yml sends it under this name
MIN_TOKEN_CHARS = 32


def token_problem(token: Optional[str]) -> Optional[str]:
    """Why ``token`` cannot be the shared secret (None when it can); each reason starts with its name."""
    if not token:
        return f"{TOKEN_ENV} is not set: the action server only answers the Rasa server that knows it"
    if len(token) < MIN_TOKEN_CHARS:
        return f"{TOKEN_ENV} must be at least {MIN_TOKEN_CHARS} characters (e.g. openssl rand -hex 24)"
    return None
