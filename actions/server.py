"""The action server: rasa_sdk's own app, started by us so that an error never leaks the conversation.

Why not ``rasa run actions``: rasa_sdk answers an unexpected exception with HTTP 500 and the whole
request in the body (``request_body``: the tracker, with everything the teacher typed about a pupil),
and the Rasa server then writes that body into its log. Our handler answers 500 with a fixed text and
logs only the exception's type and where it was raised. Everything else is rasa_sdk's ``create_app``.

Only the Rasa server may call it: every request but ``/health`` must carry the shared secret
``MELDWIJZER_ACTIONS_TOKEN`` in the ``X-Meldwijzer-Actions-Token`` header (endpoints.yml sends it), or it
is refused with 401 before any action runs. The actions read and write every dossier, so "it listens on
127.0.0.1" is not enough on a server where other programs run too. Without the variable the server does
not start; ``make run`` makes one per run, production keeps one in the settings file.

Run: ``python -m actions.server --port 5055`` (host from ``SANIC_HOST``, default 127.0.0.1: the action
server is internal; workers from rasa_sdk's ``ACTION_SERVER_SANIC_WORKERS``).
"""

from __future__ import annotations

import argparse
import hmac
import logging
import os
import sys
from typing import Any, Optional, Sequence

from rasa_sdk import endpoint, utils
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.errors import describe
from bot.logs import withhold_library_debug
from deploy.actions_token import TOKEN_ENV, TOKEN_HEADER, token_problem

logger = logging.getLogger(__name__)
ACTIONS_PACKAGE = "actions"
DEFAULT_PORT = 5055
INTERNAL_ERROR = {"error": "internal error in the action server"}
UNAUTHORIZED = {"error": "unauthorized"}
OPEN_PATHS = frozenset({"/health"})  # what a load balancer or the cluster script probes


async def internal_error(request: Request, exception: Exception) -> HTTPResponse:
    """Replaces rasa_sdk's handler, which echoes the request body and logs the request."""
    logger.error("action server: %s", describe(exception))
    return response.json(INTERNAL_ERROR, status=500)


def create_app(token: str) -> Sanic:
    """rasa_sdk's app for our actions, without CORS (only the Rasa server calls it), without echo, and
    refusing every request without the shared secret."""
    app = endpoint.create_app(ACTIONS_PACKAGE, cors_origins=None)
    app.error_handler.add(Exception, internal_error)
    expected = token.encode()

    @app.on_request
    async def require_token(request: Request) -> Optional[HTTPResponse]:
        if request.path in OPEN_PATHS:
            return None
        given = (request.headers.get(TOKEN_HEADER) or "").encode()
        if hmac.compare_digest(given, expected):
            return None
        logger.warning("action server: refused a request without the Rasa server's token")
        return response.json(UNAUTHORIZED, status=401)

    return app


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m actions.server", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACTIONS_PORT", DEFAULT_PORT)))
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    withhold_library_debug()  # rasa-sdk's debug messages carry the tracker (bot/logs.py)
    token = os.environ.get(TOKEN_ENV)
    problem = token_problem(token)
    if problem is not None:
        sys.exit(f"action server: {problem}")
    app: Any = create_app(str(token))
    app.run(
        os.environ.get("SANIC_HOST", "127.0.0.1"), args.port, workers=utils.number_of_sanic_workers(), access_log=False
    )


if __name__ == "__main__":
    main()
