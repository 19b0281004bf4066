"""The weighing actions against tracker JSON fixtures, a CollectingDispatcher and a real SQLite case store.

Each test drives the actions the way the form does (start -> validate per answer -> done) and checks
what ends up in the store: the trace, the milestones and step, the follow-ups, and what the user reads.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.weighing import (
    ActionAskWeighingAnswer,
    ActionWeighingDone,
    ActionWeighingExplain,
    ActionWeighingFaq,
    ActionWeighingStart,
    ActionWeighingWhy,
    ValidateWeighingForm,
)
from bot import weighing as w
from bot.store.db import repositories
from bot.store.repositories import Repositories

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
SENDER = "fixture-weigher"
Slots = Dict[str, Any]


@pytest.fixture()
def store(monkeypatch: pytest.MonkeyPatch) -> Repositories:
    monkeypatch.setenv("MELDWIJZER_PROFILE", "national")
    return repositories()


def fixture(name: str) -> Dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def start_tracker(intent: str = "start_weighing", entities: Optional[List[Dict]] = None) -> Tracker:
    data = fixture("tracker_weighing_start")
    data["latest_message"]["intent"]["name"] = intent
    data["latest_message"]["entities"] = entities or []
    return Tracker.from_dict(data)


def answer_tracker(
    slots: Slots,
    text: str,
    intent: str = "affirm",
    entities: Optional[List[Dict]] = None,
    slot: str = "weighing_answer",
) -> Tracker:
    """One user turn inside the form: the text was extracted into ``slot`` (the trailing slot event)."""
    data = fixture("tracker_weighing_answer")
    data["slots"] = {**slots, "requested_slot": slot, slot: text}
    data["latest_message"].update(text=text, intent={"name": intent, "confidence": 0.9}, entities=entities or [])
    data["events"][0].update(text=text, parse_data=data["latest_message"])
    data["events"][-1].update(name=slot, value=text)
    return Tracker.from_dict(data)


def button(value: str) -> List[Dict[str, str]]:
    return [{"entity": "weighing_value", "value": value}]


async def run(action: Any, tracker: Tracker, domain: Dict[str, Any]) -> Tuple[CollectingDispatcher, List[Dict]]:
    dispatcher = CollectingDispatcher()
    return dispatcher, await action.run(dispatcher, tracker, domain)


def apply(slots: Slots, events: List[Dict]) -> Slots:
    return {**slots, **{e["name"]: e["value"] for e in events if e["event"] == "slot"}}


def all_text(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


def payloads(dispatcher: CollectingDispatcher) -> List[str]:
    return [b["payload"] for m in dispatcher.messages for b in m.get("buttons", [])]


class Conversation:
    """Drives start -> answers -> done like the form does, keeping the slots between turns."""

    def __init__(self, domain: Dict[str, Any]):
        self.domain = domain
        self.slots: Slots = {"role": "teacher"}
        self.said: List[str] = []

    async def start(
        self, intent: str = "start_weighing", entities: Optional[List[Dict]] = None
    ) -> CollectingDispatcher:
        dispatcher, events = await run(ActionWeighingStart(), start_tracker(intent, entities), self.domain)
        self.slots = apply(self.slots, events)
        await self._activate_form()
        return dispatcher

    async def _activate_form(self) -> None:
        """The form calls the validation at activation; it decides what is requested first."""
        data = fixture("tracker_weighing_answer")
        data.update(slots={**self.slots, "requested_slot": None}, events=data["events"][:2], active_loop={})
        _, events = await run(ValidateWeighingForm(), Tracker.from_dict(data), self.domain)
        self.slots = apply(self.slots, events)

    async def say(self, text: str, entities: Optional[List[Dict]] = None) -> CollectingDispatcher:
        slot = self.slots["requested_slot"]
        tracker = answer_tracker(self.slots, text, entities=entities, slot=slot)
        dispatcher, events = await run(ValidateWeighingForm(), tracker, self.domain)
        self.slots = apply({**self.slots, slot: text}, events)
        return dispatcher

    async def done(self) -> CollectingDispatcher:
        tracker = Tracker.from_dict({**fixture("tracker_weighing_why"), "slots": self.slots})
        dispatcher, events = await run(ActionWeighingDone(), tracker, self.domain)
        self.slots = apply(self.slots, events)
        return dispatcher


def trace(store: Repositories) -> List[Tuple[int, str, Optional[str]]]:
    case = store.cases.open_case(SENDER)
    return [(r.question, r.answer, r.outcome) for r in store.weighing.trace(case.id)]


async def test_without_a_case_the_weighing_starts_in_a_new_case_at_step_4(store, domain) -> None:
    talk = Conversation(domain)
    dispatcher = await talk.start()
    case = store.cases.open_case(SENDER)
    assert case is not None and case.step == 4
    assert case.pseudonym in all_text(dispatcher) and "112" in all_text(dispatcher)
    assert talk.slots["weighing_question"] == 1 and talk.slots["weighing_planning"] is False


async def test_the_first_question_is_asked_with_ja_nee_twijfel_later_and_uitleg(store, domain) -> None:
    tracker = Tracker.from_dict({**fixture("tracker_weighing_answer"), "slots": {"weighing_question": 1.0}})
    dispatcher, _ = await run(ActionAskWeighingAnswer(), tracker, domain)
    # The kader asks whether there is a vermoeden at all (issue 11: not a "sterk" vermoeden).
    assert all_text(dispatcher).startswith("Vraag 1 van 5: Heeft u na stap 1 tot en met 3 een vermoeden")
    assert payloads(dispatcher) == [
        '/weighing_reply{"weighing_value": "ja"}',
        '/weighing_reply{"weighing_value": "nee"}',
        '/weighing_reply{"weighing_value": "twijfel"}',
        '/weighing_reply{"weighing_value": "later"}',
        "/weighing_explain",
    ]


async def test_a_typed_yes_is_recorded_and_the_school_leader_milestone_set(store, domain) -> None:
    talk = Conversation(domain)
    await talk.start()
    await talk.say("ja hoor")
    assert trace(store) == [(1, "ja", None)]
    assert talk.slots["weighing_question"] == 2 and talk.slots["weighing_answer"] is None
    assert talk.slots["requested_slot"] == "weighing_answer"  # the form asks again: now question 2
    assert "school_leader_informed" in store.cases.open_case(SENDER).done


async def test_doubt_about_safety_ends_in_melding_with_followup_talk_advice_and_both_decisions(store, domain) -> None:
    talk = Conversation(domain)
    await talk.start()
    await talk.say("ja")
    await talk.say("weet ik niet zeker")
    assert trace(store) == [(1, "ja", None), (2, "twijfel", "melden_acute")]
    assert talk.slots["requested_slot"] is None  # the form ends
    case = store.cases.open_case(SENDER)
    assert case.step == 5 and {"weighing_done", "school_leader_informed"} <= set(case.done)
    followups = store.followups.open_for(SENDER, date.today())
    assert [(f.kind, f.due_on) for f in followups] == [("vt_feedback", w.add_working_days(date.today(), 5))]
    text = all_text(await talk.done())
    assert "Uitkomst: Direct melden bij Veilig Thuis" in text
    assert "0800-2000" in text and "112" in text
    assert "Besluit I" in text and "Besluit II" in text
    assert "12" in text and "overslaan" in text  # the talk with parents/pupil and when it may be skipped
    assert f"{w.add_working_days(date.today(), 5):%d-%m-%Y}" in text


async def test_help_starts_with_an_optional_plan_and_question_five_comes_after_the_term(store, domain) -> None:
    talk = Conversation(domain)
    await talk.start()
    for reply in ("ja", "nee", "ja", "ja"):
        await talk.say(reply)
    assert trace(store)[-1] == (4, "ja", "start_help")
    assert talk.slots["weighing_planning"] is True and talk.slots["requested_slot"] == "weighing_term"
    await talk.say("6 weken")
    await talk.say("/weighing_reply", entities=button("later"))
    await talk.say("de IB'er coördineert, de mentor spreekt de leerling wekelijks")
    assert talk.slots["requested_slot"] is None
    text = all_text(await talk.done())
    assert "Termijn: 6 weken" in text and "Casemanager: nog vast te leggen" in text
    kinds = {f.kind: f.due_on for f in store.followups.open_for(SENDER, date.today())}
    assert kinds == {
        "parents_reached_help": date.today() + timedelta(days=7),
        "help_term_end": date.today() + timedelta(days=42),
    }
    assert store.cases.open_case(SENDER).step == 5

    # Later: only the missing part of the plan is asked.
    await talk.start(entities=button("plan"))
    assert talk.slots["weighing_question"] is None and talk.slots["weighing_planning"] is True
    assert talk.slots["requested_slot"] == "weighing_casemanager" and talk.slots["weighing_term"] == "6 weken"
    await talk.say("de intern begeleider")
    assert "Casemanager: de intern begeleider" in all_text(await talk.done())

    # The term has passed: question 5; no result -> melding, with the plan kept in the trace.
    await talk.start(intent="weighing_term_passed")
    assert talk.slots["weighing_question"] == 5
    await talk.say("nee, niet echt")
    case = store.cases.open_case(SENDER)
    last = store.weighing.trace(case.id)[-1]
    assert (last.question, last.answer, last.outcome) == (5, "nee", "melden_no_result")
    assert last.details["term"] == "6 weken" and last.details["casemanager"] == "de intern begeleider"
    assert "vt_feedback" in {f.kind for f in store.followups.open_for(SENDER, date.today())}


async def test_an_unclear_reply_is_asked_again_and_nothing_is_recorded(store, domain) -> None:
    talk = Conversation(domain)
    await talk.start()
    dispatcher = await talk.say("de moeder was gisteren boos")
    assert "kan ik niet plaatsen" in all_text(dispatcher)
    assert talk.slots["weighing_answer"] is None and talk.slots["requested_slot"] == "weighing_answer"
    assert trace(store) == []


async def test_later_pauses_and_the_weighing_resumes_at_the_same_question(store, domain) -> None:
    talk = Conversation(domain)
    await talk.start()
    await talk.say("ja")
    await talk.say("/weighing_reply", entities=button("later"))
    assert talk.slots["requested_slot"] is None and trace(store) == [(1, "ja", None)]
    assert "vraag 2" in all_text(await talk.done())
    dispatcher = await talk.start()
    assert talk.slots["weighing_question"] == 2 and "vraag 2" in all_text(dispatcher)


async def test_doubt_about_the_suspicion_asks_advice_first_and_is_not_a_finished_weighing(store, domain) -> None:
    talk = Conversation(domain)
    await talk.start()
    await talk.say("twijfel")
    assert trace(store) == [(1, "twijfel", "consult_vt_first")]
    assert "weighing_done" not in store.cases.open_case(SENDER).done
    dispatcher = await talk.done()
    assert '/start_weighing{"weighing_value": "restart"}' in payloads(dispatcher)
    await talk.start(entities=button("restart"))
    await talk.say("nee")
    assert trace(store)[-1] == (1, "nee", "no_action_close")


def open_kinds(store: Repositories) -> Dict[str, date]:
    return {f.kind: f.due_on for f in store.followups.open_for(SENDER, date.today())}


async def test_doubt_about_the_suspicion_reminds_to_weigh_again_until_weighed_again(store, domain) -> None:
    talk = Conversation(domain)
    await talk.start()
    await talk.say("twijfel")
    assert open_kinds(store) == {"weigh_again": w.add_working_days(date.today(), 2)}
    await talk.start(entities=button("restart"))
    await talk.say("nee")
    assert "weigh_again" not in open_kinds(store)


async def test_help_without_a_term_reminds_to_agree_one_until_it_is_agreed(store, domain) -> None:
    talk = Conversation(domain)
    await talk.start()
    for reply in ("ja", "nee", "ja", "ja"):
        await talk.say(reply)
    assert "set_help_term" not in open_kinds(store)  # the plan is asked first
    for _ in range(3):
        await talk.say("/weighing_reply", entities=button("later"))
    await talk.done()
    assert open_kinds(store) == {
        "parents_reached_help": date.today() + timedelta(days=7),
        "set_help_term": w.add_working_days(date.today(), 5),
    }
    await talk.start(entities=button("plan"))
    await talk.say("4 weken")
    for _ in range(2):
        await talk.say("/weighing_reply", entities=button("later"))
    await talk.done()
    assert open_kinds(store) == {
        "parents_reached_help": date.today() + timedelta(days=7),
        "help_term_end": date.today() + timedelta(days=28),
    }


async def test_question_one_no_says_there_is_no_suspicion(store, domain) -> None:
    talk = Conversation(domain)
    await talk.start()
    await talk.say("nee")
    text = all_text(await talk.done())
    assert "Uitkomst: Geen vermoeden" in text and "geen vermoeden" in text and "sterk" not in text


async def test_why_explains_the_stored_trace(store, domain) -> None:
    talk = Conversation(domain)
    await talk.start()
    for reply in ("ja", "nee", "nee"):
        await talk.say(reply)
    dispatcher, _ = await run(ActionWeighingWhy(), Tracker.from_dict(fixture("tracker_weighing_why")), domain)
    text = all_text(dispatcher)
    assert "Uitkomst: Melden bij Veilig Thuis: er is geen effectieve hulp" in text
    assert "Doorslaggevend was vraag 3 (nee)" in text


async def test_why_without_a_weighing_offers_to_start(store, domain) -> None:
    dispatcher, _ = await run(ActionWeighingWhy(), Tracker.from_dict(fixture("tracker_weighing_why")), domain)
    assert payloads(dispatcher) == ["/start_weighing"]


async def test_explanation_during_the_form_is_about_the_current_question(store, domain) -> None:
    data = {
        **fixture("tracker_weighing_answer"),
        "slots": {"weighing_question": 2.0, "requested_slot": "weighing_answer"},
    }
    dispatcher, events = await run(ActionWeighingExplain(), Tracker.from_dict(data), domain)
    assert all_text(dispatcher).startswith("Uitleg bij vraag 2") and "Structurele onveiligheid" in all_text(dispatcher)
    assert events == []  # the place in the form is kept


@pytest.mark.parametrize(
    "key,expected", [("afwegingskader_2019", "Uitleg bij vraag 2"), ("anonymous_advice", "anoniem")]
)
async def test_a_faq_in_the_form_about_the_kader_explains_the_current_question(store, domain, key, expected) -> None:
    data = fixture("tracker_faq")
    data.update(
        slots={"weighing_question": 2.0, "requested_slot": "weighing_answer"}, active_loop={"name": "weighing_form"}
    )
    data["latest_message"]["entities"] = [{"entity": "faq_key", "value": key}]  # the entry's button
    dispatcher, _ = await run(ActionWeighingFaq(), Tracker.from_dict(data), domain)
    assert expected in all_text(dispatcher)
    assert ("Structurele onveiligheid" in all_text(dispatcher)) == (key == "afwegingskader_2019")


async def test_acute_danger_in_the_form_fills_nothing_so_the_form_rejects(store, domain) -> None:
    data = fixture("tracker_weighing_answer")
    data["slots"] = {"weighing_question": 2.0, "requested_slot": "weighing_answer"}
    data["latest_message"].update(text="hij bloedt", intent={"name": "acute_danger", "confidence": 1.0})
    data["events"] = data["events"][:2]  # not_intent: the mapping extracted nothing
    dispatcher, events = await run(ValidateWeighingForm(), Tracker.from_dict(data), domain)
    assert [e for e in events if e["name"] != "requested_slot"] == []
    assert store.cases.open_case(SENDER) is None


def test_replay_of_the_stored_trace_keeps_the_plan_of_the_current_run_only(store) -> None:
    case = store.cases.create(SENDER, "national", "Leerling TEST")
    for n, a, o in ((1, "ja", None), (2, "nee", None), (3, "ja", None), (4, "ja", "start_help")):
        store.weighing.add(case.id, n, a, o, {"entry": "answer"})
    store.weighing.add(case.id, 4, "ja", "start_help", {"entry": "help_plan", "term": "4 weken"})
    state = w.replay(store.weighing.trace(case.id))
    assert state.answers == ((1, "ja"), (2, "nee"), (3, "ja"), (4, "ja")) and state.term == "4 weken"
    store.weighing.add(case.id, 1, "ja", None, {"entry": "answer"})
    state = w.replay(store.weighing.trace(case.id))
    assert state.answers == ((1, "ja"),) and state.term is None


@pytest.mark.parametrize(
    "text,postponed",
    [
        ("Later", True),
        ("sla maar over", True),
        ("weet ik nog niet", True),
        ("stop", True),
        ("de intern begeleider", False),
        ("6 weken", False),
        ("later vandaag bellen we de moeder", False),
    ],
)
def test_is_postponed_only_for_a_whole_postponing_reply(text: str, postponed: bool) -> None:
    assert w.is_postponed(text) is postponed


def test_expected_question_tells_a_finished_weighing_from_a_running_help() -> None:
    assert w.expected_question(w.WeighingState()) == 1
    assert w.expected_question(w.WeighingState(answers=((1, "ja"), (2, "ja")))) is None  # melden_acute: finished
    help_runs = w.WeighingState(answers=((1, "ja"), (2, "nee"), (3, "ja"), (4, "ja")))
    assert w.next_question(help_runs) is None and w.expected_question(help_runs) == 5
