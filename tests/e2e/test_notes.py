"""Dossier notes over real HTTP: a signal recorded field by field (a name masked, an unclear date asked
again), confirmed, read back and exported with the pseudonym only; every kind of note; and nothing lost
when the action server dies around the moment the teacher confirms."""

from __future__ import annotations

from typing import List

import pytest

from bot.notes import NOTE_KINDS
from tests.e2e.conftest import Servers, button_payloads, texts
from tests.e2e.note_answers import answer_for

pytestmark = pytest.mark.e2e
TEACHER = '/inform_role{"role":"teacher"}'


def test_a_signal_is_recorded_masked_confirmed_and_exported(servers: Servers) -> None:
    sender = "rest-notes-1"
    servers.send(sender, "ik maak me zorgen over een leerling")
    servers.send(sender, TEACHER)

    assert "Wanneer was dit?" in texts(servers.send(sender, "ik wil een signaal vastleggen"))
    assert "niet zeker lezen" in texts(servers.send(sender, "ergens vorig jaar"))
    assert "Waar was dit?" in texts(servers.send(sender, "gisteren om half negen"))
    assert "situatie" in texts(servers.send(sender, "in de klas"))
    assert "Wie waren er nog meer bij?" in texts(servers.send(sender, "bij binnenkomst, tijdens de kring"))
    assert "Wat heeft u gezien of gehoord?" in texts(servers.send(sender, "niemand anders"))
    # An observation like this may be heard as a special situation: its reply may come first, but the
    # answer is kept and the next question follows.
    observed = texts(servers.send(sender, "Moeder Fatma Yilmaz trok hem hard aan zijn arm. Ik denk dat hij bang is."))
    assert "vervangen door [moeder]" in observed and "Fatma" not in observed
    assert "Heeft u een vermoeden of interpretatie?" in observed
    assert "/deny" in button_payloads(servers.send(sender, "/deny"))  # no hypothesis; now the source
    confirm = servers.send(sender, "/deny")  # no third party
    summary = texts(confirm)
    assert "- Waarnemingen (feiten): [moeder] trok hem hard aan zijn arm." in summary
    assert "- Hypothese of veronderstelling: Ik denk dat hij bang is." in summary
    assert "Opgeslagen in het dossier" in texts(servers.send(sender, "/affirm"))

    shown = texts(servers.send(sender, "toon mijn dossier"))
    assert "1 aantekening(en)" in shown and ": Signaal" in shown
    exported = texts(servers.send(sender, "exporteer mijn dossier"))
    assert exported.startswith("# Dossieroverzicht meldcode") and "Fatma" not in exported
    assert "[moeder] trok hem hard aan zijn arm." in exported


def test_stopping_a_note_stores_nothing(servers: Servers) -> None:
    sender = "rest-notes-2"
    servers.send(sender, "ik maak me zorgen over een leerling")
    servers.send(sender, TEACHER)
    servers.send(sender, "ik wil een signaal vastleggen")
    servers.send(sender, "vanochtend")
    assert "niets opgeslagen" in texts(servers.send(sender, "/stop_note"))
    assert "nog geen aantekeningen" in texts(servers.send(sender, "toon mijn dossier"))


def record_to_summary(servers: Servers, sender: str, kind: str) -> List[dict]:
    """Start a note of ``kind`` by its button and answer every question until the summary is shown."""
    replies = servers.send(sender, "ik wil iets vastleggen in het dossier")
    button = next(p for p in button_payloads(replies) if f'"{kind}"' in p)
    replies = servers.send(sender, button)
    for _ in range(12):
        if "Klopt dit?" in texts(replies):
            return replies
        replies = servers.send(sender, answer_for(replies))
    raise AssertionError(f"no summary for {kind}: {texts(replies)}")


def open_case(servers: Servers, sender: str) -> None:
    servers.send(sender, "ik maak me zorgen over een leerling")
    servers.send(sender, TEACHER)


def test_every_kind_of_note_is_recorded_and_shown_in_the_dossier(servers: Servers) -> None:
    sender = "rest-notes-kinds"
    open_case(servers, sender)
    for kind in NOTE_KINDS:
        summary = texts(record_to_summary(servers, sender, kind))
        assert NOTE_KINDS[kind].label in summary
        assert "Opgeslagen in het dossier" in texts(servers.send(sender, "/affirm"))

    shown = texts(servers.send(sender, "toon mijn dossier"))
    assert f"{len(NOTE_KINDS)} aantekening(en)" in shown
    for kind in NOTE_KINDS.values():
        assert f": {kind.label}" in shown
    exported = texts(servers.send(sender, "exporteer mijn dossier"))
    assert "moeder neemt contact op met het wijkteam" in exported and "de aandachtsfunctionaris" in exported


def test_nothing_is_lost_when_the_action_server_dies_around_the_confirmation(servers: Servers) -> None:
    sender = "rest-notes-crash"
    open_case(servers, sender)

    # Killed right after the teacher confirmed: the note was stored before the answer came.
    record_to_summary(servers, sender, "signaal")
    assert "Opgeslagen in het dossier" in texts(servers.send(sender, "/affirm"))
    servers.kill_actions()
    servers.start_actions()
    assert "1 aantekening(en)" in texts(servers.send(sender, "toon mijn dossier"))

    # Killed just before the confirmation arrives: the teacher gets an answer, and the note waits.
    record_to_summary(servers, sender, "consultatie")
    servers.kill_actions()
    try:
        down = texts(servers.send(sender, "/affirm"))
        assert "niet verloren" in down and "112" in down
    finally:
        servers.start_actions()
    retried = texts(servers.send(sender, "/affirm"))
    assert "Opgeslagen in het dossier" in retried
    shown = texts(servers.send(sender, "toon mijn dossier"))
    assert "2 aantekening(en)" in shown and f": {NOTE_KINDS['consultatie'].label}" in shown
