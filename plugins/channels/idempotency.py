"""A message sent again is answered again, not processed again (the REST ``Idempotency-Key`` header).

Why: a REST client resends a message when the answer did not arrive (a 502 because the replica died, a
broken connection, a timeout). When the first try had been processed and stored before the reply was
lost, processing the resent copy would record it twice: a note answer or a weighing answer twice in
the dossier. With a key the channel recognises the copy and answers it with the replies the first try
produced, read from the tracker store, so it holds across replicas and restarts.

How: the key becomes the Rasa ``message_id`` of the user message (hashed with the conversation id, so a
key chosen by one client never matches another conversation's message). Looking the key up and handling
the message happen under one lock per conversation from Rasa's lock store (Redis with several
replicas), so two copies that arrive together are handled one after the other and the second one sees
the first in the tracker. It is a lock of its own (``<conversation>#resend``): Rasa's message handling
takes the conversation's own lock inside it, and those locks are not re-entrant.
"""

from __future__ import annotations

import hashlib
import re
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Dict, Iterable, List, Optional

from rasa.shared.core.events import BotUttered, Event, UserUttered

IDEMPOTENCY_HEADER = "Idempotency-Key"
KEY = re.compile(r"[A-Za-z0-9._:\-]{1,128}")
INVALID_KEY = f"{IDEMPOTENCY_HEADER} must be 1 to 128 characters: letters, digits, '.', '_', ':' or '-'"
# The reply fields Rasa's CollectingOutputChannel puts in a REST answer, as BotUttered stores them.
REPLY_FIELDS = ("image", "buttons", "attachment", "custom")


def valid_key(key: str) -> bool:
    return KEY.fullmatch(key) is not None


def message_id_for(conversation_id: str, key: str) -> str:
    """The ``message_id`` a keyed message gets: the same for every copy, unguessable across conversations."""
    return hashlib.sha256(f"{conversation_id}\n{key}".encode()).hexdigest()[:32]


def replies_to(events: Iterable[Event], message_id: str, recipient_id: str) -> Optional[List[Dict[str, Any]]]:
    """The bot messages that answered the user message ``message_id``, as the REST channel returns them;
    None when the conversation does not hold that message (it was never processed)."""
    replies: Optional[List[Dict[str, Any]]] = None
    for event in events:
        if isinstance(event, UserUttered):
            if replies is not None:
                break
            if event.message_id == message_id:
                replies = []
        elif replies is not None and isinstance(event, BotUttered):
            replies.append(_as_reply(event, recipient_id))
    return replies


def _as_reply(event: BotUttered, recipient_id: str) -> Dict[str, Any]:
    reply: Dict[str, Any] = {"recipient_id": recipient_id}
    if event.text:
        reply["text"] = event.text
    reply.update({name: event.data[name] for name in REPLY_FIELDS if event.data.get(name)})
    return reply


@asynccontextmanager
async def one_copy_at_a_time(agent: Any, conversation_id: str) -> AsyncIterator[None]:
    """Hold the conversation's resend lock while a keyed message is looked up and handled."""
    async with agent.lock_store.lock(f"{conversation_id}#resend", wait_time_in_seconds=0.2):
        yield


async def earlier_replies(agent: Any, conversation_id: str, message_id: str) -> Optional[List[Dict[str, Any]]]:
    """``replies_to`` over the stored conversation; None when there is none yet."""
    tracker = await agent.tracker_store.retrieve(conversation_id)
    return None if tracker is None else replies_to(tracker.events, message_id, conversation_id)
