"""Conversation-wide actions: the session start that restores the case, and the fallback."""
from __future__ import annotations

from datetime import date
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.common import DANGER_LINE, current_case, guarded, payload, store
from actions.notes import say_open_followups
from actions.steps import case_slots


class ActionSessionStart(Action):
    """A new session (new day, new device, after a restart) continues the stored case.

    The case store is the source of truth, so the role, the case and the open follow-ups are read from
    it rather than carried in the tracker; this is what makes a case survive a switch from Teams to web.
    """

    def name(self) -> Text:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        events: List[EventType] = [SessionStarted()]
        events.extend(await self._restore(dispatcher, tracker, domain))
        events.append(ActionExecuted("action_listen"))
        return events

    @guarded
    async def _restore(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        repos = store()
        user = repos.users.get(tracker.sender_id)
        events: List[EventType] = [SlotSet("role", user.role)] if user and user.role else []
        case = current_case(tracker)
        events.extend(case_slots(case))
        if case is not None:
            due = repos.followups.open_for(tracker.sender_id, date.today())
            if due:
                say_open_followups(dispatcher, due, "Welkom terug. Openstaande afspraken:")
        return events


class ActionFallback(Action):
    """Unclear or off-topic input: say so briefly and offer the main routes, never silence.

    It is also RulePolicy's core fallback (no policy sure of the next action). Like Rasa's own
    action_default_fallback it reverts the user's message: otherwise the unchanged state predicts the
    fallback again, and the teacher got the same answer ten times in a row.
    """

    def name(self) -> Text:
        return "action_fallback"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(
            text="Dat begrijp ik niet goed. Waarmee kan ik u helpen? " + DANGER_LINE,
            buttons=[
                {"title": "Ik maak me zorgen over een leerling", "payload": payload("start_case")},
                {"title": "Wat moet ik nu doen?", "payload": payload("ask_next_step")},
                {"title": "Moet ik altijd melden?", "payload": payload("faq", faq_key="meldcode_vs_meldplicht")},
                {"title": "Wat kunt u allemaal?", "payload": payload("help")},
            ],
        )
        return [UserUtteranceReverted()]
