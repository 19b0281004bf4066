"""REST channel at /webhooks/rest/webhook with the checks Rasa's own RestInput lacks.

- Off unless configured. A REST client is a named integration with its own bearer token
  (``MELDWIJZER_REST_CLIENTS="name:token,..."``; ``MELDWIJZER_API_TOKEN`` is the client ``api``); its
  senders live in its own namespace, ``rest:<client>:<sender>`` (plugins/channels/identity.py), so no REST
  caller can reach a Teams or web user's case. ``MELDWIJZER_REST_LOCAL=1`` (``make run``, tests) serves
  tokenless requests from this machine only, as client ``local``. A header that is not ASCII is a 401.
- A request without ``sender`` (or one over MAX_SENDER_CHARS) is refused: there is no shared "default"
  conversation in which one teacher could read another's case. Bodies over MAX_BODY_BYTES are refused.
- Client ``metadata`` is dropped: a REST caller must not be able to pass channel data to the actions.
- Messages over MAX_MESSAGE_CHARS are refused politely before they reach the NLU.
- ``/intent{...}`` typed by a user only runs when it is a payload the bot offered (plugins/channels/guard.py).
- Message text never goes to the logs (Rasa's RestInput logs it on failure).
- A request that yields no reply (action server down) gets an apology with the numbers (delivery.py).
- Under overload the request is answered at once with 503, Retry-After and the Dutch busy text
  (admission.py), instead of waiting behind everyone else.
- A client that resends a message after a lost answer sends the same ``Idempotency-Key`` header: the
  copy is answered with the first try's replies and not processed twice (idempotency.py).
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, List, Optional, Text, Union

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from plugins.channels.admission import RETRY_AFTER_S
from plugins.channels.delivery import NO_ANSWER_MESSAGE, NOT_PROCESSED_MESSAGE, CountingOutput, deliver
from plugins.channels.idempotency import (
    IDEMPOTENCY_HEADER,
    INVALID_KEY,
    earlier_replies,
    message_id_for,
    one_copy_at_a_time,
    valid_key,
)
from plugins.channels.identity import LOCAL_CLIENT, RestClients, rest_clients, rest_identity
from plugins.channels.limits import MAX_MESSAGE_CHARS, MISSING_SENDER_MESSAGE, TOO_LONG_MESSAGE

logger = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024
MAX_SENDER_CHARS = 128


@dataclass(frozen=True)
class Refused:
    status: int
    error: str


@dataclass(frozen=True)
class Admitted:
    identity: str
    text: str


def is_loopback(peer: str) -> bool:
    try:
        return ipaddress.ip_address(peer).is_loopback
    except ValueError:
        return False


def client_of(auth_header: Optional[str], clients: RestClients, peer: str) -> Union[str, Refused]:
    """The REST client making the request: by its bearer token, or ``local`` on loopback in local mode."""
    if not clients.enabled:
        return Refused(403, "the REST channel is not enabled on this server")
    if clients.local:
        return LOCAL_CLIENT if is_loopback(peer) else Refused(403, "REST in local mode serves only this machine")
    scheme, _, value = (auth_header or "").partition(" ")
    client = clients.client_for(value.strip()) if scheme.lower() == "bearer" else None
    return client if client is not None else Refused(401, "unauthorized")


def admit(
    auth_header: Optional[str], clients: RestClients, peer: str, body_bytes: int, body: Any
) -> Union[Admitted, Refused]:
    """Every check before the NLU runs; an admitted request carries its namespaced identity."""
    client = client_of(auth_header, clients, peer)
    if isinstance(client, Refused):
        return client
    if body_bytes > MAX_BODY_BYTES:
        return Refused(413, "request body too large")
    body = body if isinstance(body, dict) else {}
    sender, text = body.get("sender"), body.get("message")
    if not isinstance(sender, str) or not sender.strip():
        return Refused(400, MISSING_SENDER_MESSAGE)
    if len(sender) > MAX_SENDER_CHARS:
        return Refused(400, f"sender is longer than {MAX_SENDER_CHARS} characters")
    if not isinstance(text, str):
        return Refused(400, "message must be text")
    return Admitted(rest_identity(client, sender), text)


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

    def __init__(self, clients: Optional[RestClients] = None) -> None:
        # Read once at start-up: a malformed client list stops the server instead of refusing later.
        self.clients = clients if clients is not None else rest_clients()

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
            result = admit(request.headers.get("Authorization"), self.clients, request.ip, size, body)
            if isinstance(result, Refused):
                headers = {"WWW-Authenticate": "Bearer"} if result.status == 401 else None
                return response.json({"error": result.error}, status=result.status, headers=headers)
            sender_id, text = result.identity, result.text
            key = request.headers.get(IDEMPOTENCY_HEADER)
            if key is not None and not valid_key(key):
                return response.json({"error": INVALID_KEY}, status=400)
            if len(text) > MAX_MESSAGE_CHARS:
                return response.json(bot_reply(sender_id, TOO_LONG_MESSAGE), status=413)
            collector = RestOutput()
            agent = getattr(request.app.ctx, "agent", None)
            if key is None or agent is None:
                handled = await deliver(
                    UserMessage(text, collector, sender_id, input_channel=self.name()),
                    on_new_message,
                    "rest",
                    guard_with=request.app,
                )
            else:
                handled = await self._deliver_once(
                    request.app,
                    agent,
                    UserMessage(
                        text, collector, sender_id, input_channel=self.name(), message_id=message_id_for(sender_id, key)
                    ),
                    on_new_message,
                )
            if not handled:
                return response.json(collector.messages, status=503, headers={"Retry-After": str(RETRY_AFTER_S)})
            return response.json(collector.messages)

        return webhook

    @staticmethod
    async def _deliver_once(
        app: Any, agent: Any, message: UserMessage, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> bool:
        """``deliver`` for a keyed message, unless the conversation already holds it: then the replies it
        got are sent again (or the no-answer apology, when it got none). False as ``deliver`` under overload.
        A failing lock store (Redis down) is answered like any failure of Rasa: "please send it again"."""
        output: RestOutput = message.output_channel  # type: ignore[assignment]
        sender_id, message_id = message.sender_id, message.message_id
        try:
            async with one_copy_at_a_time(agent, sender_id):
                earlier = await earlier_replies(agent, sender_id, message_id)
                if earlier is None:
                    return await deliver(message, on_new_message, "rest", guard_with=app)
        except Exception as error:  # noqa: BLE001 - the user must never be left without an answer
            logger.error("rest: a resendable message could not be handled: %s", type(error).__name__)
            if not output.messages:
                await output.send_text_message(sender_id, NOT_PROCESSED_MESSAGE)
            return True
        logger.info("rest: a message sent again was answered from the conversation, not processed again")
        output.messages.extend(earlier or bot_reply(sender_id, NO_ANSWER_MESSAGE))
        return True
