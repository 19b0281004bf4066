"""Case-guidance actions against tracker JSON fixtures, a CollectingDispatcher and a real SQLite store."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Dict, List

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import common
from actions.conversation import ActionFallback, ActionSessionStart
from actions.conversation import ActionEnglish
from actions.steps import (
    ActionCaseStatus,
    ActionFaq,
    ActionGoToStep,
    ActionNewCase,
    ActionSetRole,
    ValidateCaseStartForm,
    ActionNextStep,
    ActionProgress,
    ActionSituation,
    ActionStartCase,
    step_from_text,
)
from bot import retrieval, steps
from bot.profiles import profile
from bot.store.db import repositories

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"


@pytest.fixture()
def store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("MELDWIJZER_DB_URL", f"sqlite:///{tmp_path / 'cases.db'}")
    monkeypatch.setenv("MELDWIJZER_PROFILE", "symbio")
    return repositories()


def tracker(name: str, **overrides: Any) -> Tracker:
    data = json.loads((FIXTURES / f"{name}.json").read_text())
    data.update(overrides)
    return Tracker.from_dict(data)


async def run(action: Any, tracker_: Tracker, domain: Dict[str, Any]) -> tuple[CollectingDispatcher, List[Dict]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker_, domain)
    return dispatcher, events


def all_text(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


async def test_start_case_creates_a_stored_case_at_step_1_and_warns_about_names(store, domain) -> None:
    dispatcher, events = await run(ActionStartCase(), tracker("tracker_worried_teacher"), domain)
    case = store.cases.open_case("fixture-teacher")
    assert case is not None and case.step == 1 and case.organisation_id == "symbio"
    text = all_text(dispatcher)
    assert case.pseudonym in text and "pseudoniem" in text
    assert "112" in text and "0800-2000" in text
    assert "Stap 1" in text
    assert {"event": "slot", "name": "case_id", "value": case.id, "timestamp": None} in events
    assert store.users.get("fixture-teacher").role == "teacher"


async def test_start_case_with_an_open_case_asks_whether_it_is_the_same_pupil(store, domain) -> None:
    store.cases.create("fixture-teacher", "symbio", "Leerling TEST")
    dispatcher, _ = await run(ActionStartCase(), tracker("tracker_worried_teacher"), domain)
    payloads = [b["payload"] for m in dispatcher.messages for b in m.get("buttons", [])]
    assert payloads == ["/ask_next_step", "/new_case"]
    assert len(store.cases.list_for("fixture-teacher", "teacher", "symbio")) == 1


async def test_progress_advances_the_stored_step_and_uses_the_profile_words(store, domain) -> None:
    case = store.cases.create("fixture-teacher", "symbio", "Leerling TEST")
    store.cases.update_progress(case.id, 2, ["signals_recorded"])
    dispatcher, events = await run(ActionProgress(), tracker("tracker_progress_consulted"), domain)
    stored = store.cases.open_case("fixture-teacher")
    assert stored.step == 3 and "colleague_consulted" in stored.done
    assert {
        "event": "slot",
        "name": "case_done",
        "value": ["colleague_consulted", "signals_recorded"],
        "timestamp": None,
    } in events
    text = all_text(dispatcher)
    assert "Stap 3" in text and "Bron:" in text


async def test_go_to_step_accepts_words_and_persists(store, domain) -> None:
    store.cases.create("fixture-teacher", "symbio", "Leerling TEST")
    dispatcher, _ = await run(ActionGoToStep(), tracker("tracker_go_to_step"), domain)
    assert store.cases.open_case("fixture-teacher").step == 4
    buttons = [b["payload"] for m in dispatcher.messages for b in m.get("buttons", [])]
    assert all(p.split("{")[0].lstrip("/") in common.intent_names(domain) for p in buttons)


async def test_next_step_without_a_case_offers_to_start_one(store, domain) -> None:
    dispatcher, events = await run(ActionNextStep(), tracker("tracker_progress_consulted"), domain)
    assert events == []
    assert dispatcher.messages[0]["buttons"][0]["payload"] == "/start_case"


async def test_acute_danger_inside_a_form_names_112_first_without_extra_buttons(store, domain) -> None:
    dispatcher, _ = await run(ActionSituation(), tracker("tracker_acute_in_form"), domain)
    first = dispatcher.messages[0]
    assert "112" in first["text"].splitlines()[0]
    assert first["buttons"] == []  # the form asks its own question right after


async def test_acute_danger_survives_a_broken_store(monkeypatch, domain) -> None:
    def broken():
        raise RuntimeError("database down")

    monkeypatch.setattr("actions.common.organisation", broken)  # say_situation reads the profile
    dispatcher, _ = await run(ActionSituation(), tracker("tracker_acute_in_form"), domain)
    assert "112" in dispatcher.messages[0]["text"]


async def test_a_crashing_action_still_answers(monkeypatch, domain) -> None:
    def broken(*_: Any, **__: Any):
        raise RuntimeError("database down")

    monkeypatch.setattr("actions.common.current_case", broken)  # CaseAction reads the case
    dispatcher, events = await run(ActionNextStep(), tracker("tracker_progress_consulted"), domain)
    assert events == []
    assert "niet verloren" in all_text(dispatcher) and "112" in all_text(dispatcher)


async def test_faq_answers_the_entry_retrieval_picks_and_names_the_source(store, domain) -> None:
    dispatcher, _ = await run(ActionFaq(), tracker("tracker_faq"), domain)
    text = all_text(dispatcher)
    assert "anoniem" in text.lower() and "Bron:" in text


def faq_message(text: str, intent_confidence: float) -> Dict[str, Any]:
    """A typed message the NLU read as a knowledge question (retrieval picks the entry)."""
    return {"text": text, "intent": {"name": "faq", "confidence": intent_confidence}, "entities": []}


def faq_hits(monkeypatch: pytest.MonkeyPatch, score: float) -> None:
    """Retrieval's three nearest FAQ entries for any text, the first at ``score``."""
    hits = (
        retrieval.Hit("faq:tell_parents_about_melding", score, "Moet ik de ouders vertellen dat we gaan melden?"),
        retrieval.Hit("faq:talk_parents_first", 0.2, "Moet ik eerst met de ouders praten voordat we melden?"),
        retrieval.Hit("faq:skip_parent_talk", 0.1, "Wanneer mag ik het gesprek met de ouders overslaan?"),
    )
    monkeypatch.setattr(retrieval, "search", lambda *a, **k: hits)


async def test_a_guessed_faq_is_offered_not_answered(store, domain, monkeypatch) -> None:
    """A question in unseen words reached the FAQ and retrieval has no likely hit: ask, do not answer;
    retrieval's three nearest entries are the buttons."""
    faq_hits(monkeypatch, retrieval.LIKELY_THRESHOLD - 0.01)
    guessed = faq_message("hoe zit dat met die stappen eigenlijk?", intent_confidence=1.0)
    dispatcher, _ = await run(ActionFaq(), tracker("tracker_faq", latest_message=guessed), domain)
    message = dispatcher.messages[0]
    assert message["text"].startswith("Ik weet niet zeker wat u bedoelt") and "112" in message["text"]
    assert [b["payload"] for b in message["buttons"]] == [
        '/faq{"faq_key": "tell_parents_about_melding"}',
        '/faq{"faq_key": "talk_parents_first"}',
        '/faq{"faq_key": "skip_parent_talk"}',
        "/start_case",
    ]

    clicked = {**guessed, "entities": [{"entity": "faq_key", "value": "order_of_steps"}]}
    dispatcher, _ = await run(ActionFaq(), tracker("tracker_faq", latest_message=clicked), domain)
    assert "Bij acuut gevaar" in all_text(dispatcher)  # the button names the entry: answered (with its exception)


async def test_a_likely_faq_is_answered_as_a_question_back_with_two_alternatives(store, domain, monkeypatch) -> None:
    """Retrieval's entry is likely (above LIKELY_THRESHOLD, below the answer bar): "Bedoelt u: ...?"
    with its short answer and source, the two other nearest entries and the case start as buttons."""
    faq_hits(monkeypatch, retrieval.LIKELY_THRESHOLD)
    asked = faq_message("zeg ik het de ouders als de school naar vt gaat?", intent_confidence=0.9)
    dispatcher, events = await run(ActionFaq(), tracker("tracker_faq", latest_message=asked), domain)
    message = dispatcher.messages[0]
    assert message["text"].startswith("Bedoelt u: Moet ik de ouders vertellen dat we gaan melden?\n")
    assert "vooraf" in message["text"] and "Bron:" in message["text"] and "??" not in message["text"]
    assert [b["payload"] for b in message["buttons"]] == [
        '/faq{"faq_key": "talk_parents_first"}',
        '/faq{"faq_key": "skip_parent_talk"}',
        "/start_case",
    ]
    assert events == []


async def test_a_worry_told_in_words_that_reached_an_faq_starts_the_case(store, domain) -> None:
    """ "moeder ruikt elke ochtend naar drank" tells what happens: the case starts (step-1 guidance) and
    the guessed FAQ is offered as a move, never answered as if it were the reply."""
    told = faq_message("moeder ruikt elke ochtend naar drank", intent_confidence=1.0)
    dispatcher, _ = await run(ActionFaq(), tracker("tracker_faq", latest_message=told), domain)
    assert "Stap 1" in all_text(dispatcher) and "112" in all_text(dispatcher)
    offered = [b["payload"] for m in dispatcher.messages for b in m.get("buttons", [])]
    # The entry retrieval chose for the message (e.g. parent_under_influence) comes first among the
    # moves, unanswered.
    assert offered[0].startswith('/faq{"faq_key": ')
    chosen = json.loads(offered[0][len("/faq") :])["faq_key"]
    assert steps.faq_answer(chosen, profile())[0][:40] not in all_text(dispatcher)


async def test_a_worry_that_reached_an_faq_while_a_case_is_open_asks_whether_it_is_the_same_pupil(
    store, domain
) -> None:
    """ "Mijn leerling heeft striemen op zijn rug" with a case open is a worry, not a question: the same
    question as action_start_case asks, and no FAQ text as if it were the reply."""
    sender = tracker("tracker_faq").sender_id
    store.cases.create(sender, "symbio", "Leerling TEST")
    told = faq_message("Mijn leerling heeft striemen op zijn rug", intent_confidence=0.72)
    dispatcher, _ = await run(ActionFaq(), tracker("tracker_faq", latest_message=told), domain)
    assert "dezelfde leerling?" in all_text(dispatcher) and "Leerling TEST" in all_text(dispatcher)
    assert "/new_case" in payloads(dispatcher)
    assert steps.faq_answer("signalenlijst", profile())[0][:40] not in all_text(dispatcher)


async def test_session_start_restores_role_and_case_from_the_store(store, domain) -> None:
    store.users.upsert("fixture-teacher", organisation_id="symbio", role="ib")
    case = store.cases.create("fixture-teacher", "symbio", "Leerling TEST")
    _, events = await run(ActionSessionStart(), tracker("tracker_progress_consulted"), domain)
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert slots["role"] == "ib" and slots["case_id"] == case.id and slots["case_step"] == 1
    assert events[0]["event"] == "session_started" and events[-1]["name"] == "action_listen"


async def test_session_start_lists_open_follow_ups_with_a_button_to_tick_each_off(store, domain) -> None:
    case = store.cases.create("fixture-teacher", "symbio", "Leerling TEST")
    overdue = store.followups.add(case.id, "vt_feedback", date.today() - timedelta(days=2), "Veilig Thuis laat ...")
    dispatcher, _ = await run(ActionSessionStart(), tracker("tracker_progress_consulted"), domain)
    message = dispatcher.messages[0]
    assert message["text"].startswith("Welkom terug. Openstaande afspraken:")
    assert "(verlopen): Veilig Thuis laat ..." in message["text"]
    assert message["buttons"] == [
        {
            "title": f"Gedaan: afspraak van {overdue.due_on:%d-%m}",
            "payload": f'/complete_followup{{"followup_id": "{overdue.id}"}}',
        }
    ]


async def test_fallback_always_offers_options_and_reverts_the_message(store, domain) -> None:
    dispatcher, events = await run(ActionFallback(), tracker("tracker_progress_consulted"), domain)
    assert len(dispatcher.messages[0]["buttons"]) >= 3
    assert events == [{"event": "rewind", "timestamp": None}]  # else the core fallback repeats itself


@pytest.mark.parametrize(
    "text,expected",
    [("stap 4", 4), ("stap vier", 4), ("Stap 1", 1), ("stap vijf", 5), ("stap 9", None), ("geen", None)],
)
def test_step_from_text(text: str, expected: Any) -> None:
    assert step_from_text(text) == expected


# --- the conversation as staff have it (issue 12) ------------------------------------------------

ROLE_QUESTION = "utter_ask_case_start_form_role"


def asks_role(dispatcher: CollectingDispatcher) -> bool:
    return any(m.get("response") == ROLE_QUESTION for m in dispatcher.messages)


def said(
    text: str,
    intent: str,
    confidence: float = 0.95,
    entities: Any = (),
    role: Any = None,
    bot_texts: Any = (),
    sender: str = "fixture-teacher",
) -> Tracker:
    """A tracker right after the user said ``text``; ``bot_texts`` are the bot's earlier messages."""
    message = {"text": text, "intent": {"name": intent, "confidence": confidence}, "entities": list(entities)}
    events = [{"event": "action", "name": "action_listen"}]
    events += [{"event": "bot", "text": t, "data": {}} for t in bot_texts]
    events += [{"event": "user", "text": text, "parse_data": message}]
    return tracker(
        "tracker_worried_teacher",
        latest_message=message,
        events=events,
        sender_id=sender,
        slots={"role": role, "case_id": None, "requested_slot": None},
    )


def payloads(dispatcher: CollectingDispatcher) -> List[str]:
    return [b["payload"] for m in dispatcher.messages for b in m.get("buttons", [])]


@pytest.mark.parametrize(
    "text",
    [
        "Mijn leerling heeft striemen op zijn rug",
        "een leerling vertelde me net dat haar oom aan haar zit",
        "een meisje is al drie weken niet op school geweest en de ouders nemen niet op",
    ],
)
async def test_a_described_concern_gets_step_1_guidance_first_and_the_role_after_it(store, domain, text) -> None:
    form = ValidateCaseStartForm()
    assert await form.required_slots(["role"], CollectingDispatcher(), said(text, "start_case"), domain) == []
    dispatcher, events = await run(ActionStartCase(), said(text, "start_case"), domain)
    texts = [m.get("text") or "" for m in dispatcher.messages]
    guidance_at = next(i for i, t in enumerate(texts) if "Stap 1" in t)
    role_at = next(i for i, m in enumerate(dispatcher.messages) if m.get("response") == ROLE_QUESTION)
    assert guidance_at < role_at == len(texts) - 1
    assert store.cases.open_case("fixture-teacher").step == 1


async def test_a_generic_worry_asks_the_role_first(store, domain) -> None:
    form = ValidateCaseStartForm()
    tracker_ = said("ik maak me zorgen over een leerling", "start_case")
    assert await form.required_slots(["role"], CollectingDispatcher(), tracker_, domain) == ["role"]
    known = said("ik maak me zorgen over een leerling", "start_case", role="ib")
    assert await form.required_slots(["role"], CollectingDispatcher(), known, domain) == []


async def test_the_role_is_taken_from_the_identity_and_not_asked(store, domain) -> None:
    store.users.upsert("fixture-teacher", organisation_id="symbio", role="support_staff")
    tracker_ = said("ik zag brandwonden op zijn arm", "start_case")
    assert await ValidateCaseStartForm().required_slots(["role"], CollectingDispatcher(), tracker_, domain) == []
    dispatcher, events = await run(ActionStartCase(), tracker_, domain)
    assert not asks_role(dispatcher) and "Stap 1" in all_text(dispatcher)
    assert {"event": "slot", "name": "role", "value": "support_staff", "timestamp": None} in events


async def test_a_role_stated_with_a_concern_starts_the_case_without_asking_the_role(store, domain) -> None:
    text = "Ik ben gymdocent en een jongen heeft blauwe plekken op zijn benen"
    tracker_ = said(text, "inform_role", entities=[{"entity": "role", "value": "teacher"}], role="teacher")
    dispatcher, _ = await run(ActionSetRole(), tracker_, domain)
    assert "Stap 1" in all_text(dispatcher) and not asks_role(dispatcher)
    assert store.cases.open_case("fixture-teacher") is not None
    assert store.users.get("fixture-teacher").role == "teacher"


async def test_a_new_case_gives_guidance_and_asks_the_role_only_after_it(store, domain) -> None:
    dispatcher, _ = await run(ActionNewCase(), said("het gaat om een andere leerling", "new_case"), domain)
    assert "Stap 1" in dispatcher.messages[-2]["text"] and dispatcher.messages[-1]["response"] == ROLE_QUESTION
    assert store.cases.open_case("fixture-teacher") is not None


async def test_the_same_pupil_question_is_not_asked_twice_in_a_row(store, domain) -> None:
    store.cases.create("fixture-teacher", "symbio", "Leerling TEST")
    first, _ = await run(
        ActionStartCase(), said("een leerling vertelde dat haar oom aan haar zit", "start_case", role="teacher"), domain
    )
    question = first.messages[-1]["text"]
    assert "dezelfde leerling" in question
    again, _ = await run(
        ActionStartCase(), said("hij past vanavond weer op", "start_case", role="teacher", bot_texts=[question]), domain
    )
    text = all_text(again)
    assert "dezelfde leerling?" not in text and "Stap 1" in text and "Leerling TEST" in text
    assert "/new_case" in payloads(again)  # a way out when the guess was wrong


async def test_a_question_is_never_recorded_as_progress(store, domain) -> None:
    case = store.cases.create("fixture-teacher", "symbio", "Leerling TEST")
    store.cases.update_progress(case.id, 5, ["signals_recorded"])
    text = "We hebben besloten te melden. Hoe doe ik dat?"
    dispatcher, _ = await run(ActionProgress(), said(text, "progress_reported", 0.97, role="teacher"), domain)
    stored = store.cases.open_case("fixture-teacher")
    assert "reported_to_vt" not in stored.done and stored.step == 5
    assert "Genoteerd" not in all_text(dispatcher)
    assert '/progress_reported{"milestone": "reported_to_vt"}' in payloads(dispatcher)


@pytest.mark.parametrize(
    "text,intent,confidence",
    [
        ("We hebben besloten te melden", "progress_reported", 0.99),
        ("we gaan morgen met de ouders praten", "progress_parents_talk", 0.99),
        ("de melding is rond", "progress_reported", 0.55),
    ],
)
async def test_an_unsure_report_is_confirmed_with_a_button_before_it_is_stored(
    store, domain, text, intent, confidence
) -> None:
    store.cases.create("fixture-teacher", "symbio", "Leerling TEST")
    dispatcher, _ = await run(ActionProgress(), said(text, intent, confidence, role="teacher"), domain)
    assert store.cases.open_case("fixture-teacher").done == ()
    confirm = dispatcher.messages[-1]["buttons"][0]["payload"]
    assert confirm.startswith(f"/{intent}{{")

    clicked = said(
        confirm,
        intent,
        1.0,
        entities=[
            {
                "entity": "milestone",
                "value": json.loads(confirm.partition("{")[1] + confirm.partition("{")[2])["milestone"],
            }
        ],
        role="teacher",
    )
    dispatcher, _ = await run(ActionProgress(), clicked, domain)
    assert store.cases.open_case("fixture-teacher").done != () and "Genoteerd" in all_text(dispatcher)


async def test_case_status_shows_the_step_and_what_is_done(store, domain) -> None:
    case = store.cases.create("fixture-teacher", "symbio", "Leerling TEST")
    store.cases.update_progress(case.id, 3, ["signals_recorded", "colleague_consulted"])
    dispatcher, _ = await run(
        ActionCaseStatus(), said("Hoe staat mijn casus ervoor?", "case_status", role="teacher"), domain
    )
    text = all_text(dispatcher)
    assert "Leerling TEST" in text and "stap 3" in text.lower()
    assert "Signalen vastgelegd" in text and "Collega geraadpleegd" in text
    assert "/ask_next_step" in payloads(dispatcher)


async def test_my_cases_lists_every_case_and_never_starts_one(store, domain) -> None:
    store.cases.create("fixture-teacher", "symbio", "Leerling AAAA")
    store.cases.create("fixture-teacher", "symbio", "Leerling BBBB")
    dispatcher, events = await run(ActionCaseStatus(), said("Mijn casussen", "case_status", role="teacher"), domain)
    text = all_text(dispatcher)
    assert "Leerling AAAA" in text and "Leerling BBBB" in text
    assert len(store.cases.list_for("fixture-teacher", "teacher", "symbio")) == 2
    none, _ = await run(ActionCaseStatus(), said("Mijn casussen", "case_status", sender="nobody"), domain)
    assert "nog geen casus" in all_text(none) and store.cases.open_case("nobody") is None


async def test_english_gets_a_dutch_reply_with_the_danger_line_and_the_case_button(store, domain) -> None:
    dispatcher, events = await run(
        ActionEnglish(), said("I am worried about a pupil, what should I do?", "english"), domain
    )
    text = all_text(dispatcher)
    assert "Nederlands" in text and "112" in text and "0800-2000" in text
    assert "/start_case" in payloads(dispatcher) and events == []


async def test_dutch_words_misread_as_english_get_the_fallback_options(store, domain) -> None:
    dispatcher, events = await run(ActionEnglish(), said("hoi, even een vraag", "english"), domain)
    assert "Nederlands" not in all_text(dispatcher) and dispatcher.messages[0]["buttons"]
    assert events == [{"event": "rewind", "timestamp": None}]
