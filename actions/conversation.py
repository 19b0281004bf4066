"""Conversation-wide actions: the session start that restores the case, a message in English, and the
fallback (which also takes a place name given in answer to the contacts question)."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import (
    ActionExecuted,
    EventType,
    FollowupAction,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
)
from rasa_sdk.executor import CollectingDispatcher

from actions.common import (
    DANGER_LINE,
    START_CASE_BUTTON,
    answers_our_question,
    case_slots,
    did_you_mean,
    guarded,
    intent_names,
    payload,
    say_open_followups,
    say_reply,
    store,
)
from bot import cases, conversation, retrieval

logger = logging.getLogger(__name__)
REGION_ACTION = "action_region"
retrieval.warm_up()  # the fallback's index builds in the background while the action server starts


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
    async def _restore(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> List[EventType]:
        restored = cases.restore_session(store(), tracker.sender_id, tracker.get_slot("case_id"), date.today())
        events: List[EventType] = [SlotSet("role", restored.role)] if restored.role else []
        if restored.notice is not None:
            say_reply(dispatcher, restored.notice)
        events.extend(case_slots(restored.case))
        if restored.followups:
            say_open_followups(dispatcher, restored.followups, "Welkom terug. Openstaande afspraken:")
        return events


class ActionFallback(Action):
    """Unclear or off-topic input: answer the nearest topic of the knowledge if retrieval is confident
    ("Bedoelt u: ...?" with the short answer, its source and up to two alternatives), else offer the
    three nearest topics; never silence, never a generic menu when the knowledge has something near.

    It is also RulePolicy's core fallback (no policy sure of the next action). Like Rasa's own
    action_default_fallback it reverts the user's message: otherwise the unchanged state predicts the
    fallback again, and the teacher got the same answer ten times in a row. It records nothing: a
    message the bot did not understand is never progress.
    """

    def name(self) -> Text:
        return "action_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        # Not @guarded: whatever fails, the message is still reverted and the user still gets options.
        text = tracker.latest_message.get("text") or ""
        try:
            if answers_our_question(tracker):  # "zwolle" after "In welke gemeente staat uw school?"
                return [FollowupAction(REGION_ACTION)]  # the message stays: action_region reads it next
            suggestion = retrieval.suggest(text) if not text.startswith("/") else None
            say_suggestion(dispatcher, suggestion, domain)
        except Exception:  # noqa: BLE001 - the fallback itself must never fail
            logger.exception("the fallback failed")
            say_suggestion(dispatcher, None, domain)
        return [UserUtteranceReverted()]


GENERIC_BUTTONS = [
    START_CASE_BUTTON,
    {"title": "Wat moet ik nu doen?", "payload": payload("ask_next_step")},
    {"title": "Moet ik altijd melden?", "payload": payload("faq", faq_key="meldcode_vs_meldplicht")},
    {"title": "Wat kunt u allemaal?", "payload": payload("help")},
]


def topic_button(hit: retrieval.Hit, domain: Dict[Text, Any]) -> Optional[Dict[str, str]]:
    """A button that opens the topic: the FAQ answer, the step's guidance, or the situation's route."""
    known = intent_names(domain)
    if hit.kind == retrieval.FAQ and "faq" in known:
        return {"title": hit.title, "payload": payload("faq", faq_key=hit.key)}
    if hit.kind == retrieval.STEP and "go_to_step" in known:
        return {"title": hit.title, "payload": payload("go_to_step", step_number=f"stap {hit.key}")}
    if hit.kind == retrieval.SITUATION and hit.key in known:
        return {"title": hit.title, "payload": payload(hit.key)}
    return None


def say_suggestion(
    dispatcher: CollectingDispatcher, suggestion: Optional[retrieval.Suggestion], domain: Dict[Text, Any]
) -> None:
    """The fallback's reply for what retrieval found (None: nothing, e.g. a typed payload)."""
    if suggestion is None or not (suggestion.answer or suggestion.others):
        dispatcher.utter_message(
            text="Dat begrijp ik niet goed. Waarmee kan ik u helpen? " + DANGER_LINE, buttons=GENERIC_BUTTONS
        )
        return
    buttons = [b for b in (topic_button(h, domain) for h in suggestion.others) if b]
    if suggestion.answer is None:
        dispatcher.utter_message(
            text="Dat begrijp ik niet goed. Gaat uw vraag over een van deze onderwerpen? " + DANGER_LINE,
            buttons=[*buttons, START_CASE_BUTTON],
        )
        return
    route = topic_button(suggestion.answer, domain) if suggestion.answer.kind == retrieval.SITUATION else None
    dispatcher.utter_message(
        text=did_you_mean(suggestion.answer.topic),
        buttons=[*([route] if route else []), *buttons, START_CASE_BUTTON],
    )


def say_dutch_only(dispatcher: CollectingDispatcher) -> None:
    """The reply to English (``bot.conversation.is_english``): Meldwijzer works in Dutch, the danger
    numbers (also in English: the writer may not read Dutch) and the way into a case."""
    dispatcher.utter_message(
        text="Meldwijzer werkt in het Nederlands. Stel uw vraag in het Nederlands, dan help ik u stap voor "
        "stap.\n" + DANGER_LINE + "\n(Meldwijzer works in Dutch. In danger call 112; for advice call "
        "Veilig Thuis 0800-2000.)",
        buttons=[
            {"title": "Ik maak me zorgen over een leerling", "payload": payload("start_case")},
            {"title": "Wat kunt u allemaal?", "payload": payload("help")},
        ],
    )


class ActionEnglish(Action):
    """A message the NLU read as English. Not a fallback: the user was understood, only not in the
    language the protocol is written in. Should the classifier have said "english" for Dutch words,
    the text rule disagrees and the user gets the ordinary fallback options instead."""

    def name(self) -> Text:
        return "action_english"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        if not conversation.is_english(tracker.latest_message.get("text") or ""):
            return await ActionFallback().run(dispatcher, tracker, domain)
        say_dutch_only(dispatcher)
        return []
