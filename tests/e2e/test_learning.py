"""Learning mode over real HTTP: practise in the middle of a real case, answer by button and in words,
acute danger during practice, and stop back to the real case exactly where it was."""

from __future__ import annotations

import pytest

from bot.learning import MARKER
from tests.e2e.conftest import Servers, button_payloads, texts

pytestmark = pytest.mark.e2e
TEACHER = '/inform_role{"role":"teacher"}'


def test_practice_leaves_the_real_case_where_it_was(servers: Servers) -> None:
    sender = "learning-e2e-1"
    servers.send(sender, "ik maak me zorgen over een leerling")
    servers.send(sender, TEACHER)
    assert "Stap 2" in texts(servers.send(sender, "ik heb de signalen vastgelegd in het dossier"))

    started = servers.send(sender, "ik wil oefenen met een casus")
    assert started[0]["text"].startswith(MARKER) and "geen echte leerling" in started[0]["text"]
    options = [p for p in button_payloads(started) if p.startswith("/practice_answer")]
    assert len(options) >= 3 and "/stop_practice" in button_payloads(started)

    graded = servers.send(sender, options[0])
    assert graded[0]["text"].startswith(MARKER) and "Bron:" in graded[0]["text"]
    assert "vraag 2 van" in texts(graded)  # the next question follows the feedback

    danger = servers.send(sender, "er staat nu een vader met een mes bij de school")
    assert "112" in danger[0]["text"]  # handled as real first
    assert "echte leerling" in texts(danger) and "vraag 2 van" in texts(danger)

    back = texts(servers.send(sender, "stop met oefenen"))
    assert "in stap 2" in back
    assert "Stap 2" in texts(servers.send(sender, "wat moet ik nu doen?"))


def test_the_tour_explains_step_one_and_grades_a_typed_number(servers: Servers) -> None:
    sender = "learning-e2e-2"
    first = texts(servers.send(sender, "leg de meldcode uit"))
    assert MARKER + "uitleg stap 1 van 5" in first and "vraag 1 van 5" in first
    answered = texts(servers.send(sender, "ik kies antwoord 2"))
    assert MARKER in answered and "uitleg stap 2 van 5" in answered
