"""Attack: read the servers' logs for what staff typed. Every e2e pair runs at DEBUG, the most talkative
level (tests/e2e/conftest.py); a conversation full of names and a pupil's story goes through the default
pair, and neither the Rasa server's log nor the action server's may hold any of it: not the typed text,
not the slot values (the note's fields), not the names (bot/logs.py withholds the libraries' debug text;
our own modules log errors as type and place only)."""

from __future__ import annotations

import json
from typing import List

import pytest

from tests.e2e.conftest import Servers, texts
from tests.e2e.note_answers import answer_for

pytestmark = pytest.mark.e2e
TEACHER = '/inform_role{"role":"teacher"}'
# What must never reach a log: names of many origins, a pupil's story, a question with a name in it.
SECRETS = ["Fatma", "Yilmaz", "Daan", "Visser", "Oğuz", "striemen op haar rug", "oom Kees", "mishandelt"]
MESSAGES = [
    "ik maak me zorgen over Daan Visser uit groep 6",
    TEACHER,
    "Mijn leerling Oğuz vertelt dat zijn oom Kees hem mishandelt, wat moet ik nu doen?",
    "signaal vastleggen: gisteren om 10 uur zag ik op het plein dat Fatma Yilmaz striemen op haar rug had",
]


def test_no_log_line_holds_what_was_typed_at_debug_level(servers: Servers) -> None:
    sender = "rest-logs-debug"
    replies: List[dict] = []
    for message in MESSAGES:
        replies = servers.send(sender, message)
    for _ in range(8):  # the note: answer what it still asks, then confirm
        if "Klopt dit?" in texts(replies):
            assert "Opgeslagen in het dossier" in texts(servers.send(sender, "/affirm"))
            break
        replies = servers.send(sender, answer_for(replies))
    else:
        raise AssertionError(f"no note summary: {texts(replies)}")
    texts(servers.send(sender, "toon mijn dossier"))

    for name in ("rasa.log", "actions.log"):
        log = (servers.workdir / name).read_text(encoding="utf-8", errors="replace")
        assert "DEBUG" in log, f"{name}: the servers did not run at DEBUG"
        # As typed, and as a JSON log escapes it ("Og\u0306uz"-style escapes for the non-ASCII letters).
        forms = {secret: {secret.lower(), json.dumps(secret)[1:-1].lower()} for secret in SECRETS}
        leaked = [secret for secret, seen in forms.items() if any(form in log.lower() for form in seen)]
        lines = [line for line in log.splitlines() if any(f in line.lower() for s in leaked for f in forms[s])][:5]
        assert not leaked, f"{name} holds {leaked}:\n" + "\n".join(line[:300] for line in lines)
