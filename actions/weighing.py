"""The afwegingskader in the dialogue: thin adapters between the tracker, the case store and ``bot.weighing``.

Every branch, text and number comes from ``bot/weighing.py`` + ``knowledge/weighing.yml``; these classes
read the tracker, replay the case's stored trace, write each answer the moment it is given and turn the
result into messages.

Loading, storing an answer or the help plan, and what they record on the case (milestones, follow-ups)
are the use cases in ``bot/weighing_usecase.py``; these adapters keep the dialogue: which question is
asked, the buttons, the slots.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any, Dict, List, Mapping, Optional, Text, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    APOLOGY,
    DANGER_LINE,
    Button,
    buttons_for,
    current_case,
    guarded,
    latest_intent,
    organisation,
    payload,
    case_slots,
    faq_key,
    say_faq_answer,
    sources_line,
    store,
)
from bot import weighing as w
from bot import weighing_usecase
from bot.privacy import masker_for, masker_state
from bot.store.repositories import CaseRecord

logger = logging.getLogger(__name__)

LATER = "later"
RESTART = "restart"
PLAN = "plan"
PLAN_SLOTS = {"weighing_term": "term", "weighing_casemanager": "casemanager", "weighing_tasks": "tasks"}
SLOT_QUESTION, SLOT_PLANNING, SLOT_ANSWER = "weighing_question", "weighing_planning", "weighing_answer"
# The FAQ entry about the kader itself: inside the weighing, the current question's explanation answers it.
KADER_FAQ = "afwegingskader_2019"


def missing_plan_slots(state: w.WeighingState) -> List[str]:
    return [slot for slot, key in PLAN_SLOTS.items() if not getattr(state, key)]


# --- reading the user's reply --------------------------------------------------------------------


def button_value(tracker: Tracker) -> Optional[str]:
    return next(tracker.get_latest_entity_values("weighing_value"), None)


def read_answer(tracker: Tracker, text: str) -> Optional[str]:
    """ja/nee/twijfel, LATER, or None when the reply cannot be placed (the buttons are offered again)."""
    clicked = button_value(tracker)
    if clicked in w.ANSWERS or clicked == LATER:
        return clicked
    parsed = w.parse_answer(text)
    if parsed is not None:
        return parsed
    return LATER if w.is_postponed(text) else None


def read_plan_part(tracker: Tracker, text: str) -> str:
    """A free text part of the help plan, or LATER."""
    if button_value(tracker) == LATER or w.is_postponed(text):
        return LATER
    return text.strip()


# --- rendering -----------------------------------------------------------------------------------


def answer_buttons(question: w.Question) -> List[Button]:
    labels = w.answer_labels()
    buttons = [{"title": labels[a], "payload": payload("weighing_reply", weighing_value=a)} for a in question.allowed]
    return buttons + [{"title": "Later verder", "payload": payload("weighing_reply", weighing_value=LATER)}]


def outcome_buttons(state: w.WeighingState, result: w.Outcome, domain: DomainDict) -> List[Button]:
    """Why this outcome, completing the help plan, and the next moves of step 5 this assistant knows."""
    buttons = [{"title": "Waarom deze uitkomst?", "payload": payload("weighing_why")}]
    if result.waiting_for_q5 and missing_plan_slots(state):
        buttons.append({"title": "Hulpplan aanvullen", "payload": payload("start_weighing", weighing_value=PLAN)})
    if not w.is_decided(result.id):
        buttons.append({"title": "Opnieuw wegen", "payload": payload("start_weighing", weighing_value=RESTART)})
    moves = ["note:melding"] if result.melding_needed else ["note:vervolg"]
    return buttons + buttons_for([*moves, "contacts:who_to_call"], domain, limit=2)


def outcome_text(result: w.Outcome) -> str:
    lines = [f"Uitkomst: {result.title}", *(f"- {line}" for line in result.lines), "Bellen:"]
    lines += [f"- {call}" for call in result.call]
    lines.append(sources_line(result.sources))
    return "\n".join(line for line in lines if line)


def say_outcome(dispatcher: CollectingDispatcher, case: CaseRecord, state: w.WeighingState, domain: DomainDict) -> None:
    """The outcome with actions, numbers and both decisions; before a melding the talk with parents; reminders."""
    org = organisation()
    result = w.outcome(state, org)
    if result is None:  # the answers do not lead to an outcome yet: nothing to announce
        return
    dispatcher.utter_message(text=outcome_text(result), buttons=outcome_buttons(state, result, domain))
    if result.melding_needed:
        talk = w.parental_talk_advice(org)
        dispatcher.utter_message(text="\n".join(line if line.endswith(":") else f"- {line}" for line in talk))
    reminders = weighing_usecase.open_followups(store(), case, date.today())
    if reminders:
        dispatcher.utter_message(
            text="Ik herinner u hieraan:\n" + "\n".join(f"- {f.due_on:%d-%m-%Y}: {f.description}" for f in reminders)
        )


def say_paused(dispatcher: CollectingDispatcher, n: int) -> None:
    dispatcher.utter_message(
        text=f"Uw antwoorden zijn bewaard. De afweging gaat later verder bij vraag {n}.",
        buttons=[{"title": "Verder met de afweging", "payload": payload("start_weighing")}],
    )


def reset_slots(question: Optional[int], planning: bool, plan: Mapping[str, Optional[str]]) -> List[EventType]:
    events = [SlotSet(SLOT_QUESTION, question), SlotSet(SLOT_PLANNING, planning), SlotSet(SLOT_ANSWER, None)]
    return events + [SlotSet(slot, plan.get(key)) for slot, key in PLAN_SLOTS.items()]


# --- actions -------------------------------------------------------------------------------------


def attach_case(dispatcher: CollectingDispatcher, tracker: Tracker) -> CaseRecord:
    """The open case, or a new one at step 4 so the weighing is recorded (and said so)."""
    attached = weighing_usecase.attach_case(
        store(), current_case(tracker), tracker.sender_id, organisation().id, tracker.get_slot("role")
    )
    if attached.opened:
        dispatcher.utter_message(
            text=(
                f"U had nog geen casus. Ik leg deze afweging vast in een nieuwe casus: '{attached.case.pseudonym}'. "
                "Noem geen naam van de leerling.\n" + DANGER_LINE
            )
        )
    return attached.case


def start_position(
    state: w.WeighingState, intent: str, choice: Optional[str]
) -> Tuple[w.WeighingState, Optional[int], str]:
    """(state to continue, question to ask or None for the help plan, intro) for a start request."""
    expected = w.expected_question(state)
    if w.is_waiting(state):
        if choice == PLAN and missing_plan_slots(state):
            return state, None, "Vul het hulpplan aan. Wat u nog niet weet, kunt u later invullen."
        if choice != RESTART:
            return (
                state,
                expected,
                (
                    "De hulp loopt. Is de afgesproken termijn voorbij? Beantwoord dan vraag "
                    f"{expected}. Is het nog te vroeg, kies dan 'Later verder'."
                ),
            )
    elif expected is not None and state.answers and choice != RESTART:
        return state, expected, f"We gaan verder waar u was gebleven: vraag {expected}."
    intro = "We lopen de vijf vragen van het afwegingskader door, een voor een. Twijfelt u? Kies dan 'Twijfel'."
    if intent == "weighing_term_passed":
        intro = "Bij deze casus loopt geen hulp waarvoor vraag 5 klaarstaat. " + intro
    return w.WeighingState(), 1, intro


class ActionWeighingStart(Action):
    """Start, resume or continue (question 5, help plan) the weighing of the user's case."""

    def name(self) -> Text:
        return "action_weighing_start"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        case = attach_case(dispatcher, tracker)
        state, question, intro = start_position(
            weighing_usecase.load(store(), case), latest_intent(tracker), button_value(tracker)
        )
        dispatcher.utter_message(text=intro)
        return case_slots(case) + reset_slots(question, question is None, w.help_plan(state))


class ActionAskWeighingAnswer(Action):
    """Ask the current question in the organisation's words, with Ja / Nee / Twijfel and 'later'."""

    def name(self) -> Text:
        return "action_ask_weighing_answer"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        question = w.question(int(tracker.get_slot(SLOT_QUESTION) or 1), organisation())
        dispatcher.utter_message(
            text=f"Vraag {question.number} van 5: {question.text}",
            buttons=[*answer_buttons(question), {"title": "Uitleg", "payload": payload("weighing_explain")}],
        )
        return []


class ValidateWeighingForm(FormValidationAction):
    """Each answer is recorded as it comes; the form asks the next question, the help plan, or ends."""

    def name(self) -> Text:
        return "validate_weighing_form"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        # Not @guarded: on a failure the form must end (requested_slot None), not ask the next slot with
        # the unvalidated text; action_weighing_done then says where the weighing stands.
        try:
            return await super().run(dispatcher, tracker, domain)
        except Exception:  # noqa: BLE001 - the user must still get an answer
            logger.exception("validate_weighing_form failed (sender hash %s)", hash(tracker.sender_id))
            dispatcher.utter_message(text=APOLOGY)
            return [SlotSet(SLOT_QUESTION, None), SlotSet(SLOT_PLANNING, False), SlotSet("requested_slot", None)]

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        if tracker.get_slot(SLOT_QUESTION):
            return [SLOT_ANSWER]
        if tracker.get_slot(SLOT_PLANNING):
            return list(PLAN_SLOTS)
        return []

    async def validate_weighing_answer(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        n = int(tracker.get_slot(SLOT_QUESTION) or 1)
        reply = read_answer(tracker, str(value or ""))
        if reply is None:
            dispatcher.utter_message(
                text="Dat antwoord kan ik niet plaatsen. Kies Ja, Nee of Twijfel, of vraag om uitleg."
            )
            return {SLOT_ANSWER: None}
        if reply == LATER:
            return {SLOT_ANSWER: LATER, SLOT_QUESTION: None, SLOT_PLANNING: False}
        case = attach_case(dispatcher, tracker)
        stored = w.WeighingState() if n == 1 else weighing_usecase.load(store(), case)  # 1 starts a new run
        if w.expected_question(stored) != n:
            # Answered elsewhere in the meantime (another device): ask what the stored trace expects now.
            dispatcher.utter_message(
                text="Uw afweging is intussen verder gegaan. Ik stel de vraag die nu aan de beurt is."
            )
            return {SLOT_ANSWER: None, SLOT_QUESTION: w.expected_question(stored) or 1}
        answer = next(a for a in w.ANSWERS if a == reply)  # LATER returned above
        state = weighing_usecase.answer_question(store(), case, stored, n, answer, organisation(), date.today())
        if w.is_waiting(state):
            dispatcher.utter_message(
                text="De hulp kan starten. Leg nu het hulpplan vast; wat u nog niet weet, kunt u later invullen."
            )
        following = w.next_question(state)
        return {
            SLOT_ANSWER: None if following else reply,
            SLOT_QUESTION: following,
            SLOT_PLANNING: w.is_waiting(state),
            **{slot: None for slot in PLAN_SLOTS},
        }

    def _plan_part(self, slot: str, value: Any, tracker: Tracker) -> Dict[Text, Any]:
        """The plan part, masked like a note (names and identifiers out, the case's placeholders kept)."""
        part, case_id = read_plan_part(tracker, str(value or "")), tracker.get_slot("case_id")
        if part == LATER:
            return {slot: part}
        masked, known = masker_for(tracker.get_slot("case_masker"), case_id, tracker.get_slot("pseudonym") or "").mask(
            part
        )
        return {slot: masked.text, "case_masker": masker_state(case_id, known)}

    async def validate_weighing_term(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._plan_part("weighing_term", value, tracker)

    async def validate_weighing_casemanager(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._plan_part("weighing_casemanager", value, tracker)

    async def validate_weighing_tasks(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return self._plan_part("weighing_tasks", value, tracker)


class ActionWeighingDone(Action):
    """After the form: store the help plan given, then say the outcome, or where the weighing paused."""

    def name(self) -> Text:
        return "action_weighing_done"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        case = current_case(tracker)
        if case is None:
            return []
        repos = store()
        state = weighing_usecase.load(repos, case)
        if tracker.get_slot(SLOT_PLANNING) and w.is_waiting(state):
            given = {key: tracker.get_slot(slot) for slot, key in PLAN_SLOTS.items()}
            state = weighing_usecase.save_help_plan(
                repos, case, state, {k: v for k, v in given.items() if v != LATER}, organisation(), date.today()
            )
        expected = w.expected_question(state)
        if w.outcome_id(state) is None:
            say_paused(dispatcher, expected or 1)
        else:
            say_outcome(dispatcher, case, state, domain)
        return case_slots(case) + reset_slots(None, False, {})


class ActionWeighingExplain(Action):
    """'Uitleg', 'wat betekent structurele onveiligheid?': the current question explained; the form then asks again."""

    def name(self) -> Text:
        return "action_weighing_explain"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        org = organisation()
        if say_current_explanation(dispatcher, tracker):
            return []
        questions = [w.question(i, org) for i in range(1, 6)]
        dispatcher.utter_message(
            text="Het afwegingskader heeft vijf vragen:\n" + "\n".join(f"{q.number}. {q.text}" for q in questions),
            buttons=[{"title": "Afwegingsvragen doorlopen", "payload": payload("start_weighing")}],
        )
        return []


def say_current_explanation(dispatcher: CollectingDispatcher, tracker: Tracker) -> bool:
    """Explain the question asked now, if the weighing form is asking one; False otherwise."""
    n = tracker.get_slot(SLOT_QUESTION)
    if not (tracker.active_loop_name and n):
        return False
    question = w.question(int(n), organisation())
    dispatcher.utter_message(
        text=f"Uitleg bij vraag {question.number}:\n{question.explanation}\n{sources_line(question.sources)}"
    )
    return True


class ActionWeighingFaq(Action):
    """A knowledge question inside the weighing. 'Wat betekent structurele onveiligheid?' is a question
    about the kader (FAQ afwegingskader_2019): the explanation of the question asked now answers it
    better than the general FAQ text. Every other FAQ is answered as usual; the form then asks again."""

    def name(self) -> Text:
        return "action_weighing_faq"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        if faq_key(tracker) == KADER_FAQ and say_current_explanation(dispatcher, tracker):
            return []
        say_faq_answer(dispatcher, tracker, faq_key(tracker))
        return []


class ActionWeighingWhy(Action):
    """'Waarom moest ik melden?': the stored trace of the case's last weighing, question by question."""

    def name(self) -> Text:
        return "action_weighing_why"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        case = current_case(tracker)
        state = weighing_usecase.load(store(), case) if case is not None else w.WeighingState()
        if not state.answers:
            dispatcher.utter_message(
                text="Voor uw casus is nog geen afweging vastgelegd.",
                buttons=[{"title": "Afwegingsvragen doorlopen", "payload": payload("start_weighing")}],
            )
            return []
        dispatcher.utter_message(text=w.explain_trace(state.answers, organisation()))
        return []
