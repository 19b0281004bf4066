"""The critical fidelity answers of issue 11, asked of the running bot as a teacher types them: the rule
first and the exceptions as exceptions, no legal beroepsgeheim for teachers, and the order of the
steps with its acute exception. (The texts themselves are pinned in tests/test_faq_a.py; this shows the
trained model routes the questions to them.)"""

from __future__ import annotations

from tests.e2e.conftest import Servers, texts


def test_talk_with_the_parents_comes_first_with_its_exceptions(servers: Servers) -> None:
    reply = texts(servers.send("fidelity-1", "Moet ik eerst met de ouders praten voordat we melden?"))
    assert "in principe wel" in reply and "Uitzonderingen" in reply
    told = texts(servers.send("fidelity-2", "Moet ik de ouders vertellen dat we gaan melden?"))
    assert "vertel de ouders vooraf" in told and "Uitzonderingen" in told


def test_a_teacher_has_no_legal_beroepsgeheim_but_a_meldrecht(servers: Servers) -> None:
    reply = texts(servers.send("fidelity-3", "Heb ik als leraar een beroepsgeheim?"))
    assert "geen wettelijk beroepsgeheim" in reply and "meldrecht" in reply
    assert not reply.startswith("Ja")


def test_the_order_of_the_steps_names_the_acute_exception(servers: Servers) -> None:
    reply = texts(servers.send("fidelity-4", "Moet ik de stappen in deze volgorde zetten?"))
    assert "bij acuut gevaar" in reply.lower() and "112" in reply  # the national answer opens with it
