"""REST channel at /webhooks/rest/webhook with the checks Rasa's own RestInput lacks.

- Bearer token: when env MELDWIJZER_API_TOKEN is set, every request needs
  ``Authorization: Bearer <token>`` (401 otherwise). Without a token the server binds to 127.0.0.1.
- A request without ``sender`` is refused: there is no shared "default" conversation in which one
  teacher could read another's case.
- Messages over MAX_MESSAGE_CHARS are refused politely before they reach the NLU.
- ``/intent{...}`` typed by a user only runs when it is a payload the bot offered (bot/channels/guard.py).
- Message text never goes to the logs (Rasa's RestInput logs it on failure).
- A request that yields no reply (action server down) gets an apology with the numbers (delivery.py).
"""
from __future__ import annotations

import hmac
import logging
import os
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.delivery import CountingOutput, deliver
from bot.channels.guard import guard_text, offered_to
from bot.channels.limits import MAX_MESSAGE_CHARS, MISSING_SENDER_MESSAGE, TOO_LONG_MESSAGE

logger = logging.getLogger(__name__)
TOKEN_ENV = "MELDWIJZER_API_TOKEN"


def authorised(header: Optional[str], token: Optional[str]) -> bool:
    """True when no token is configured, or the header carries exactly that bearer token."""
    if not token:
        return True
    scheme, _, value = (header or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(value.strip(), token)


def bot_reply(sender_id: str, text: str) -> List[Dict[str, str]]:
    return [{"recipient_id": sender_id, "text": text}]


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
            if not authorised(request.headers.get("Authorization"), os.environ.get(TOKEN_ENV)):
                return response.json({"error": "unauthorized"}, status=401,
                                     headers={"WWW-Authenticate": "Bearer"})
            body = request.json if isinstance(request.json, dict) else {}
            sender_id = body.get("sender")
            text = body.get("message")
            if not isinstance(sender_id, str) or not sender_id.strip():
                return response.json({"error": MISSING_SENDER_MESSAGE}, status=400)
            if not isinstance(text, str):
                return response.json({"error": "message must be text"}, status=400)
            if len(text) > MAX_MESSAGE_CHARS:
                return response.json(bot_reply(sender_id, TOO_LONG_MESSAGE), status=413)
            text = guard_text(text, await offered_to(request.app, sender_id))
            collector = RestOutput()
            await deliver(UserMessage(text, collector, sender_id, input_channel=self.name(),
                                      metadata=body.get("metadata")), on_new_message, "rest")
            return response.json(collector.messages)

        return webhook
