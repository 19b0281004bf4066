"""Case work over real HTTP (issue 16): two cases and switching between them, closing one with a reason,
and a note told in one message that asks only for what is missing."""

from __future__ import annotations

from typing import Dict, List

import pytest

from tests.e2e.conftest import Servers, texts

pytestmark = pytest.mark.e2e
TEACHER = '/inform_role{"role":"teacher"}'


def buttons(replies: List[dict], intent: str) -> List[Dict[str, str]]:
    return [b for r in replies for b in r.get("buttons", []) if b["payload"].startswith(f"/{intent}")]


def test_two_cases_switch_and_close_one(servers: Servers) -> None:
    sender = "rest-two-cases"
    servers.send(sender, "ik maak me zorgen over een leerling")
    assert "Stap 1" in texts(servers.send(sender, TEACHER))
    assert "Stap 1" in texts(servers.send(sender, "het gaat om een andere leerling, nieuwe casus"))

    listed = servers.send(sender, "mijn casussen")
    switches = buttons(listed, "switch_case")
    assert len(switches) == 2, listed
    older = switches[-1]  # the most recently active first
    pseudonym = older["title"].split(" (stap")[0]
    assert pseudonym in texts(servers.send(sender, older["payload"]))

    reasons = buttons(servers.send(sender, "ik wil deze casus afsluiten"), "close_case")
    assert len(reasons) == 5
    closed = servers.send(sender, reasons[0]["payload"])
    assert pseudonym in texts(closed)
    left = buttons(servers.send(sender, "mijn casussen"), "switch_case")
    assert [b["title"].split(" (stap")[0] for b in left] != [pseudonym] and len(left) == 1


def test_a_note_asked_for_in_one_message_with_a_case_open_is_taken_by_the_note(servers: Servers) -> None:
    """Whether the model hears a note request or a new worry, the open case gets the note: only the
    fields the message leaves out are asked, never "Gaat het om dezelfde leerling?"."""
    sender = "rest-note-one-message"
    servers.send(sender, "ik maak me zorgen over een leerling")
    servers.send(sender, TEACHER)
    reply = texts(
        servers.send(
            sender, "signaal vastleggen: gisteren om 10 uur zag ik op het plein dat hij striemen op zijn rug had"
        )
    )
    assert "dezelfde leerling" not in reply
    assert "In welke situatie was dit?" in reply and "Waar was dit?" not in reply
