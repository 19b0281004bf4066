"""REST channel rules without a Rasa server: bearer token, payload guard, offered payloads."""

from __future__ import annotations

import pytest

from plugins.channels.guard import guard_text, offered_payloads
from plugins.channels.identity import rest_clients
from plugins.channels.rest import client_of


@pytest.mark.parametrize(
    "header,token,expected",
    [
        ("Bearer abc", "abc", True),
        ("bearer abc", "abc", True),
        ("Bearer abc ", "abc", True),
        ("Bearer abd", "abc", False),
        ("abc", "abc", False),  # scheme missing
        ("Basic abc", "abc", False),
        (None, "abc", False),
        ("Bearer ", "abc", False),
    ],
)
def test_a_configured_token_is_required(header, token, expected) -> None:
    clients = rest_clients({"MELDWIJZER_API_TOKEN": token})
    assert (client_of(header, clients, "10.1.2.3") == "api") is expected


EVENTS = [
    {"event": "user", "text": "hoi"},
    {
        "event": "bot",
        "text": "Wat is uw rol?",
        "data": {
            "buttons": [
                {"title": "Leerkracht", "payload": '/inform_role{"role":"teacher"}'},
                {"title": "IB", "payload": '/inform_role{"role":"ib"}'},
            ]
        },
    },
    {"event": "user", "text": "wat is de meldcode"},
    {
        "event": "bot",
        "text": "De meldcode...",
        "data": {"quick_replies": [{"title": "Verder", "payload": "/ask_next_step"}]},
    },
]


def test_offered_payloads_collects_buttons_and_quick_replies_of_the_conversation() -> None:
    assert offered_payloads(EVENTS) == ['/inform_role{"role":"teacher"}', '/inform_role{"role":"ib"}', "/ask_next_step"]


@pytest.mark.parametrize(
    "text,expected",
    [
        ('/inform_role{"role":"teacher"}', '/inform_role{"role":"teacher"}'),  # offered: runs
        ("/ask_next_step", "/ask_next_step"),
        ('/inform_role{"role":"school_leader"}', 'inform_role{"role":"school_leader"}'),  # not offered
        ("/restart", "restart"),
        ("//faq", "faq"),
        ("ik heb met de ib'er overlegd", "ik heb met de ib'er overlegd"),  # ordinary text untouched
        ("stap 1/2 gedaan", "stap 1/2 gedaan"),
    ],
)
def test_guard_text_runs_only_offered_payloads(text, expected) -> None:
    assert guard_text(text, offered_payloads(EVENTS)) == expected
