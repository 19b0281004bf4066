"""The aandachtsfunctionaris's overview in the chat: a thin adapter over ``bot.overview_usecase``.

"Overzicht van alle casussen" lists the school's open cases; its buttons come back to the same action
with an entity: ``overview_filter`` ("Alleen achterstallig") or ``overview_case`` ("Dossier <pseudoniem>").
Who may see it is decided by the store (the school's role grant), never by the role slot.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import guarded, organisation, say_reply, store
from bot import overview_usecase
from plugins.channels import WEB_CHANNEL


def entity(tracker: Tracker, name: str) -> Optional[str]:
    return next(tracker.get_latest_entity_values(name), None)


class ActionShowOverview(Action):
    def name(self) -> Text:
        return "action_show_overview"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        web = tracker.get_latest_input_channel() == WEB_CHANNEL
        reply = overview_usecase.answer(
            store(),
            tracker.sender_id,
            organisation(),
            entity(tracker, overview_usecase.FILTER_ENTITY),
            entity(tracker, overview_usecase.CASE_ENTITY),
            web,
        )
        return say_reply(dispatcher, reply)
