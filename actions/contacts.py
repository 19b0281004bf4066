"""Contact actions: thin adapters between the tracker, the user store and ``bot.contacts``.

Which region a place belongs to, whom to call and what the sociale kaart says are decided in
``bot/contacts.py``. These classes find the place (a button's entity, else the message text), read the
school's gemeente from the user store, and turn the answer into messages with buttons.

The follow-up "In welke gemeente staat uw school?" is not a form: the slot ``contacts_pending`` records
what the user asked (``who_to_call`` or ``region``), and a place name in the very next turn (intent
ask_region) answers it. Any other message simply takes its own route, so acute danger always wins and
nobody is stuck in a question.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    PAYLOAD_EXTRACTOR,
    PENDING_SLOT,
    REGION,
    WHO_TO_CALL,
    current_case,
    guarded,
    named_place,
    organisation,
    payload,
    pending_question,
    sources_line,
    store,
)
from bot import contacts, contacts_usecase
from bot.profiles import Organisation

contacts.warm_up()  # spaCy loads in the background while the action server starts, not at the first lookup


def say(dispatcher: CollectingDispatcher, answer: contacts.ContactAnswer, intro: Optional[str] = None) -> None:
    """One message: the answer's lines and sources, and a button per suggested place."""
    buttons = [{"title": s, "payload": payload("ask_region", place=s)} for s in answer.suggestions]
    lines = ([intro] if intro else []) + list(answer.lines) + [sources_line(answer.sources)]
    dispatcher.utter_message(text="\n".join(line for line in lines if line), buttons=buttons)


def ask_school_place(dispatcher: CollectingDispatcher, asked_for: str) -> List[EventType]:
    dispatcher.utter_message(text=contacts.SCHOOL_QUESTION)
    return [SlotSet(PENDING_SLOT, asked_for)]


def stored_gemeente(tracker: Tracker) -> Optional[str]:
    return contacts_usecase.school_gemeente(store(), tracker.sender_id)


def case_step(tracker: Tracker) -> Optional[int]:
    case = current_case(tracker)
    return case.step if case else None


def say_who_to_call(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    org: Organisation,
    region: Optional[contacts.Region],
    intro: Optional[str] = None,
) -> None:
    answer = contacts.who_to_call(case_step(tracker), org, region, tracker.get_slot("role"))
    say(dispatcher, answer, intro)


def remember_school_place(tracker: Tracker, org: Organisation, resolution: contacts.Resolution) -> str:
    return contacts_usecase.remember_school_place(
        store(), tracker.sender_id, org.id, tracker.get_slot("role"), resolution
    )


class ActionRegion(Action):
    """'Welk Veilig Thuis hoort bij Hengelo?', a bare place name, or the answer to our school question."""

    def name(self) -> Text:
        return "action_region"

    @staticmethod
    def _is_answer(tracker: Tracker) -> bool:
        """A button the bot offered for our question is an answer; typed text must state the school's place."""
        entities = tracker.latest_message.get("entities") or []
        if any(e.get("extractor") == PAYLOAD_EXTRACTOR for e in entities):
            return True
        return contacts.states_school_place(tracker.latest_message.get("text") or "")

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        org = organisation()
        place = named_place(tracker)
        pending = pending_question(tracker)
        if place is None:
            school = contacts.school_place(org, stored_gemeente(tracker))
            if school is None:
                return ask_school_place(dispatcher, pending or REGION)
            say(dispatcher, contacts.region_answer(school, org))
            return [SlotSet(PENDING_SLOT, None)]
        resolution = contacts.resolve_gemeente(place)
        if resolution.status != "found":
            say(dispatcher, contacts.region_answer(resolution, org))
            return [SlotSet(PENDING_SLOT, pending)]  # a suggestion button still answers the same question
        if pending is None:
            say(dispatcher, contacts.region_answer(resolution, org))
            return [SlotSet(PENDING_SLOT, None)]
        if not self._is_answer(tracker):
            # "En in Sneek?" right after our question: answer it, store nothing, keep our question open.
            say(dispatcher, contacts.region_answer(resolution, org))
            dispatcher.utter_message(text=contacts.SCHOOL_QUESTION)
            return [SlotSet(PENDING_SLOT, pending)]
        intro = f"Genoteerd: uw school staat in {remember_school_place(tracker, org, resolution)}."
        if pending == WHO_TO_CALL:
            say_who_to_call(dispatcher, tracker, org, resolution.region, intro)
        else:
            say(dispatcher, contacts.region_answer(resolution, org), intro)
        return [SlotSet(PENDING_SLOT, None)]


class ActionWhoToCall(Action):
    """'Wie moet ik bellen?': 112, the school's own people, Veilig Thuis and the step's local partners.

    Without a known region the national number still comes first, and the bot asks where the school is.
    """

    def name(self) -> Text:
        return "action_who_to_call"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        org = organisation()
        place = named_place(tracker)
        named = contacts.resolve_gemeente(place) if place else None
        resolution = (
            named if named and named.status == "found" else contacts.school_place(org, stored_gemeente(tracker))
        )
        region = resolution.region if resolution else None
        say_who_to_call(dispatcher, tracker, org, region)
        if region is None:
            return ask_school_place(dispatcher, WHO_TO_CALL)
        return [SlotSet(PENDING_SLOT, None)]


class ActionSocialMap(Action):
    """'Wat is het nummer van het zorgloket?': the school's sociale kaart and the national lines."""

    def name(self) -> Text:
        return "action_social_map"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        say(dispatcher, contacts.social_map_answer(tracker.latest_message.get("text") or "", organisation()))
        return [SlotSet(PENDING_SLOT, None)]
