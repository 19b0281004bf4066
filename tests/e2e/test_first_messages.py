"""The conversation as real staff have it (issue 12), over real HTTP: first messages that describe signals,
a role said in passing, English, questions that sound like progress, the case status, typed button
titles, a note that moves the case, and a clarification that must not loop. Several phrasings each."""

from __future__ import annotations

from typing import List

import pytest

from tests.e2e.conftest import Servers, button_payloads, texts

pytestmark = pytest.mark.e2e
TEACHER = '/inform_role{"role":"teacher"}'
NOT_UNDERSTOOD = ("Dat begrijp ik niet", "Ik weet niet zeker wat u bedoelt")


def start_case_as_teacher(servers: Servers, sender: str) -> None:
    """A case at step 1 for a teacher, the way the generic worry starts it (role asked first)."""
    servers.send(sender, "ik maak me zorgen over een leerling")
    assert "Stap 1" in texts(servers.send(sender, TEACHER))


def index_of(replies: List[dict], predicate) -> int:
    return next(i for i, reply in enumerate(replies) if predicate(reply))


@pytest.mark.parametrize(
    "message",
    [
        "Mijn leerling heeft striemen op zijn rug",
        "een leerling vertelde me net dat haar oom aan haar zit",
        "ik zag brandwonden op de arm van een meisje uit groep 5",
        "een jongen uit mijn klas heeft al weken blauwe plekken en zegt dat hij gevallen is",
        "een kind komt elke dag zonder eten en in dezelfde vieze kleren naar school",
        "een leerling vertelt dat papa mama gisteren heeft geslagen en dat zij het zag",
        "een meisje is al drie weken niet op school geweest en de ouders nemen de telefoon niet op",
    ],
)
def test_a_first_message_with_signals_gets_step_1_guidance_before_the_role_question(
    servers: Servers, message: str
) -> None:
    replies = servers.send(f"first-{abs(hash(message))}", message)
    guidance = index_of(replies, lambda r: "Stap 1" in r.get("text", ""))
    role = index_of(replies, lambda r: TEACHER in [b["payload"] for b in r.get("buttons", [])])
    assert guidance < role, replies
    assert "112" in texts(replies) and "0800-2000" in texts(replies)


@pytest.mark.parametrize(
    "message",
    [
        "Ik ben gymdocent en ik zag bij het omkleden striemen op de rug van een jongen",
        "Ik ben mentor en een meisje uit mijn klas vertelde dat haar stiefvader haar slaat",
        "ik ben conciërge en zag een leerling met een blauw oog het plein op komen",
        "Ik ben aandachtsfunctionaris en een collega zag brandwonden bij een leerling",
    ],
)
def test_a_role_said_in_passing_is_taken_and_the_concern_answered(servers: Servers, message: str) -> None:
    sender = f"role-{abs(hash(message))}"
    replies = servers.send(sender, message)
    assert "Stap 1" in texts(replies), replies
    assert TEACHER not in button_payloads(replies)
    again = servers.send(sender, "wat moet ik nu doen?")
    assert "Stap 1" in texts(again) and TEACHER not in button_payloads(again)


@pytest.mark.parametrize(
    "message",
    [
        "I am worried about a pupil, what should I do?",
        "Hello, one of my students told me her father hits her",
        "Do I have to report this to the parents?",
    ],
)
def test_english_gets_a_dutch_reply_with_the_danger_line_and_the_case_button(servers: Servers, message: str) -> None:
    replies = servers.send(f"english-{abs(hash(message))}", message)
    text = texts(replies)
    assert "Nederlands" in text and "112" in text and "0800-2000" in text, replies
    assert "/start_case" in button_payloads(replies)
    assert not any(phrase in text for phrase in NOT_UNDERSTOOD)


@pytest.mark.parametrize(
    "question",
    [
        "We hebben besloten te melden. Hoe doe ik dat?",
        "Hoe doe ik een melding bij Veilig Thuis?",
        "We willen gaan melden, hoe gaat dat in zijn werk?",
        "Moet ik nu met de ouders praten?",
        "Ik heb met de IB'er overlegd, moet ik nu ook Veilig Thuis bellen?",
    ],
)
def test_a_question_is_never_recorded_as_progress(servers: Servers, question: str) -> None:
    sender = f"question-{abs(hash(question))}"
    start_case_as_teacher(servers, sender)
    replies = servers.send(sender, question)
    assert "Genoteerd" not in texts(replies), replies
    status = texts(servers.send(sender, "Hoe staat mijn casus ervoor?"))
    assert "staat op stap 1" in status and "Nog niets afgevinkt" in status, status


def test_an_intention_is_confirmed_with_a_button_before_it_is_stored(servers: Servers) -> None:
    sender = "intention-1"
    start_case_as_teacher(servers, sender)
    replies = servers.send(sender, "We hebben besloten te melden")
    assert "Genoteerd" not in texts(replies)
    confirm = [p for p in button_payloads(replies) if p.startswith("/progress_reported")]
    assert confirm, replies
    assert "Genoteerd: Melding gedaan bij Veilig Thuis" in texts(servers.send(sender, confirm[0]))


def test_status_my_cases_and_typed_button_titles(servers: Servers) -> None:
    sender = "status-1"
    start_case_as_teacher(servers, sender)
    for message in ("Hoe staat mijn casus ervoor?", "hoe staat het met mijn casus"):
        assert "staat op stap 1" in texts(servers.send(sender, message))
    mine = servers.send(sender, "Mijn casussen")
    assert "Leerling " in texts(mine) and "oefen" not in texts(mine).lower(), mine

    help_ = servers.send(sender, "Wat kunt u allemaal?")
    assert "digitale assistent" in texts(help_), help_

    kinds = servers.send(sender, "ik wil een aantekening maken in het dossier")
    assert "Gesprek met ouder of leerling (stap 3)" in [b["title"] for r in kinds for b in r.get("buttons", [])]
    typed = servers.send(sender, "Gesprek met ouder of leerling (stap 3)")
    assert "Wanneer was het gesprek?" in texts(typed), typed
    servers.send(sender, "Stoppen")


def test_a_saved_step_3_note_moves_the_case(servers: Servers) -> None:
    sender = "note-step3"
    start_case_as_teacher(servers, sender)
    servers.send(sender, "ik wil een aantekening maken in het dossier")
    assert "Wanneer was het gesprek?" in texts(servers.send(sender, '/record_note{"note_kind": "gesprek"}'))
    for answer in (
        "gisteren om 15:00",
        "moeder en de intern begeleider",
        "onze zorgen delen",
        "de blauwe plekken die ik zag",
        "moeder was verrast",
        "we spreken elkaar over twee weken",
    ):
        servers.send(sender, answer)
    summary = servers.send(sender, "nee")  # the report is not signed (yet)
    assert "/affirm" in button_payloads(summary), summary
    saved = texts(servers.send(sender, "/affirm"))
    assert "Opgeslagen" in saved and "stap 4" in saved, saved
    now = texts(servers.send(sender, "wat moet ik nu doen?"))
    assert "Stap 4" in now and "Stap 1" not in now, now


@pytest.mark.parametrize(
    "again",
    [
        "ik maak me zorgen over een leerling",
        "een leerling heeft weer blauwe plekken",
    ],
)
def test_the_same_pupil_question_does_not_loop(servers: Servers, again: str) -> None:
    sender = f"loop-{abs(hash(again))}"
    start_case_as_teacher(servers, sender)
    first = texts(servers.send(sender, "Mijn leerling heeft striemen op zijn rug"))
    assert "dezelfde leerling?" in first, first
    second = servers.send(sender, again)
    assert "dezelfde leerling?" not in texts(second), second
    assert "Stap 1" in texts(second) and "/new_case" in button_payloads(second)
