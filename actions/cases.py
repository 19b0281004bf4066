"""Case actions: thin adapters between the tracker and the use cases of ``bot/cases.py``.

"Mijn casussen", switching to another case, closing one (the reason is asked with a form, so the
situations and a knowledge question interrupt it like any other form) and reopening one. Every rule
and every text is in ``bot/cases.py``; these classes read the tracker, call one use case and turn its
``Reply`` into messages and slot events.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import NOTE_FORM, current_case, guarded, organisation, say_reply, store
from bot import cases

CASE_REF = "case_ref"  # entity of the case buttons (a case id; only ever in payloads)
SLOT_REASON = "close_reason"


def case_ref(tracker: Tracker) -> Optional[str]:
    return next(tracker.get_latest_entity_values(CASE_REF), None)


def in_note(tracker: Tracker) -> bool:
    """The note form is running: its note belongs to the current case."""
    return tracker.active_loop_name == NOTE_FORM


def no_open_case() -> cases.Reply:
    return cases.Reply("U heeft geen open casus om af te sluiten.", (cases.LIST_CHOICE, cases.REOPEN_CHOICE))


class ActionListCases(Action):
    """'Mijn casussen': the open cases as buttons."""

    def name(self) -> Text:
        return "action_list_cases"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        current = current_case(tracker)
        return say_reply(
            dispatcher,
            cases.list_cases(store(), tracker.sender_id, current.id if current else None, in_note=in_note(tracker)),
        )


class ActionSwitchCase(Action):
    """A click on a case in the list: the conversation continues with that case."""

    def name(self) -> Text:
        return "action_switch_case"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        current = current_case(tracker)
        reply = cases.switch_case(
            store(), tracker.sender_id, case_ref(tracker), current.id if current else None, in_note=in_note(tracker)
        )
        return say_reply(dispatcher, reply)


class ValidateCloseCaseForm(FormValidationAction):
    """The reason, clicked or typed ('hij is verhuisd'); anything else asks again and closes nothing.
    Without an open case there is nothing to ask: the form ends and action_close_case says so."""

    def name(self) -> Text:
        return "validate_close_case_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        return list(domain_slots) if current_case(tracker) is not None else []

    def validate_close_reason(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        clicked_for, case = case_ref(tracker), current_case(tracker)
        if clicked_for is not None and (case is None or clicked_for != case.id):
            dispatcher.utter_message(text="Die knop hoort bij een andere casus; er is niets afgesloten.")
            return {SLOT_REASON: None}
        reason = cases.read_reason(str(value or ""))
        if reason is None:
            dispatcher.utter_message(
                text="Die reden herken ik niet. Kies een van de knoppen; de casus is nog niet afgesloten."
            )
        return {SLOT_REASON: reason}


class ActionAskCloseReason(Action):
    """The form's question, naming the case it closes."""

    def name(self) -> Text:
        return "action_ask_close_reason"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        case = current_case(tracker)
        say_reply(dispatcher, cases.ask_close_reason(case) if case is not None else no_open_case())
        return []


class ActionCloseCase(Action):
    """After the form: close the conversation's case with the reason given; the slot is emptied again."""

    def name(self) -> Text:
        return "action_close_case"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        case, reason = current_case(tracker), tracker.get_slot(SLOT_REASON)
        if case is None or reason not in cases.REASONS:
            return say_reply(dispatcher, no_open_case()) + [SlotSet(SLOT_REASON, None)]
        return say_reply(dispatcher, cases.close_case(store(), tracker.sender_id, case, reason)) + [
            SlotSet(SLOT_REASON, None)
        ]


class ActionStopCloseCase(Action):
    """'Nee, toch niet' while the reason is asked: nothing is closed."""

    def name(self) -> Text:
        return "action_stop_close_case"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        case = current_case(tracker)
        text = "de casus blijft open, er is niets afgesloten."
        say_reply(
            dispatcher,
            cases.Reply(
                cases.prefixed(case.pseudonym, text) if case else text.capitalize(),
                (cases.NEXT_CHOICE, cases.LIST_CHOICE),
            ),
        )
        return [ActiveLoop(None), SlotSet("requested_slot", None), SlotSet(SLOT_REASON, None)]


class ActionReopenCase(Action):
    """'Casus heropenen': the closed cases to choose from, or the one clicked, reopened."""

    def name(self) -> Text:
        return "action_reopen_case"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        reply = cases.reopen_case(
            store(), tracker.sender_id, tracker.get_slot("role"), organisation().id, case_ref(tracker)
        )
        return say_reply(dispatcher, reply)
