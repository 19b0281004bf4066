"""Learning mode actions: thin adapters between the tracker, ``bot.learning`` and the practice store.

Practice never touches the real case: it lives in its own ``practice_`` slots and the ``practice_form``;
the real case stays in the case store exactly as it was, and "stop met oefenen" shows it again.
Only finished cases are stored (anonymised per organisation in the report); the tour is not stored.
"""

from __future__ import annotations

import random
from typing import Any, Dict, List, Optional, Set, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import current_case, guarded, organisation, payload, store
from bot import learning, learning_usecase
from bot.learning import MARKER, PracticeState

FORM = "practice_form"
CHOICE_SLOT = "practice_choice"
FINISHED = "klaar"  # practice_choice value that completes the form after the last question
STOP_BUTTON = {"title": "Stop met oefenen", "payload": payload("stop_practice")}
# Practice slots and their empty values: cleared at every start and stop so no earlier state leaks in.
EMPTY_SLOTS: Dict[str, Any] = {
    "practice_case_id": None,
    "practice_question": None,
    "practice_answers": [],
    CHOICE_SLOT: None,
}


def state_from(tracker: Tracker) -> Optional[PracticeState]:
    """The practice state mirrored in the slots, or None when the user is not practising."""
    case_id = tracker.get_slot("practice_case_id")
    if not case_id:
        return None
    answers = tuple((int(q), int(o)) for q, o in tracker.get_slot("practice_answers") or [])
    return PracticeState(
        case_id=case_id, question_index=int(tracker.get_slot("practice_question") or 0), answers=answers
    )


def state_slots(state: PracticeState) -> Dict[str, Any]:
    return {
        "practice_case_id": state.case_id,
        "practice_question": float(state.question_index),
        "practice_answers": [list(pair) for pair in state.answers],
    }


def slot_events(values: Dict[str, Any]) -> List[EventType]:
    return [SlotSet(name, value) for name, value in values.items()]


def option_buttons(state: PracticeState) -> List[Dict[str, str]]:
    """One button per option (payload carries the option number, as typed answers may) plus stop."""
    question = learning.current_question(state)
    buttons = (
        [
            {"title": f"{i}. {option.text}", "payload": payload("practice_answer", practice_option=str(i))}
            for i, option in enumerate(question.options, start=1)
        ]
        if question
        else []
    )
    return buttons + [STOP_BUTTON]


def done_ids(tracker: Tracker) -> Set[str]:
    return learning_usecase.done_cases(store(), tracker.sender_id)


def back_to_real_case(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    """Stopping practice shows the real case where it was (the store never saw the practice)."""
    case = current_case(tracker)
    if case is None:
        dispatcher.utter_message(
            text="U bent terug in Meldwijzer. U heeft geen lopende casus.",
            buttons=[{"title": "Ik maak me zorgen over een leerling", "payload": payload("start_case")}],
        )
        return
    dispatcher.utter_message(
        text=f"U bent terug bij uw eigen casus '{case.pseudonym}', in stap {case.step}.",
        buttons=[{"title": "Wat moet ik nu doen?", "payload": payload("ask_next_step")}],
    )


class ActionStartPractice(Action):
    """'Ik wil oefenen': pick a new case (a button may name one, or a theme) and start the form."""

    def name(self) -> Text:
        return "action_start_practice"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        done = done_ids(tracker)
        theme = next(tracker.get_latest_entity_values("practice_theme"), None)
        wanted = next(tracker.get_latest_entity_values("practice_case"), None)
        case = self._chosen(wanted) or self._picked(done, theme)
        if case is None:
            dispatcher.utter_message(text=f"{MARKER}er zijn geen oefencasussen beschikbaar.")
            return slot_events(EMPTY_SLOTS)
        note = learning.pick_note(case, done, None, None, theme) if not wanted else None
        dispatcher.utter_message(text="\n".join(t for t in (note, learning.case_intro(case)) if t))
        return slot_events({**EMPTY_SLOTS, **state_slots(learning.start(case))})

    @staticmethod
    def _chosen(case_id: Optional[str]) -> Optional[learning.PracticeCase]:
        try:
            return learning.case_by_id(case_id) if case_id else None
        except KeyError:
            return None

    @staticmethod
    def _picked(done: Set[str], theme: Optional[str]) -> Optional[learning.PracticeCase]:
        """A single school type in the profile narrows the choice; more types (SO and SBO) do not."""
        types = organisation().school_types
        school_type = types[0] if len(types) == 1 else None
        return learning.pick_case(done, None, school_type, theme, random.Random())


class ActionStartTour(Action):
    """'Leg de meldcode uit': the five steps, each with a check question, through the same form."""

    def name(self) -> Text:
        return "action_start_tour"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(
            text=f"{MARKER}ik leg de vijf stappen van de meldcode uit, met bij elke stap een korte controlevraag."
        )
        return slot_events({**EMPTY_SLOTS, **state_slots(learning.start_tour())})


class ActionAskPracticeChoice(Action):
    """The form's question: the current practice question with a button per option."""

    def name(self) -> Text:
        return "action_ask_practice_choice"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        state = state_from(tracker)
        text = learning.prompt(state) if state else None
        if state is None or text is None:
            dispatcher.utter_message(text=f"{MARKER}er is geen open vraag.", buttons=[STOP_BUTTON])
            return []
        dispatcher.utter_message(text=text, buttons=option_buttons(state))
        return []


class ValidatePracticeForm(FormValidationAction):
    """Grades each answer (button or own words) and moves to the next question, or ends the form."""

    def name(self) -> Text:
        return "validate_practice_form"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        return await super().run(dispatcher, tracker, domain)

    async def validate_practice_choice(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        state = state_from(tracker)
        question = learning.current_question(state) if state else None
        if state is None or question is None:
            return {CHOICE_SLOT: FINISHED}
        chosen = learning.match_option(question, str(value))
        if chosen is None:
            dispatcher.utter_message(
                text=f"{MARKER}ik weet niet zeker welk antwoord u bedoelt. "
                "Kies een knop of typ het nummer van uw antwoord."
            )
            return {CHOICE_SLOT: None}
        state, feedback = learning.answer(state, chosen)
        dispatcher.utter_message(text=f"{feedback.text}\nBron: {feedback.source_label}.")
        finished = learning.current_question(state) is None
        return {**state_slots(state), CHOICE_SLOT: FINISHED if finished else None}


class ActionPracticeSummary(Action):
    """End of a case: store the anonymisable result, give the score and offer the next case."""

    def name(self) -> Text:
        return "action_practice_summary"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        state = state_from(tracker)
        if state is None:
            return slot_events(EMPTY_SLOTS)
        result = learning_usecase.finish_practice(store(), tracker.sender_id, organisation().id, state)
        buttons = [STOP_BUTTON]
        if result.next_case_id:
            buttons.insert(
                0, {"title": "Volgende casus", "payload": payload("start_practice", practice_case=result.next_case_id)}
            )
        dispatcher.utter_message(text=result.text, buttons=buttons)
        return slot_events(EMPTY_SLOTS)


class ActionStopPractice(Action):
    """'Stop met oefenen': end practice (an unfinished case is not stored) and show the real case."""

    def name(self) -> Text:
        return "action_stop_practice"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        state = state_from(tracker)
        if state is not None and state.answers:
            dispatcher.utter_message(text=learning.summary(state, done_ids=done_ids(tracker)).text)
        elif state is not None:
            dispatcher.utter_message(text=f"{MARKER}gestopt.")
        back_to_real_case(dispatcher, tracker)
        return slot_events(EMPTY_SLOTS)


class ActionPracticeRealCheck(Action):
    """Danger words during practice: the real-danger reply came first; now ask whether it is real."""

    def name(self) -> Text:
        return "action_practice_real_check"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict) -> List[EventType]:
        dispatcher.utter_message(
            text=(
                "U bent aan het oefenen. Gaat dit over een echte leerling? Kies dan 'Stop met oefenen': "
                "ik help u dan met de echte situatie. Was het een antwoord op de oefenvraag, kies dan "
                "hieronder een knop."
            )
        )
        return []
