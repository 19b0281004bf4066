"""Dossier notes over real HTTP: a signal recorded field by field (a name masked, an unclear date asked
again), confirmed, read back and exported with the pseudonym only."""
from __future__ import annotations

import pytest

from tests.e2e.conftest import Servers, button_payloads, texts

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
