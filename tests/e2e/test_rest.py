"""The foundation over real HTTP: a case from the first worried message to step 3, acute danger in the
middle, a restart of both servers, the bearer token, and the channel's refusals."""

from __future__ import annotations

import json

import pytest
import requests

from bot.store.identities import stored_identity
from tests.e2e.conftest import REST_TOKEN, Servers, button_payloads, texts, user_texts

pytestmark = pytest.mark.e2e
TEACHER = '/inform_role{"role":"teacher"}'


def test_case_runs_through_steps_survives_restart_and_acute_danger_wins(servers: Servers) -> None:
    sender = "rest-teacher-1"
    first = servers.send(sender, "ik maak me zorgen over een leerling")
    assert TEACHER in button_payloads(first), first  # the role is asked once, with buttons

    started = texts(servers.send(sender, TEACHER))
    assert "pseudoniem" in started and "112" in started and "0800-2000" in started
    assert "Stap 1" in started

    assert "Stap 2" in texts(servers.send(sender, "ik heb de signalen vastgelegd in het dossier"))
    step3 = texts(servers.send(sender, "Ik heb met de IB'er overlegd"))
    assert "Stap 3" in step3

    acute = servers.send(sender, "het kind bloedt en durft niet naar huis, vader staat bij het hek")
    assert "112" in acute[0]["text"]  # the very first reply names the number

    servers.restart()
    again = texts(servers.send(sender, "wat moet ik nu doen?"))
    assert "Stap 3" in again  # the case is read back from the store after a restart


def test_role_is_remembered_for_a_second_case(servers: Servers) -> None:
    sender = "rest-teacher-2"
    servers.send(sender, "ik maak me zorgen over een leerling")
    servers.send(sender, TEACHER)
    replies = servers.send(sender, "het gaat om een andere leerling, nieuwe casus")
    assert TEACHER not in button_payloads(replies)
    assert "Stap 1" in texts(replies)


def test_typed_intent_payload_is_not_executed(servers: Servers) -> None:
    sender = "rest-payload-guard"
    replies = servers.send(sender, '/inform_role{"role":"school_leader"}')
    assert "schoolleider" not in texts(replies)
    assert replies, "the guarded text still gets an answer"


def test_requests_without_sender_or_too_long_are_refused(servers: Servers) -> None:
    url = f"{servers.base_url}/webhooks/rest/webhook"
    assert requests.post(url, json={"message": "hallo"}, timeout=30).status_code == 400
    too_long = servers.send("rest-long", "a" * 2001, expect=413)
    assert "te lang" in texts(too_long)


def test_unknown_text_gets_options(servers: Servers) -> None:
    replies = servers.send("rest-fallback", "qwerty zxcv bnm")
    assert replies and button_payloads(replies), replies


def test_bearer_token_is_required_when_configured(secured_servers: Servers) -> None:
    url = f"{secured_servers.base_url}/webhooks/rest/webhook"
    body = json.dumps({"sender": "rest-token", "message": "hallo"})
    headers = {"Content-Type": "application/json"}
    assert requests.post(url, data=body, headers=headers, timeout=30).status_code == 401
    wrong = {**headers, "Authorization": "Bearer nope"}
    assert requests.post(url, data=body, headers=wrong, timeout=30).status_code == 401
    assert secured_servers.send("rest-token", "hallo", token=REST_TOKEN)


def test_a_message_sent_again_with_its_key_is_answered_once(servers: Servers, monkeypatch: pytest.MonkeyPatch) -> None:
    """A client resending after a lost answer: the copy gets the first answer, the tracker holds it once."""
    sender = "rest-resend"
    first = servers.send(sender, "ik maak me zorgen over een leerling", key="msg-1")
    assert servers.send(sender, "ik maak me zorgen over een leerling", key="msg-1") == first
    started = servers.send(sender, TEACHER, key="msg-2")
    assert "Stap 1" in texts(started)
    assert servers.send(sender, TEACHER, key="msg-2") == started
    servers.send(sender, "wie kan ik bellen?", key="msg-3")
    monkeypatch.setenv("MELDWIJZER_SECRET_KEY", servers.env["MELDWIJZER_SECRET_KEY"])
    stored = user_texts(servers.env["MELDWIJZER_TRACKER_DB_URL"], stored_identity(f"rest:local:{sender}", servers.env))
    assert stored == ["ik maak me zorgen over een leerling", TEACHER, "wie kan ik bellen?"]
    servers.send(sender, "hallo", key="bad key with spaces", expect=400)
