"""Payload guard: a user may not trigger intents by typing ``/intent{...}`` themselves.

Why: Rasa treats any text starting with "/" as an intent with entities, skipping the NLU. A user (or a
pasted text) could set slots such as the role or jump into a form state the dialogue never offered.
Only payloads of buttons the bot itself sent in this conversation are executed; any other leading "/"
is removed and the rest goes through the NLU as ordinary text.
"""
from __future__ import annotations

import unicodedata
from typing import Any, Iterable, List, Mapping, Sequence

INTENT_PREFIX = "/"


def offered_payloads(events: Sequence[Mapping[str, Any]]) -> List[str]:
    """Button payloads the bot offered in this conversation (older buttons stay clickable in a chat UI)."""
    offered: List[str] = []
    for event in events:
        if event.get("event") == "bot":
            data = event.get("data") or {}
            for button in (data.get("buttons") or []) + (data.get("quick_replies") or []):
                if button.get("payload"):
                    offered.append(button["payload"])
    return offered


def _trimmed(text: str) -> str:
    """NFKC (a full-width solidus becomes '/') without surrounding white space or invisible format
    characters (zero-width space, BOM): what Rasa would see once it strips the text itself."""
    text = unicodedata.normalize("NFKC", text)
    is_padding = lambda ch: ch.isspace() or unicodedata.category(ch) == "Cf"  # noqa: E731
    start, end = 0, len(text)
    while start < end and is_padding(text[start]):
        start += 1
    while end > start and is_padding(text[end - 1]):
        end -= 1
    return text[start:end]


def guard_text(text: str, offered: Iterable[str]) -> str:
    """The text to hand to Rasa: an offered payload as offered, anything that would reach Rasa as an
    intent otherwise loses every leading '/'. Checked on the normalised text, because Rasa strips the
    text before it looks for the '/', so " /intent" must count as "/intent"."""
    trimmed = _trimmed(text)
    if not trimmed.startswith(INTENT_PREFIX):
        return text
    if trimmed in set(offered):
        return trimmed
    while trimmed.startswith(INTENT_PREFIX):
        trimmed = _trimmed(trimmed[len(INTENT_PREFIX):])
    return trimmed


async def offered_to(app: Any, sender_id: str) -> List[str]:
    """Payloads the bot offered to this sender, read from the Rasa agent's tracker store.

    Why the tracker store and not a memory of our own: it survives a restart and is shared by every
    instance, so a button on a page that stayed open overnight still works the next morning.
    ``app`` is the Sanic app Rasa mounted the channel on (``app.ctx.agent``); without an agent (a
    server that is still loading its model) nothing counts as offered.
    """
    agent = getattr(app.ctx, "agent", None)
    if agent is None or agent.tracker_store is None:
        return []
    tracker = await agent.tracker_store.retrieve(sender_id)
    if tracker is None:
        return []
    return offered_payloads([event.as_dict() for event in tracker.events])
