"""Case actions (actions/cases.py) and the case-opening actions that now call bot/cases.py, with a
CollectingDispatcher, trackers built like the JSON fixtures and a real SQLite store."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.cases import (
    ActionAskCloseReason,
    ActionCloseCase,
    ActionListCases,
    ActionReopenCase,
    ActionStopCloseCase,
    ActionSwitchCase,
    ValidateCloseCaseForm,
)
from actions.conversation import ActionSessionStart
from actions.steps import ActionNewCase, ActionNextStep
from actions.weighing import ActionWeighingStart
from bot import cases
from bot.store.db import repositories

TEACHER = "fixture-teacher"
ORG = "symbio"


@pytest.fixture()
def store(monkeypatch: pytest.MonkeyPatch, tmp_path):
    monkeypatch.setenv("MELDWIJZER_DB_URL", f"sqlite:///{tmp_path / 'cases.db'}")
    monkeypatch.setenv("MELDWIJZER_PROFILE", ORG)
    return repositories()


def tracker(
    intent: str,
    text: str = "",
    entities: Optional[Dict[str, str]] = None,
    sender: str = TEACHER,
    active_loop: Optional[str] = None,
    **slots: Any,
) -> Tracker:
    """A tracker whose last message is ``text`` (or the button payload for ``intent`` + ``entities``)."""
    found = [{"entity": k, "value": v} for k, v in (entities or {}).items()]
    shown = text or f"/{intent}{json.dumps(entities) if entities else ''}"
    message = {"text": shown, "intent": {"name": intent, "confidence": 1.0}, "entities": found}
    return Tracker.from_dict(
        {
            "sender_id": sender,
            "slots": {"role": "teacher", "case_id": None, "requested_slot": None, **slots},
            "latest_message": message,
            "events": [
                {"event": "action", "name": "action_listen"},
                {"event": "user", "text": shown, "parse_data": message},
            ],
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": active_loop} if active_loop else {},
            "latest_action_name": "action_listen",
        }
    )


async def run(action: Any, tracker_: Tracker, domain: Dict[str, Any]) -> tuple:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker_, domain)
    return dispatcher, events


def text_of(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def payloads(dispatcher: CollectingDispatcher) -> List[str]:
    return [b["payload"] for m in dispatcher.messages for b in m.get("buttons", [])]


def slots_of(events: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


async def test_new_case_keeps_the_old_one_open_and_the_list_shows_both_as_buttons(store, domain) -> None:
    first = cases.open_case(store, TEACHER, ORG, "teacher")
    _, events = await run(ActionNewCase(), tracker("new_case", "nieuwe casus", case_id=first.id), domain)
    second_id = slots_of(events)["case_id"]
    assert second_id != first.id and store.cases.get(first.id, TEACHER, "teacher").status == "open"

    listing = tracker("list_cases", "welke casussen heb ik", case_id=second_id)
    dispatcher, _ = await run(ActionListCases(), listing, domain)
    second = store.cases.get(second_id, TEACHER, "teacher")
    assert f"- {second.pseudonym} (huidige casus): stap 1" in text_of(dispatcher)
    assert f"- {first.pseudonym}: stap 1" in text_of(dispatcher)
    assert payloads(dispatcher) == [
        f'/switch_case{{"case_ref": "{second.id}"}}',
        f'/switch_case{{"case_ref": "{first.id}"}}',
        "/new_case",
    ]


async def test_switching_makes_the_other_case_the_one_the_next_answers_are_about(store, domain) -> None:
    first = cases.open_case(store, TEACHER, ORG, "teacher")
    second = cases.open_case(store, TEACHER, ORG, "teacher")
    dispatcher, events = await run(
        ActionSwitchCase(), tracker("switch_case", entities={"case_ref": first.id}, case_id=second.id), domain
    )
    assert text_of(dispatcher).startswith(f"Casus {first.pseudonym}: u werkt nu verder aan deze casus")
    assert slots_of(events)["case_id"] == first.id
    dispatcher, _ = await run(ActionNextStep(), tracker("ask_next_step", "wat nu?", case_id=first.id), domain)
    assert f"({first.pseudonym})" in text_of(dispatcher) and second.pseudonym not in text_of(dispatcher)


async def test_in_the_middle_of_a_note_the_list_has_no_switch_buttons_and_a_switch_waits(store, domain) -> None:
    """The note being written belongs to the current case: a switch now would file it under another pupil."""
    first = cases.open_case(store, TEACHER, ORG, "teacher")
    second = cases.open_case(store, TEACHER, ORG, "teacher")
    listing = tracker("list_cases", "mijn casussen", case_id=second.id, active_loop="note_form")
    dispatcher, events = await run(ActionListCases(), listing, domain)
    assert first.pseudonym in text_of(dispatcher) and second.pseudonym in text_of(dispatcher)
    assert "Maak die eerst af" in text_of(dispatcher) and payloads(dispatcher) == [] and slots_of(events) == {}

    click = tracker("switch_case", entities={"case_ref": first.id}, case_id=second.id, active_loop="note_form")
    dispatcher, events = await run(ActionSwitchCase(), click, domain)
    assert "Maak die eerst af" in text_of(dispatcher) and slots_of(events) == {}


async def test_a_request_to_record_with_a_case_open_goes_to_the_note_not_to_same_pupil(store, domain) -> None:
    """The model may read "signaal vastleggen: ..." as a new worry; it asks for a note in the open case."""
    from actions.steps import ActionStartCase

    case = cases.open_case(store, TEACHER, ORG, "teacher")
    request = tracker("start_case", "signaal vastleggen: hij had striemen op zijn rug", case_id=case.id)
    dispatcher, events = await run(ActionStartCase(), request, domain)
    assert events == [{"event": "followup", "name": "note_form", "timestamp": None}]
    assert dispatcher.messages == []
    worry = tracker("start_case", "een leerling heeft striemen op zijn rug", case_id=case.id)
    dispatcher, _ = await run(ActionStartCase(), worry, domain)
    assert "Gaat het om dezelfde leerling?" in text_of(dispatcher)


async def test_a_case_id_of_a_colleague_in_the_slot_is_never_used(store, domain) -> None:
    own = cases.open_case(store, TEACHER, ORG, "teacher")
    foreign = cases.open_case(store, "someone-else", ORG, "teacher")
    dispatcher, _ = await run(ActionNextStep(), tracker("ask_next_step", "wat nu?", case_id=foreign.id), domain)
    assert f"({own.pseudonym})" in text_of(dispatcher) and foreign.pseudonym not in text_of(dispatcher)


async def test_closing_asks_the_reason_reads_a_typed_one_and_closes_the_case_of_the_conversation(store, domain) -> None:
    case = cases.open_case(store, TEACHER, ORG, "teacher")
    dispatcher, _ = await run(ActionAskCloseReason(), tracker("close_case", "casus afsluiten"), domain)
    assert text_of(dispatcher) == f"Casus {case.pseudonym}: waarom sluit u deze casus af?"
    assert payloads(dispatcher)[0] == f'/close_case{{"close_reason": "no_concerns", "case_ref": "{case.id}"}}'
    assert payloads(dispatcher)[-1] == "/deny"

    validator = ValidateCloseCaseForm()
    dispatcher = CollectingDispatcher()
    typed = tracker("nlu_fallback", "de leerling is verhuisd", active_loop="close_case_form")
    assert validator.validate_close_reason("de leerling is verhuisd", dispatcher, typed, domain) == {
        "close_reason": "pupil_left"
    }
    assert validator.validate_close_reason("geen idee", dispatcher, typed, domain) == {"close_reason": None}
    assert "de casus is nog niet afgesloten" in text_of(dispatcher)
    assert store.cases.get(case.id, TEACHER, "teacher").status == "open"

    other = cases.open_case(store, TEACHER, ORG, "teacher")  # a reason clicked under an old question
    dispatcher = CollectingDispatcher()
    stale = tracker("close_case", entities={"close_reason": "other", "case_ref": other.id}, case_id=case.id)
    assert validator.validate_close_reason("other", dispatcher, stale, domain) == {"close_reason": None}
    assert text_of(dispatcher) == "Die knop hoort bij een andere casus; er is niets afgesloten."

    closing = tracker("close_case", case_id=case.id, close_reason="pupil_left")
    dispatcher, events = await run(ActionCloseCase(), closing, domain)
    assert text_of(dispatcher).startswith(f"Casus {case.pseudonym}: afgesloten (leerling heeft de school verlaten)")
    stored = store.cases.get(case.id, TEACHER, "teacher")
    assert (stored.status, stored.close_reason) == ("closed", "pupil_left")
    assert slots_of(events) == {**cases.case_slot_values(other), "close_reason": None}


async def test_the_form_asks_nothing_without_an_open_case_and_then_says_so(store, domain) -> None:
    required = await ValidateCloseCaseForm().required_slots(
        ["close_reason"], CollectingDispatcher(), tracker("close_case", "casus afsluiten"), domain
    )
    assert required == []
    dispatcher, _ = await run(ActionCloseCase(), tracker("close_case", "casus afsluiten"), domain)
    assert text_of(dispatcher) == "U heeft geen open casus om af te sluiten."


async def test_stopping_the_close_leaves_the_case_open(store, domain) -> None:
    case = cases.open_case(store, TEACHER, ORG, "teacher")
    stop = tracker("deny", "nee toch niet", active_loop="close_case_form")
    dispatcher, events = await run(ActionStopCloseCase(), stop, domain)
    assert text_of(dispatcher) == f"Casus {case.pseudonym}: de casus blijft open, er is niets afgesloten."
    assert {"event": "active_loop", "name": None, "timestamp": None} in events
    assert store.cases.get(case.id, TEACHER, "teacher").status == "open"


async def test_reopening_lists_closed_cases_and_the_click_reopens_and_switches(store, domain) -> None:
    case = cases.open_case(store, TEACHER, ORG, "teacher")
    cases.close_case(store, TEACHER, case, "no_concerns")
    dispatcher, _ = await run(ActionReopenCase(), tracker("reopen_case", "casus heropenen"), domain)
    assert text_of(dispatcher) == "Welke casus wilt u heropenen?"
    assert payloads(dispatcher) == [f'/reopen_case{{"case_ref": "{case.id}"}}']
    dispatcher, events = await run(ActionReopenCase(), tracker("reopen_case", entities={"case_ref": case.id}), domain)
    assert text_of(dispatcher) == f"Casus {case.pseudonym}: weer geopend, in stap 1."
    assert slots_of(events)["case_id"] == case.id
    assert store.cases.get(case.id, TEACHER, "teacher").status == "open"


async def test_a_colleague_clicking_a_reopen_button_reopens_nothing(store, domain) -> None:
    case = cases.open_case(store, TEACHER, ORG, "teacher")
    cases.close_case(store, TEACHER, case, "other")
    dispatcher, events = await run(
        ActionReopenCase(), tracker("reopen_case", entities={"case_ref": case.id}, sender="colleague"), domain
    )
    assert text_of(dispatcher).startswith("Die casus kunt u niet heropenen") and slots_of(events) == {}
    assert store.cases.get(case.id, TEACHER, "teacher").status == "closed"


async def test_session_start_tells_the_owner_once_about_an_automatic_close(store, domain) -> None:
    quiet = cases.open_case(store, TEACHER, ORG, "teacher")
    cases.close_inactive(store, timedelta(days=180), now=datetime.now(timezone.utc) + timedelta(days=181))
    dispatcher, events = await run(ActionSessionStart(), tracker("greet", "hallo"), domain)
    assert text_of(dispatcher).startswith(f"Casus {quiet.pseudonym}: automatisch afgesloten op ")
    assert "/reopen_case" in payloads(dispatcher)
    assert slots_of(events)["case_id"] is None
    dispatcher, _ = await run(ActionSessionStart(), tracker("greet", "hallo"), domain)
    assert quiet.pseudonym not in text_of(dispatcher)


async def test_the_weighing_without_a_case_opens_one_at_step_4_through_the_use_case(store, domain) -> None:
    dispatcher, events = await run(ActionWeighingStart(), tracker("start_weighing", "afwegingsvragen"), domain)
    case = store.cases.open_case(TEACHER)
    assert case is not None and case.step == 4 and slots_of(events)["case_id"] == case.id
    assert f"nieuwe casus: '{case.pseudonym}'" in text_of(dispatcher)
    assert store.users.get(TEACHER).role == "teacher"
