"""Contacts over real HTTP: the Veilig Thuis region of any place, whom to call with and without a known
school location (the follow-up question, and MELDWIJZER_SCHOOL_GEMEENTE), and the sociale kaart."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Servers, button_payloads, texts

pytestmark = pytest.mark.e2e
VT_NUMBER = "0800-2000"
SCHOOL_QUESTION = "In welke gemeente staat uw school?"


@pytest.mark.parametrize(
    "message,region",
    [
        ("Welk Veilig Thuis hoort bij Hengelo?", "Veilig Thuis Twente"),
        ("veilig thuis nummer voor enschde", "Veilig Thuis Twente"),
        ("Veilig Thuis in Den Haag", "Veilig Thuis Haaglanden"),
        ("Welk Veilig Thuis voor Den Bosch?", "Veilig Thuis Oost-Brabant"),
        ("school in Sudwest Fryslan", "Veilig Thuis Friesland (Fryslân)"),
    ],
)
def test_region_questions_name_the_region_and_the_number(servers: Servers, message: str, region: str) -> None:
    reply = texts(servers.send("rest-contacts-region", message))
    assert region in reply and VT_NUMBER in reply, reply


def test_an_ambiguous_place_is_settled_by_a_button(servers: Servers) -> None:
    sender = "rest-contacts-bergen"
    replies = servers.send(sender, "welk veilig thuis hoort bij Bergen?")
    assert "Welke gemeente bedoelt u?" in texts(replies) and "Noord-Holland Noord" not in texts(replies)
    choice = next(p for p in button_payloads(replies) if "Bergen (NH.)" in p)
    assert "Veilig Thuis Noord-Holland Noord" in texts(servers.send(sender, choice))


def test_who_to_call_asks_the_school_location_once_and_remembers_it(servers: Servers) -> None:
    sender = "rest-contacts-who"
    first = servers.send(sender, "wie moet ik bellen?")
    assert "112" in first[0]["text"].splitlines()[0] and VT_NUMBER in texts(first)
    assert SCHOOL_QUESTION in first[-1]["text"]

    answered = texts(servers.send(sender, "zwolle"))
    assert "Genoteerd: uw school staat in Zwolle." in answered
    assert "Stichting Veilig Thuis IJsselland" in answered and "112" in answered

    again = texts(servers.send(sender, "wie moet ik nu bellen"))
    assert "Stichting Veilig Thuis IJsselland" in again and SCHOOL_QUESTION not in again


def test_acute_danger_wins_while_the_school_location_is_asked(servers: Servers) -> None:
    sender = "rest-contacts-acute"
    assert SCHOOL_QUESTION in texts(servers.send(sender, "wie moet ik bellen?"))
    acute = servers.send(sender, "het kind bloedt en durft niet naar huis, vader staat bij het hek")
    assert "112" in acute[0]["text"]


@pytest.mark.parametrize(
    "message,expected",
    [
        ("nummer van de Kindertelefoon", "0800-0432"),
        ("telefoonnummer Centrum Seksueel Geweld", "0800-0188"),
        ("hoe bereik ik de vertrouwensinspecteur", "0900-111 3 111"),
    ],
)
def test_national_lines(servers: Servers, message: str, expected: str) -> None:
    assert expected in texts(servers.send("rest-contacts-national", message))


def test_school_gemeente_from_the_deployment_and_the_schools_sociale_kaart(school_servers: Servers) -> None:
    """Symbio's profile says Hengelo; the deployment says Den Haag, and the deployment wins."""
    sender = "rest-contacts-deployed"
    who = texts(school_servers.send(sender, "wie moet ik bellen?"))
    assert "Veilig Thuis Haaglanden: 0800-2000" in who and "SCP-er" in who
    assert SCHOOL_QUESTION not in who
    assert "14074 (Keuze 1)" in texts(school_servers.send(sender, "Wat is het nummer van de zorgloket in Hengelo?"))
    assert "Zorgloket gemeente Hengelo" in texts(school_servers.send(sender, "hoe bereik ik het CJG"))
    ggd = texts(school_servers.send(sender, "telefoonnummer GGD"))
    assert "niet op de sociale kaart" in ggd and VT_NUMBER in ggd  # never an invented number
