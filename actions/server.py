"""The action server: rasa_sdk's own app, started by us so that an error never leaks the conversation.

Why not ``rasa run actions``: rasa_sdk answers an unexpected exception with HTTP 500 and the whole
request in the body (``request_body``: the tracker, with everything the teacher typed about a pupil),
and the Rasa server then writes that body into its log. Our handler answers 500 with a fixed text and
logs only the exception's type and where it was raised. Everything else is rasa_sdk's ``create_app``.

Run: ``python -m actions.server --port 5055`` (host from ``SANIC_HOST``, default 127.0.0.1: the action
server is internal; workers from rasa_sdk's ``ACTION_SERVER_SANIC_WORKERS``).
"""

from __future__ import annotations

import argparse
import logging
import os
from typing import Any, Optional, Sequence

from rasa_sdk import endpoint, utils
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.errors import describe

logger = logging.getLogger(__name__)
ACTIONS_PACKAGE = "actions"
DEFAULT_PORT = 5055
INTERNAL_ERROR = {"error": "internal error in the action server"}


async def internal_error(request: Request, exception: Exception) -> HTTPResponse:
    """Replaces rasa_sdk's handler, which echoes the request body and logs the request."""
    logger.error("action server: %s", describe(exception))
    return response.json(INTERNAL_ERROR, status=500)


def create_app() -> Sanic:
    """rasa_sdk's app for our actions, without CORS (only the Rasa server calls it) and without echo."""
    app = endpoint.create_app(ACTIONS_PACKAGE, cors_origins=None)
    app.error_handler.add(Exception, internal_error)
    return app


def main(argv: Optional[Sequence[str]] = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m actions.server", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("ACTIONS_PORT", DEFAULT_PORT)))
    args = parser.parse_args(argv)
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"))
    app: Any = create_app()
    app.run(
        os.environ.get("SANIC_HOST", "127.0.0.1"), args.port, workers=utils.number_of_sanic_workers(), access_log=False
    )


if __name__ == "__main__":
    main()
