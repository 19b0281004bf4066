"""Payload guard: a user may not trigger intents by typing ``/intent{...}`` themselves.

Why: Rasa treats any text starting with "/" as an intent with entities, skipping the NLU. A user (or a
pasted text) could set slots such as the role or jump into a form state the dialogue never offered.
Only payloads of buttons the bot itself sent in this conversation are executed; any other leading "/"
is removed and the rest goes through the NLU as ordinary text. A typed text that is the title of a
button the bot offered ("Gesprek met ouder of leerling (stap 3)", "Wat kunt u allemaal?") means that
button: staff type what they read, and the title comes from the message that offered it.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Dict, Iterable, List, Mapping, Sequence

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
        trimmed = _trimmed(trimmed[len(INTENT_PREFIX) :])
    return trimmed


def title_key(text: str) -> str:
    """How a typed text is compared with button titles: case, spacing and NFKC forms do not matter."""
    return " ".join(_trimmed(text).split()).casefold()


def offered_titles(events: Sequence[Mapping[str, Any]]) -> Dict[str, str]:
    """Title key -> payload of the buttons the bot offered; a title offered again keeps its latest payload."""
    titles: Dict[str, str] = {}
    for event in events:
        if event.get("event") == "bot":
            data = event.get("data") or {}
            for button in (data.get("buttons") or []) + (data.get("quick_replies") or []):
                if button.get("payload") and button.get("title"):
                    titles[title_key(str(button["title"]))] = str(button["payload"])
    return titles


def guard_typed(text: str, events: Sequence[Mapping[str, Any]]) -> str:
    """``guard_text`` against the conversation's events, where a typed button title means its payload."""
    return offered_titles(events).get(title_key(text)) or guard_text(text, offered_payloads(events))


async def guard_message(app: Any, sender_id: str, text: str) -> str:
    """``guard_typed`` against what the bot offered this sender (read once from the tracker store)."""
    return guard_typed(text, await _events_of(app, sender_id))


async def _events_of(app: Any, sender_id: str) -> List[Dict[str, Any]]:
    """This sender's conversation events (what the bot offered), read from the Rasa agent's tracker store.

    Why the tracker store and not a memory of our own: it survives a restart and is shared by every
    instance, so a button on a page that stayed open overnight still works the next morning.
    ``app`` is the Sanic app Rasa mounted the channel on (``app.ctx.agent``); without an agent (a
    server that is still loading its model) nothing counts as offered. When the store cannot be read
    (the database is down) the error goes up: ``plugins.channels.delivery`` runs the guard inside its
    failure handling, so the user is asked to send the message again. Passing it on unguarded instead
    would turn a clicked button into typed text the moment the database is back.
    """
    agent = getattr(app.ctx, "agent", None)
    if agent is None or agent.tracker_store is None:
        return []
    tracker = await agent.tracker_store.retrieve(sender_id)
    return [] if tracker is None else [event.as_dict() for event in tracker.events]
