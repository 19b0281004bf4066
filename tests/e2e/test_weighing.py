"""The afwegingskader over real HTTP: every outcome reached from typed ja/nee/twijfel answers and buttons,
with the help plan, question 5 after the term, acute danger mid-form, and 'why' from the stored trace."""

from __future__ import annotations

from typing import List

import pytest

from tests.e2e.conftest import Servers, button_payloads, texts

pytestmark = pytest.mark.e2e
LATER = '/weighing_reply{"weighing_value":"later"}'  # as written in domain.yml (utter_ask_weighing_*)
RESTART = '/start_weighing{"weighing_value": "restart"}'


def answers(servers: Servers, sender: str, replies: List[str]) -> List[dict]:
    """Send the replies in turn; each but the last must be followed by the next question."""
    last: List[dict] = []
    for number, reply in enumerate(replies, start=1):
        last = servers.send(sender, reply)
        if number < len(replies):
            assert "Vraag " in texts(last), (reply, last)
    return last


def test_help_with_a_plan_then_question_five_closes_the_help(servers: Servers) -> None:
    sender = "rest-weighing-help"
    first = servers.send(sender, "Ik wil de afwegingsvragen doorlopen")
    assert "nieuwe casus" in texts(first) and "Vraag 1 van 5" in texts(first)
    expected = [f'/weighing_reply{{"weighing_value": "{a}"}}' for a in ("ja", "nee", "twijfel")]
    assert expected == button_payloads(first)[:3]
    plan_question = answers(servers, sender, ["ja hoor", "nee", "ja", "ja"])
    assert "hulpplan" in texts(plan_question) and LATER in button_payloads(plan_question)
    servers.send(sender, "6 weken")
    servers.send(sender, LATER)
    outcome = texts(servers.send(sender, "de mentor voert elke week een gesprek met de leerling"))
    assert "Uitkomst: Hulp in gang zetten" in outcome
    assert "Termijn: 6 weken" in outcome and "Casemanager: nog vast te leggen" in outcome
    assert "Besluit I" in outcome and "Besluit II" in outcome

    q5 = texts(servers.send(sender, "De afgesproken termijn is voorbij"))
    assert "Vraag 5 van 5" in q5
    closed = texts(servers.send(sender, "ja, het gaat echt beter"))
    assert "Uitkomst: Hulp afsluiten" in closed and "0800-2000" in closed


def test_doubt_about_safety_reports_directly_and_acute_danger_wins_mid_form(servers: Servers) -> None:
    sender = "rest-weighing-acute"
    servers.send(sender, "moet ik dit melden?")
    q2 = servers.send(sender, "ja")
    assert "Vraag 2 van 5" in texts(q2)
    acute = servers.send(sender, "hij bloedt en durft niet naar huis")
    assert "112" in acute[0]["text"] and "Vraag 2 van 5" in texts(acute)  # then the question again
    melding = texts(servers.send(sender, "twijfel"))
    assert "Uitkomst: Direct melden bij Veilig Thuis" in melding
    assert "0800-2000" in melding and "112" in melding and "12" in melding
    why = texts(servers.send(sender, "Waarom moest ik melden?"))
    assert "Doorslaggevend was vraag 2 (twijfel)" in why


def test_advice_first_no_action_no_help_and_help_refused(servers: Servers) -> None:
    sender = "rest-weighing-runs"
    servers.send(sender, "help me wegen")
    advice = servers.send(sender, "twijfel")
    assert "Uitkomst: Eerst advies vragen" in texts(advice) and RESTART in button_payloads(advice)

    servers.send(sender, RESTART)
    assert "Uitkomst: Geen vermoeden" in texts(servers.send(sender, "nee"))

    servers.send(sender, "Ik wil de afwegingsvragen doorlopen")
    no_help = texts(answers(servers, sender, ["ja", "nee", "nee"]))
    assert "Uitkomst: Melden bij Veilig Thuis: er is geen effectieve hulp" in no_help

    servers.send(sender, "Ik wil de afwegingsvragen doorlopen")
    refused = texts(answers(servers, sender, ["ja", "nee", "ja", "weet ik niet zeker"]))
    assert "Uitkomst: Melden bij Veilig Thuis: de hulp wordt niet (zeker) aanvaard" in refused
