"""REST channel at /webhooks/rest/webhook with the checks Rasa's own RestInput lacks.

- Bearer token: when env MELDWIJZER_API_TOKEN is set, every request needs
  ``Authorization: Bearer <token>`` (401 otherwise, also for a header that is not ASCII). Without a
  token only loopback clients are served, whatever address the server was bound to.
- A request without ``sender`` (or one over MAX_SENDER_CHARS) is refused: there is no shared "default"
  conversation in which one teacher could read another's case. Bodies over MAX_BODY_BYTES are refused.
- Client ``metadata`` is dropped: a REST caller must not be able to pass channel data to the actions.
- Messages over MAX_MESSAGE_CHARS are refused politely before they reach the NLU.
- ``/intent{...}`` typed by a user only runs when it is a payload the bot offered (bot/channels/guard.py).
- Message text never goes to the logs (Rasa's RestInput logs it on failure).
- A request that yields no reply (action server down) gets an apology with the numbers (delivery.py).
"""
from __future__ import annotations

import hmac
import ipaddress
import logging
import os
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Tuple

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.delivery import CountingOutput, deliver
from bot.channels.guard import guard_text, offered_to
from bot.channels.limits import MAX_MESSAGE_CHARS, MISSING_SENDER_MESSAGE, TOO_LONG_MESSAGE

logger = logging.getLogger(__name__)
TOKEN_ENV = "MELDWIJZER_API_TOKEN"
MAX_BODY_BYTES = 64 * 1024
MAX_SENDER_CHARS = 128


def authorised(header: Optional[str], token: Optional[str]) -> bool:
    """True when no token is configured, or the header carries exactly that bearer token.
    Compared as bytes: ``hmac.compare_digest`` raises on non-ASCII text, which would answer 500."""
    if not token:
        return True
    scheme, _, value = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        value.strip().encode("utf-8", "surrogateescape"), token.encode("utf-8"))


def is_loopback(peer: str) -> bool:
    try:
        return ipaddress.ip_address(peer).is_loopback
    except ValueError:
        return False


def refusal(auth_header: Optional[str], token: Optional[str], peer: str, body_bytes: int,
            body: Any) -> Optional[Tuple[int, Dict[str, str]]]:
    """Why this request is refused (status, JSON body), or None: every check before the NLU runs."""
    if not token and not is_loopback(peer):
        return 403, {"error": "REST without MELDWIJZER_API_TOKEN serves only this machine"}
    if not authorised(auth_header, token):
        return 401, {"error": "unauthorized"}
    if body_bytes > MAX_BODY_BYTES:
        return 413, {"error": "request body too large"}
    body = body if isinstance(body, dict) else {}
    sender_id = body.get("sender")
    if not isinstance(sender_id, str) or not sender_id.strip():
        return 400, {"error": MISSING_SENDER_MESSAGE}
    if len(sender_id) > MAX_SENDER_CHARS:
        return 400, {"error": f"sender is longer than {MAX_SENDER_CHARS} characters"}
    if not isinstance(body.get("message"), str):
        return 400, {"error": "message must be text"}
    return None


def bot_reply(sender_id: str, text: str) -> List[Dict[str, str]]:
    return [{"recipient_id": sender_id, "text": text}]


def _json_or_none(request: Request) -> Any:
    """The parsed body, or None for a body that is not JSON (refused as a missing sender)."""
    try:
        return request.json
    except Exception:  # sanic raises InvalidUsage for malformed JSON
        return None


class RestOutput(CountingOutput, CollectingOutputChannel):
    """Collects the replies for the HTTP response, and counts them (an empty answer gets the apology)."""


class MeldwijzerRestInput(InputChannel):
    """Drop-in for Rasa's ``rest`` channel (same URL and JSON) with auth, limits and the guard."""

    @classmethod
    def name(cls) -> Text:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"meldwijzer_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            size = len(request.body or b"")
            body = _json_or_none(request) if size <= MAX_BODY_BYTES else None
            refused = refusal(request.headers.get("Authorization"), os.environ.get(TOKEN_ENV),
                              request.ip, size, body)
            if refused is not None:
                status, error = refused
                headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
                return response.json(error, status=status, headers=headers)
            sender_id, text = body["sender"], body["message"]
            if len(text) > MAX_MESSAGE_CHARS:
                return response.json(bot_reply(sender_id, TOO_LONG_MESSAGE), status=413)
            text = guard_text(text, await offered_to(request.app, sender_id))
            collector = RestOutput()
            await deliver(UserMessage(text, collector, sender_id, input_channel=self.name()),
                          on_new_message, "rest")
            return response.json(collector.messages)

        return webhook
