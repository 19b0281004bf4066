"""action_show_overview against trackers, a CollectingDispatcher and a real SQLite store."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.overview import ActionShowOverview
from bot.store.db import repositories
from bot.profiles import ATTENTION_OFFICER

OFFICER, TEACHER = "web:scp-er", "web:leerkracht-1"


@pytest.fixture()
def store(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("MELDWIJZER_PROFILE", "onzewijs")
    repos = repositories()
    repos.users.upsert(TEACHER, organisation_id="onzewijs", role="teacher")
    case = repos.cases.create(TEACHER, "onzewijs", "Leerling K7")
    repos.followups.add(case.id, "vt_feedback", date.today() - timedelta(days=10), "Veilig Thuis terugbellen")
    repos.cases.create("web:collega", "onzewijs", "Leerling M2")
    repos.roles.grant(OFFICER, "onzewijs", ATTENTION_OFFICER, "admin")
    return repos


def tracker(sender: str, channel: str = "web", role: str = "teacher", **entities: str) -> Tracker:
    found = [{"entity": name, "value": value} for name, value in entities.items()]
    parse = {"intent": {"name": "show_overview", "confidence": 1.0}, "entities": found}
    text = "/show_overview" + (json.dumps(entities) if entities else "")
    return Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": {"role": role},
            "latest_message": {"text": text, **parse},
            "events": [
                {"event": "action", "name": "action_listen"},
                {"event": "user", "text": text, "parse_data": parse, "input_channel": channel},
            ],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        }
    )


async def run(track: Tracker) -> List[Dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    await ActionShowOverview().run(dispatcher, track, {"intents": ["show_overview", "ask_next_step"]})
    return dispatcher.messages


def button(messages: List[Dict[str, Any]], title: str) -> Optional[Dict[str, str]]:
    return next((b for m in messages for b in m.get("buttons") or [] if b["title"] == title), None)


async def test_the_officer_gets_the_overview_with_filter_dossier_buttons_and_the_page_link(store) -> None:
    messages = await run(tracker(OFFICER, role="teacher"))  # the grant counts, not the stated role
    text = messages[0]["text"]
    assert text.startswith("Open casussen van de school: 2.\n- Leerling K7: stap 1, leerkracht of docent, ")
    assert "1 afspraak achterstallig" in text and "Leerling M2" in text
    assert button(messages, "Alleen achterstallig")["payload"] == '/show_overview{"overview_filter": "achterstallig"}'
    case_id = store.cases.open_case(TEACHER).id
    assert button(messages, "Dossier Leerling K7")["payload"] == f'/show_overview{{"overview_case": "{case_id}"}}'
    links = messages[1]["attachment"]["files"]
    assert links[0]["format"] == "html" and links[0]["url"].startswith("overzicht/")

    overdue = await run(tracker(OFFICER, overview_filter="achterstallig"))
    assert "Leerling K7" in overdue[0]["text"] and "Leerling M2" not in overdue[0]["text"]
    assert button(overdue, "Alle casussen")["payload"] == "/show_overview"

    dossier = await run(tracker(OFFICER, channel="msteams", overview_case=case_id))
    assert dossier[0]["text"].startswith("Het dossier van Leerling K7 heeft nog geen aantekeningen.")
    assert button(dossier, "Terug naar het overzicht") and len(dossier) == 1  # no download links in Teams


async def test_a_teacher_asking_for_it_gets_a_polite_refusal(store) -> None:
    messages = await run(tracker(TEACHER, role="attention_officer"))  # a stated role is not a grant
    assert len(messages) == 1
    assert messages[0]["text"].startswith("Het overzicht van alle casussen van de school is alleen voor de ")
    assert "Leerling K7" not in messages[0]["text"] and "Leerling M2" not in messages[0]["text"]
    assert button(messages, "Wat moet ik nu doen?")["payload"] == "/ask_next_step"
