"""Contact actions against tracker JSON fixtures, a CollectingDispatcher and a real SQLite store: the
region of a place, whom to call with and without a known school location, the follow-up question, and
the sociale kaart."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from rasa.shared.nlu.training_data.loading import load_data
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.contacts import PENDING_SLOT, ActionRegion, ActionSocialMap, ActionWhoToCall
from actions.conversation import ActionFallback
from bot.contacts import SCHOOL_GEMEENTE_ENV, SCHOOL_QUESTION, place_lookup_names
from bot.store.db import repositories
from tests.test_actions_steps import all_text, run

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SENDER = "fixture-contacts"
VT_NUMBER = "0800-2000"
DIET, PAYLOAD = "DIETClassifier", "RegexMessageHandler"


@pytest.fixture()
def store(monkeypatch: pytest.MonkeyPatch):
    """The per-test SQLite store (tests/conftest.py), the national profile, no deployment gemeente."""
    monkeypatch.setenv("MELDWIJZER_PROFILE", "national")
    monkeypatch.delenv(SCHOOL_GEMEENTE_ENV, raising=False)
    return repositories()


def place_entity(value: str, text: str, extractor: str) -> Dict[str, Any]:
    start = max(text.find(value), 0)
    return {"entity": "place", "value": value, "start": start, "end": start + len(value), "extractor": extractor}


def tracker(
    name: str, text: Optional[str] = None, intent: Optional[str] = None, entities: Optional[List[Dict[str, Any]]] = None
) -> Tracker:
    """A fixture with its latest user message (and the matching user event) replaced when asked."""
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    if text is not None:
        message = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": entities or []}
        data["latest_message"] = message
        data["events"][-1] = {"event": "user", "text": text, "parse_data": copy.deepcopy(message)}
    return Tracker.from_dict(data)


def payloads(dispatcher: CollectingDispatcher) -> List[str]:
    return [b["payload"] for m in dispatcher.messages for b in m.get("buttons", [])]


def pending(events: List[Dict]) -> Any:
    return next(e["value"] for e in events if e.get("event") == "slot" and e["name"] == PENDING_SLOT)


# --- which Veilig Thuis belongs to a place ------------------------------------------------------------


@pytest.mark.parametrize(
    "text,region",
    [
        ("Welk Veilig Thuis hoort bij Hengelo?", "Veilig Thuis Twente"),
        ("veilig thuis nummer voor enschde", "Veilig Thuis Twente"),
        ("Veilig Thuis in Den Haag", "Veilig Thuis Haaglanden"),
        ("Welk Veilig Thuis voor Den Bosch?", "Veilig Thuis Oost-Brabant"),
        ("school in Sudwest Fryslan", "Veilig Thuis Friesland (Fryslân)"),
    ],
)
async def test_region_question_names_the_region_and_the_number(store, domain, text, region) -> None:
    """No DIET entity at all: the place is found in the text (typos, aliases, missing diacritics)."""
    dispatcher, events = await run(ActionRegion(), tracker("tracker_contacts_question", text, "ask_region"), domain)
    answer = all_text(dispatcher)
    assert region in answer.splitlines()[0] and VT_NUMBER in answer and "Bron:" in answer
    assert store.users.get(SENDER) is None  # a question about a place is not the school's location
    assert pending(events) is None


async def test_text_extraction_beats_a_truncated_diet_entity(store, domain) -> None:
    text = "Welk Veilig Thuis voor Den Bosch?"
    message = tracker("tracker_contacts_question", text, "ask_region", [place_entity("Den", text, DIET)])
    dispatcher, _ = await run(ActionRegion(), message, domain)
    assert "Oost-Brabant" in all_text(dispatcher)


async def test_ambiguous_place_offers_buttons_and_never_a_region(store, domain) -> None:
    dispatcher, _ = await run(ActionRegion(), tracker("tracker_contacts_question", "Bergen", "ask_region"), domain)
    answer = all_text(dispatcher)
    assert "Welke gemeente bedoelt u?" in answer and VT_NUMBER in answer
    assert "Noord-Holland Noord" not in answer and "Limburg" not in answer
    assert payloads(dispatcher) == ['/ask_region{"place": "Bergen (L.)"}', '/ask_region{"place": "Bergen (NH.)"}']


async def test_a_button_entity_wins_over_the_text(store, domain) -> None:
    """The payload text itself contains 'Bergen' (ambiguous); the button's entity decides."""
    text = '/ask_region{"place": "Bergen (NH.)"}'
    entities = [place_entity("Bergen (NH.)", text, PAYLOAD), place_entity("Bergen", text, DIET)]
    dispatcher, _ = await run(
        ActionRegion(), tracker("tracker_contacts_question", text, "ask_region", entities), domain
    )
    assert "Veilig Thuis Noord-Holland Noord" in all_text(dispatcher).splitlines()[0]


async def test_region_without_a_place_uses_the_deployment_gemeente(store, domain, monkeypatch) -> None:
    monkeypatch.setenv(SCHOOL_GEMEENTE_ENV, "Middelburg")
    message = tracker("tracker_contacts_question", "welk veilig thuis hoort bij ons?", "ask_region")
    dispatcher, _ = await run(ActionRegion(), message, domain)
    assert "Veilig Thuis Zeeland" in all_text(dispatcher)


async def test_region_without_any_place_asks_where_the_school_is(store, domain) -> None:
    message = tracker("tracker_contacts_question", "welk veilig thuis hoort bij ons?", "ask_region")
    dispatcher, events = await run(ActionRegion(), message, domain)
    assert dispatcher.messages[-1]["text"] == SCHOOL_QUESTION
    assert pending(events) == "region"


# --- whom to call --------------------------------------------------------------------------------------


async def test_who_to_call_without_a_region_gives_national_numbers_then_asks(store, domain) -> None:
    message = tracker("tracker_contacts_question", "wie moet ik bellen?", "ask_who_to_call")
    dispatcher, events = await run(ActionWhoToCall(), message, domain)
    first = dispatcher.messages[0]["text"].splitlines()
    assert "112" in first[0]
    assert any(line.startswith(f"Veilig Thuis: {VT_NUMBER}") for line in first)
    assert dispatcher.messages[-1]["text"] == SCHOOL_QUESTION
    assert pending(events) == "who_to_call"


async def test_the_answer_to_the_question_is_stored_and_answers_who_to_call(store, domain) -> None:
    dispatcher, events = await run(ActionRegion(), tracker("tracker_contacts_followup"), domain)
    answer = all_text(dispatcher)
    assert answer.startswith("Genoteerd: uw school staat in Zwolle.")
    assert "Direct gevaar? Bel 112." in answer and "Stichting Veilig Thuis IJsselland: 0800-2000" in answer
    assert store.users.get(SENDER).gemeente == "Zwolle"
    assert pending(events) is None

    again, events = await run(
        ActionWhoToCall(), tracker("tracker_contacts_question", "wie moet ik bellen?", "ask_who_to_call"), domain
    )
    assert "Stichting Veilig Thuis IJsselland" in all_text(again)
    assert SCHOOL_QUESTION not in all_text(again) and pending(events) is None


@pytest.mark.parametrize("intent", ["out_of_scope", "nlu_fallback", "faq"])
async def test_a_place_the_nlu_missed_still_answers_our_question(store, domain, intent) -> None:
    """ "zwolle" right after "In welke gemeente staat uw school?" reaches the fallback when the classifier
    reads it as something else; our open question makes it the answer all the same (clean-clone CI run)."""
    message = tracker("tracker_contacts_followup", "zwolle", intent)
    fallback, handed_over = await run(ActionFallback(), message, domain)
    assert handed_over == [{"event": "followup", "name": "action_region", "timestamp": None}]
    assert not fallback.messages  # the region action answers; the message is not reverted
    message.events.append({"event": "action", "name": "action_fallback"})  # what Rasa records before it
    dispatcher, events = await run(ActionRegion(), message, domain)
    answer = all_text(dispatcher)
    assert answer.startswith("Genoteerd: uw school staat in Zwolle.")
    assert "Stichting Veilig Thuis IJsselland: 0800-2000" in answer and "Dat begrijp ik niet" not in answer
    assert store.users.get(SENDER).gemeente == "Zwolle" and pending(events) is None


async def test_without_our_question_an_unclear_place_still_gets_the_fallback(store, domain) -> None:
    """Only the open question turns a missed message into an answer: later, nothing is stored."""
    data = json.loads((FIXTURES / "tracker_contacts_followup.json").read_text())
    data["events"][-2:-1] = [{"event": "action", "name": "action_faq"}, {"event": "action", "name": "action_listen"}]
    data["latest_message"]["intent"] = {"name": "out_of_scope", "confidence": 0.9}
    dispatcher, events = await run(ActionFallback(), Tracker.from_dict(data), domain)
    assert "Genoteerd" not in all_text(dispatcher) and store.users.get(SENDER) is None
    assert [e["event"] for e in events] == ["rewind"]


async def test_an_ambiguous_answer_keeps_the_question_open_for_its_buttons(store, domain) -> None:
    message = tracker("tracker_contacts_followup", "Bergen", "ask_region")
    dispatcher, events = await run(ActionRegion(), message, domain)
    assert pending(events) == "who_to_call" and len(payloads(dispatcher)) == 2
    assert store.users.get(SENDER) is None


async def test_a_place_named_later_in_the_conversation_is_not_stored(store, domain) -> None:
    """The question was asked, but the user did something else in between: a place is just a place."""
    data = json.loads((FIXTURES / "tracker_contacts_followup.json").read_text())
    data["events"][-2:-1] = [{"event": "action", "name": "action_faq"}, {"event": "action", "name": "action_listen"}]
    dispatcher, _ = await run(ActionRegion(), Tracker.from_dict(data), domain)
    assert "Stichting Veilig Thuis IJsselland" in all_text(dispatcher)
    assert "Genoteerd" not in all_text(dispatcher) and store.users.get(SENDER) is None


async def test_who_to_call_uses_the_profile_and_the_case_step(store, domain, monkeypatch) -> None:
    monkeypatch.setenv("MELDWIJZER_PROFILE", "symbio")  # gemeente Hengelo, zorgloket linked to step 2
    case = store.cases.create(SENDER, "symbio", "Leerling TEST")
    store.cases.update_progress(case.id, 2, ["signals_recorded"])
    message = tracker("tracker_contacts_question", "wie moet ik bellen?", "ask_who_to_call")
    dispatcher, _ = await run(ActionWhoToCall(), message, domain)
    answer = all_text(dispatcher)
    assert "SCP-er" in answer and "Veilig Thuis Twente: 0800-2000" in answer
    assert "Zorgloket gemeente Hengelo" in answer and SCHOOL_QUESTION not in answer


async def test_the_deployment_gemeente_beats_the_profile(store, domain, monkeypatch) -> None:
    monkeypatch.setenv("MELDWIJZER_PROFILE", "symbio")
    monkeypatch.setenv(SCHOOL_GEMEENTE_ENV, "Den Haag")
    message = tracker("tracker_contacts_question", "wie moet ik bellen?", "ask_who_to_call")
    dispatcher, _ = await run(ActionWhoToCall(), message, domain)
    assert "Veilig Thuis Haaglanden: 0800-2000" in all_text(dispatcher)


# --- the sociale kaart and national lines -----------------------------------------------------------


@pytest.mark.parametrize(
    "profile,text,expected,absent",
    [
        ("symbio", "Wat is het nummer van de zorgloket in Hengelo?", "14074 (Keuze 1)", "Veilig Thuis Twente"),
        ("onzewijs", "hoe bereik ik het CJG", "bestaat sinds 2020 niet meer", "(0118) 751400"),
        ("onzewijs", "telefoonnummer GGD", "Jeugdgezondheidszorg GGD Zeeland: 0113-249400", "Porthos"),
        ("onzewijs", "telefoonnummer Centrum Seksueel Geweld", "Centrum Seksueel Geweld: 0800-0188", "Porthos"),
        ("national", "nummer van de Kindertelefoon", "De Kindertelefoon: 0800-0432", "niet op de sociale kaart"),
        ("national", "hoe bereik ik de vertrouwensinspecteur", "0900-111 3 111", "niet op de sociale kaart"),
    ],
)
async def test_social_map_answers_from_the_profile_and_national_lines(
    store, domain, monkeypatch, profile, text, expected, absent
) -> None:
    monkeypatch.setenv("MELDWIJZER_PROFILE", profile)
    message = tracker("tracker_contacts_question", text, "ask_social_map")
    dispatcher, _ = await run(ActionSocialMap(), message, domain)
    assert expected in all_text(dispatcher) and absent not in all_text(dispatcher)


async def test_an_outdated_partner_is_shown_with_its_successor(store, domain, monkeypatch) -> None:
    monkeypatch.setenv("MELDWIJZER_PROFILE", "onzewijs")
    message = tracker("tracker_contacts_question", "nummer van het steunpunt huiselijk geweld", "ask_social_map")
    dispatcher, _ = await run(ActionSocialMap(), message, domain)
    assert "dat heet sinds 2015 Veilig Thuis (0800-2000)" in all_text(dispatcher)
    assert "0900 - 222 03 33" not in all_text(dispatcher)


async def test_a_broken_store_still_answers_with_the_numbers(monkeypatch, domain) -> None:
    def broken(*_: Any, **__: Any):
        raise RuntimeError("database down")

    monkeypatch.setattr("actions.contacts.current_case", broken)
    message = tracker("tracker_contacts_question", "wie moet ik bellen?", "ask_who_to_call")
    dispatcher, events = await run(ActionWhoToCall(), message, domain)
    assert events == [] and "112" in all_text(dispatcher) and VT_NUMBER in all_text(dispatcher)


def test_the_nlu_place_lookup_table_is_the_gemeente_table() -> None:
    tables = {t["name"]: t["elements"] for t in load_data(str(REPO / "data" / "nlu" / "contacts.yml")).lookup_tables}
    assert tables["place"] == place_lookup_names(), (
        "data/nlu/contacts.yml `lookup: place` is out of date; replace it with the output of: .venv/bin/python -c "
        '"from bot.contacts import place_lookup_names; '
        "print('\\n'.join('    - ' + n for n in place_lookup_names()))\""
    )
    assert "Echt" not in tables["place"]  # an everyday word would make ordinary sentences look like places


# --- a place the user only asks about is never stored (issue 12) -----------------------------------------


@pytest.mark.parametrize(
    "text", ["En in Sneek?", "en in goor?", "Welk Veilig Thuis hoort bij Sneek?", "En voor Delden dan?"]
)
async def test_a_question_about_another_place_does_not_become_the_schools_gemeente(store, domain, text) -> None:
    """Right after "In welke gemeente staat uw school?", a question about a place answers the question
    asked, keeps our question open, and stores nothing."""
    message = tracker("tracker_contacts_followup", text, "ask_region")
    dispatcher, events = await run(ActionRegion(), message, domain)
    answer = all_text(dispatcher)
    assert "Genoteerd" not in answer and "hoort bij Veilig Thuis-regio" in answer
    assert store.users.get(SENDER) is None
    assert pending(events) == "who_to_call"


async def test_a_stored_gemeente_survives_a_question_about_another_place(store, domain) -> None:
    store.users.upsert(SENDER, organisation_id="national", role="teacher", gemeente="Hengelo (O.)")
    message = tracker("tracker_contacts_followup", "En in Sneek?", "ask_region")
    dispatcher, _ = await run(ActionRegion(), message, domain)
    assert "Friesland" in all_text(dispatcher)
    assert store.users.get(SENDER).gemeente == "Hengelo (O.)"


@pytest.mark.parametrize(
    "text,stored",
    [("Goor", "Hof van Twente"), ("onze school staat in Sneek", "Súdwest-Fryslân"), ("gemeente Zwolle", "Zwolle")],
)
async def test_an_answer_that_names_the_schools_place_is_stored(store, domain, text, stored) -> None:
    message = tracker("tracker_contacts_followup", text, "ask_region")
    dispatcher, events = await run(ActionRegion(), message, domain)
    assert all_text(dispatcher).startswith(f"Genoteerd: uw school staat in {stored}.")
    assert store.users.get(SENDER).gemeente == stored
    assert pending(events) is None
