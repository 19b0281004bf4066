"""What a use case hands back to the chat: text, buttons, slot values, download links.

One shape for every use case (bot/cases.py, bot/overview_usecase.py), so the actions turn any of them
into Rasa messages the same way (``actions.common.say_reply``) and nothing here knows Rasa.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Tuple


@dataclass(frozen=True)
class Choice:
    """A button: its title and the intent (with entities) it sends; the adapter builds the payload."""

    title: str
    intent: str
    entities: Tuple[Tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Reply:
    """What to say and set. ``slots`` empty: the conversation's case does not change. ``links``: files
    the web widget offers as downloads (relative to /chat/)."""

    text: str
    choices: Tuple[Choice, ...] = ()
    slots: Mapping[str, Any] = field(default_factory=dict)
    links: Tuple[Dict[str, str], ...] = ()
