"""Learning-mode actions with a CollectingDispatcher, trackers built per test and a real SQLite store."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import common
from actions.learning import (
    FINISHED,
    ActionAskPracticeChoice,
    ActionPracticeRealCheck,
    ActionPracticeSummary,
    ActionStartPractice,
    ActionStopPractice,
    ValidatePracticeForm,
)
from bot import learning
from bot.learning import MARKER
from bot.store.db import repositories

SENDER = "learning-teacher"


@pytest.fixture()
def store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("MELDWIJZER_DB_URL", f"sqlite:///{tmp_path / 'learning.db'}")
    monkeypatch.setenv("MELDWIJZER_PROFILE", "symbio")
    return repositories()


def make_tracker(
    slots: Optional[Dict[str, Any]] = None,
    text: str = "",
    intent: str = "start_practice",
    entities: Optional[List[Dict[str, Any]]] = None,
    loop: Optional[str] = None,
) -> Tracker:
    message = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": entities or []}
    return Tracker.from_dict(
        {
            "sender_id": SENDER,
            "slots": {"role": "teacher", **(slots or {})},
            "latest_message": message,
            "events": [{"event": "user", "text": text, "parse_data": message}],
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": loop} if loop else {},
            "latest_action_name": "action_listen",
        }
    )


def practising(case_id: str, question: int = 0, answers: Optional[List[List[int]]] = None, **kw: Any) -> Tracker:
    slots = {"practice_case_id": case_id, "practice_question": float(question), "practice_answers": answers or []}
    return make_tracker(slots, loop="practice_form", **kw)


async def run(action: Any, tracker: Tracker, domain: Dict[str, Any]):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, domain)
    return dispatcher, {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def texts(dispatcher: CollectingDispatcher) -> List[str]:
    return [m.get("text") or "" for m in dispatcher.messages]


async def test_start_practice_picks_a_new_case_of_the_school_type_and_leaves_the_real_case(store, domain) -> None:
    real = store.cases.create(SENDER, "symbio", "Leerling TEST")
    store.cases.update_progress(real.id, 3, ["signals_recorded", "colleague_consulted"])
    po_ids = {c.id for c in learning.cases() if c.school_type == "PO"}
    for case_id in sorted(po_ids)[:-1]:
        store.practice.add_result(SENDER, "symbio", case_id, 1, 3, ["neglect"])
    dispatcher, slots = await run(ActionStartPractice(), make_tracker(), domain)
    assert slots["practice_case_id"] == sorted(po_ids)[-1]  # the only PO case not done yet
    assert slots["practice_question"] == 0 and slots["practice_answers"] == [] and slots["practice_choice"] is None
    assert texts(dispatcher)[0].startswith(MARKER) and "geen echte leerling" in texts(dispatcher)[0]
    assert not {"case_id", "case_step", "pseudonym"} & set(slots)
    after = store.cases.open_case(SENDER)
    assert (after.step, sorted(after.done)) == (3, ["colleague_consulted", "signals_recorded"])


async def test_start_practice_from_a_next_case_button_takes_that_case(store, domain) -> None:
    tracker = make_tracker(entities=[{"entity": "practice_case", "value": "vo-foto-en-eer"}])
    dispatcher, slots = await run(ActionStartPractice(), tracker, domain)
    assert slots["practice_case_id"] == "vo-foto-en-eer"
    assert "let op" not in texts(dispatcher)[0]  # asked for explicitly: no note about the school type


async def test_ask_shows_the_question_with_a_button_per_option_and_stop(store, domain) -> None:
    dispatcher, _ = await run(ActionAskPracticeChoice(), practising("po-blauwe-plekken", 1), domain)
    message = dispatcher.messages[0]
    question = learning.case_by_id("po-blauwe-plekken").questions[1]
    assert message["text"].startswith(MARKER + "vraag 2 van 3: " + question.text)
    payloads = [b["payload"] for b in message["buttons"]]
    assert payloads == [f'/practice_answer{{"practice_option": "{i}"}}' for i in range(1, 5)] + ["/stop_practice"]
    assert all(p.split("{")[0].lstrip("/") in common.intent_names(domain) for p in payloads)


async def test_validate_grades_a_button_answer_and_moves_on(store, domain) -> None:
    question = learning.case_by_id("po-blauwe-plekken").questions[0]
    chosen = str(question.best_index + 1)
    tracker = practising(
        "po-blauwe-plekken", 0, intent="practice_answer", entities=[{"entity": "practice_option", "value": chosen}]
    )
    dispatcher = CollectingDispatcher()
    result = await ValidatePracticeForm().validate_practice_choice(chosen, dispatcher, tracker, domain)
    assert result == {
        "practice_case_id": "po-blauwe-plekken",
        "practice_question": 1.0,
        "practice_answers": [[0, question.best_index]],
        "practice_choice": None,
    }
    assert texts(dispatcher)[0].startswith(MARKER + "goed gekozen") and "\nBron: protocol" in texts(dispatcher)[0]


async def test_validate_asks_again_when_the_answer_is_unclear(store, domain) -> None:
    dispatcher = CollectingDispatcher()
    result = await ValidatePracticeForm().validate_practice_choice(
        "geen idee eigenlijk", dispatcher, practising("po-blauwe-plekken", 0, text="geen idee eigenlijk"), domain
    )
    assert result == {"practice_choice": None}
    assert "Kies een knop" in texts(dispatcher)[0]


async def test_validate_ends_the_form_after_the_last_question(store, domain) -> None:
    case = learning.case_by_id("vo-filmpje-fietsenstalling")  # two questions
    tracker = practising(case.id, 1, [[0, case.questions[0].best_index]], text="de eerste")
    dispatcher = CollectingDispatcher()
    result = await ValidatePracticeForm().validate_practice_choice("de eerste", dispatcher, tracker, domain)
    assert result["practice_choice"] == FINISHED and result["practice_question"] == 2.0


async def test_summary_stores_the_result_and_offers_the_next_case(store, domain) -> None:
    case = learning.case_by_id("vo-filmpje-fietsenstalling")
    answers = [[0, case.questions[0].best_index], [1, (case.questions[1].best_index + 1) % 3]]
    dispatcher, slots = await run(ActionPracticeSummary(), practising(case.id, 2, answers), domain)
    assert store.practice.done_case_ids(SENDER) == {case.id}
    figures = store.practice.aggregate("symbio")["cases"][0]
    assert (figures["case_id"], figures["average_score"]) == (case.id, 1.0)
    message = dispatcher.messages[0]
    assert message["text"].startswith(MARKER + "u had 1 van de 2")
    assert message["buttons"][0]["payload"].startswith('/start_practice{"practice_case": ')
    assert slots["practice_case_id"] is None and slots["practice_answers"] == []


async def test_the_tour_is_not_stored(store, domain) -> None:
    answers = [[i, step.check.best_index] for i, step in enumerate(learning.tour_steps())]
    dispatcher, _ = await run(ActionPracticeSummary(), practising(learning.TOUR_ID, 5, answers), domain)
    assert store.practice.done_case_ids(SENDER) == set()
    assert "5 van de 5 controlevragen" in texts(dispatcher)[0]


async def test_stop_returns_to_the_real_case_where_it_was_without_storing(store, domain) -> None:
    real = store.cases.create(SENDER, "symbio", "Leerling TEST")
    store.cases.update_progress(real.id, 4, ["signals_recorded"])
    case = learning.case_by_id("po-blauwe-plekken")
    dispatcher, slots = await run(ActionStopPractice(), practising(case.id, 1, [[0, 0]]), domain)
    assert texts(dispatcher)[0].startswith(MARKER)
    assert "'Leerling TEST', in stap 4" in texts(dispatcher)[1]
    assert dispatcher.messages[1]["buttons"][0]["payload"] == "/ask_next_step"
    assert store.practice.done_case_ids(SENDER) == set() and slots["practice_case_id"] is None
    assert store.cases.open_case(SENDER).step == 4


async def test_real_check_asks_whether_it_is_about_a_real_pupil(store, domain) -> None:
    dispatcher, _ = await run(ActionPracticeRealCheck(), practising("po-blauwe-plekken", intent="acute_danger"), domain)
    assert "echte leerling" in texts(dispatcher)[0] and "Stop met oefenen" in texts(dispatcher)[0]
    assert not texts(dispatcher)[0].startswith(MARKER)  # this one is about reality, not practice
