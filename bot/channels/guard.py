"""Payload guard: a user may not trigger intents by typing ``/intent{...}`` themselves.

Why: Rasa treats any text starting with "/" as an intent with entities, skipping the NLU. A user (or a
pasted text) could set slots such as the role or jump into a form state the dialogue never offered.
Only payloads of buttons the bot itself sent in this conversation are executed; any other leading "/"
is removed and the rest goes through the NLU as ordinary text.
"""
from __future__ import annotations

from typing import Any, Iterable, List, Mapping, Sequence


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


def guard_text(text: str, offered: Iterable[str]) -> str:
    """The text to hand to Rasa: an offered payload unchanged, anything else without leading '/'."""
    if not text.startswith("/"):
        return text
    if text.strip() in set(offered):
        return text.strip()
    return text.lstrip("/").strip()


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
