"""Glue shared by every action: payloads and buttons, the deployment profile, the case store, and a
guard that turns any crash into a useful Dutch answer.

Why a guard: a teacher in a stressful moment must never be left without a reply. If an action fails
(database down, a bug), the user still hears what to do in danger and that nothing was lost; the
exception goes to the log without message text.
"""

from __future__ import annotations

import abc
import functools
import json
import logging
from datetime import date
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Sequence, Set, Text, Tuple

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import cases, contacts, profiles, retrieval, steps
from bot.notes import NOTE_KINDS
from bot.profiles import Organisation
from bot.reply import Reply
from bot.store.db import repositories
from bot.store.repositories import CaseRecord, FollowUpRecord, Repositories
from bot.texts import DANGER_LINE, question

logger = logging.getLogger(__name__)

APOLOGY = (
    "Sorry, er ging bij mij iets mis. Wat u al had ingevoerd is niet verloren; probeer het zo nog eens. " + DANGER_LINE
)

Button = Dict[str, str]
RunFn = Callable[..., Awaitable[List[Dict[str, Any]]]]

PENDING_SLOT = "contacts_pending"
WHO_TO_CALL, REGION = "who_to_call", "region"
# Actions after which a place name can be the answer to our question (ambiguity buttons come from the second).
ASKING_ACTIONS = frozenset({"action_who_to_call", "action_region"})
# Who sets an entity that came with a button payload (`/ask_region{"place": ...}`).
PAYLOAD_EXTRACTOR = "RegexMessageHandler"


def payload(intent: str, **entities: str) -> str:
    """A button payload in Rasa's ``/intent{"entity": "value"}`` form."""
    return f"/{intent}{json.dumps(entities, ensure_ascii=False)}" if entities else f"/{intent}"


def guarded(run: RunFn) -> RunFn:
    """Decorate an action's ``run``: on any exception, log it and still answer the user."""

    @functools.wraps(run)
    async def wrapper(self: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]):
        try:
            return await run(self, dispatcher, tracker, domain)
        except Exception:  # noqa: BLE001 - the whole point is to catch everything
            logger.exception("action %s failed (sender hash %s)", self.name(), hash(tracker.sender_id))
            dispatcher.utter_message(text=APOLOGY)
            return []

    return wrapper


def organisation() -> Organisation:
    """The deployment's organisation profile (env MELDWIJZER_PROFILE, default national)."""
    return profiles.profile()


def store() -> Repositories:
    return repositories()


def current_case(tracker: Tracker) -> Optional[CaseRecord]:
    """The user's open case from the case store (the source of truth): the one the conversation switched
    to (slot ``case_id``, see bot/cases.py) while it is theirs and open, else their newest open case."""
    return store().cases.open_case(tracker.sender_id, preferred_id=tracker.get_slot("case_id"))


def say_reply(dispatcher: CollectingDispatcher, reply: Reply) -> List[Dict[str, Any]]:
    """Send a use case's reply (bot/reply.py) and return the slot events it asks for."""
    buttons = [{"title": c.title, "payload": payload(c.intent, **dict(c.entities))} for c in reply.choices]
    dispatcher.utter_message(text=reply.text, buttons=buttons)
    if reply.links:
        dispatcher.utter_message(attachment={"type": "download", "files": list(reply.links)})
    return [SlotSet(name, value) for name, value in reply.slots.items()]


def latest_intent(tracker: Tracker) -> str:
    """The intent of the user's last message as the NLU (or a button payload) set it."""
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def sources_line(labels: Iterable[str]) -> str:
    unique = list(dict.fromkeys(labels))
    return f"Bron: {'; '.join(unique)}." if unique else ""


# --- moves (ids from bot.steps) -> buttons --------------------------------------------------------

# Which intent a milestone's button uses. Milestones without an own intent ride on the intent of the
# same kind of progress, with the milestone as entity (buttons bypass the NLU anyway).
PROGRESS_INTENTS = {
    "signals_recorded": "progress_signals",
    "colleague_consulted": "progress_consulted",
    "care_team_discussed": "progress_consulted",
    "school_leader_informed": "progress_consulted",
    "vt_advice_asked": "progress_vt_advice",
    "vt_feedback_received": "progress_vt_advice",
    "parents_talked": "progress_parents_talk",
    "melding_discussed": "progress_parents_talk",
    "pupil_talked": "progress_pupil_talk",
    "talk_skipped": "progress_talk_skipped",
    "reported_to_vt": "progress_reported",
    "help_organised": "progress_help_started",
    "effects_followed": "progress_help_started",
}
# What a typed progress message means when no milestone entity came with it.
MILESTONE_BY_INTENT = {
    "progress_signals": "signals_recorded",
    "progress_consulted": "colleague_consulted",
    "progress_vt_advice": "vt_advice_asked",
    "progress_parents_talk": "parents_talked",
    "progress_pupil_talk": "pupil_talked",
    "progress_talk_skipped": "talk_skipped",
    "progress_reported": "reported_to_vt",
    "progress_help_started": "help_organised",
}


def note_button_title(kind: str) -> str:
    """The button that starts a note of ``kind``, named after the kind (``bot.notes.NOTE_KINDS`` is the one list)."""
    return f"{NOTE_KINDS[kind].label} vastleggen"


def _move_button(move: str) -> Optional[Tuple[str, str, str]]:
    """(title, payload, intent) for a move id, or None for an unknown kind of move."""
    kind, _, arg = move.partition(":")
    if kind == "progress" and arg in PROGRESS_INTENTS:
        intent = PROGRESS_INTENTS[arg]
        return f"Gedaan: {steps.milestone_label(arg)}", payload(intent, milestone=arg), intent
    if kind == "step":
        return f"Naar stap {arg}", payload("go_to_step", step_number=f"stap {arg}"), "go_to_step"
    if kind == "weighing":
        return "Afwegingsvragen doorlopen", payload("start_weighing"), "start_weighing"
    if kind == "note" and arg in NOTE_KINDS:
        return note_button_title(arg), payload("record_note", note_kind=arg), "record_note"
    if kind == "contacts":
        return "Wie moet ik bellen?", payload("ask_who_to_call"), "ask_who_to_call"
    if kind == "faq":
        return steps.faq_question(arg), payload("faq", faq_key=arg), "faq"
    return None


def intent_names(domain: Dict[str, Any]) -> Set[str]:
    """Intent names of the domain the Rasa server sent with the request (strings or one-key dicts)."""
    return {i if isinstance(i, str) else next(iter(i)) for i in (domain or {}).get("intents", [])}


def buttons_for(moves: Sequence[str], domain: Dict[str, Any], limit: int = 4) -> List[Button]:
    """Buttons for the moves whose intent this assistant knows (capabilities can be switched off)."""
    known = intent_names(domain)
    result: List[Button] = []
    for move in moves:
        button = _move_button(move)
        if button and button[2] in known:
            result.append({"title": button[0], "payload": button[1]})
    return result[:limit]


# --- the case in the conversation ----------------------------------------------------------------


def case_slots(case: Optional[CaseRecord]) -> List[EventType]:
    """Slots mirror the case store for the dialogue; the store stays the source of truth."""
    return [SlotSet(name, value) for name, value in cases.case_slot_values(case).items()]


def say_no_case(dispatcher: CollectingDispatcher) -> None:
    dispatcher.utter_message(
        text="U heeft nog geen casus. Vertel me dat u zich zorgen maakt over een leerling, dan beginnen we bij stap 1.",
        buttons=[{"title": "Ik maak me zorgen over een leerling", "payload": payload("start_case")}],
    )


class CaseAction(Action, abc.ABC):
    """Base for actions about the user's open case: without a case, offer to start one.

    Abstract, so rasa_sdk does not register it as an action of its own.
    """

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        case = current_case(tracker)
        if case is None:
            say_no_case(dispatcher)
            return []
        return self.on_case(dispatcher, tracker, domain, case)

    @abc.abstractmethod
    def on_case(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any], case: CaseRecord
    ) -> List[EventType]:
        """Answer for the user's open case."""


# --- knowledge questions and special situations, also inside forms --------------------------------


START_CASE_BUTTON = {"title": "Ik maak me zorgen over een leerling", "payload": payload("start_case")}


def faq_button(key: str) -> Dict[str, str]:
    """A button that answers FAQ entry ``key``; its title is the entry's question."""
    return {"title": steps.faq_question(key), "payload": payload("faq", faq_key=key)}


def did_you_mean(topic: str) -> str:
    """ "Bedoelt u: <title>?", the short answer in the organisation's words and its source: how a topic
    is answered when it is likely, not certain, what the message asks (the fallback, a likely FAQ)."""
    short = retrieval.short_answer(topic, organisation())
    return f"Bedoelt u: {question(short.title)}\n{short.text}\n{sources_line(short.sources)}"


def ask_which_question(dispatcher: CollectingDispatcher, keys: Sequence[str]) -> None:
    """A guessed FAQ is offered, not answered: a worry told in words the model never saw ("moeder ruikt
    elke ochtend naar drank") must not get an answer to another question as if it were the reply. The
    nearest entries are the buttons, with the way into a case."""
    dispatcher.utter_message(
        text="Ik weet niet zeker wat u bedoelt. Kies wat het beste past. " + DANGER_LINE,
        buttons=[*(faq_button(k) for k in keys), START_CASE_BUTTON],
    )


def _faq_choice(tracker: Tracker) -> Optional[retrieval.FaqChoice]:
    """The FAQ entry a typed knowledge question asks for, by the retrieval index over the knowledge;
    None when a button named the entry."""
    entity = next(tracker.get_latest_entity_values("faq_key"), None)
    if entity in steps.faq_ids():
        return None
    return retrieval.choose_faq(tracker.latest_message.get("text") or "")


def faq_key(tracker: Tracker) -> Optional[str]:
    """The FAQ id: from a button's entity, else from retrieval (see ``bot.retrieval.choose_faq``)."""
    entity = next(tracker.get_latest_entity_values("faq_key"), None)
    if entity in steps.faq_ids():
        return entity
    choice = _faq_choice(tracker)
    return choice.key if choice is not None else None


ACUTE_DANGER = "acute_danger"
NOTE_FORM = "note_form"  # the form that records a dossier note (domain.yml)
SITUATION_INTENTS = frozenset(steps.REQUIRED_SITUATIONS)  # each special situation is its own intent


def say_faq_answer(dispatcher: CollectingDispatcher, tracker: Tracker, key: Optional[str]) -> None:
    """The answer to FAQ entry ``key`` in the organisation's words with its sources; a likely entry is
    answered as "Bedoelt u: ...?" with its alternatives, a guessed entry is offered instead
    (``ask_which_question``), and no entry at all asks to rephrase."""
    choice = _faq_choice(tracker) if key is not None else None
    if key is None:
        dispatcher.utter_message(text="Die vraag kan ik niet goed plaatsen. Kunt u hem anders formuleren?")
    elif choice is not None and choice.key == key and choice.certainty == retrieval.GUESS:
        ask_which_question(dispatcher, [key, *choice.alternatives])
    elif choice is not None and choice.key == key and choice.certainty == retrieval.LIKELY:
        dispatcher.utter_message(
            text=did_you_mean(f"{retrieval.FAQ}:{key}"),
            buttons=[*(faq_button(k) for k in choice.alternatives), START_CASE_BUTTON],
        )
    else:
        answer, sources = steps.faq_answer(key, organisation())
        dispatcher.utter_message(text=f"{answer}\n{sources_line(sources)}")


def say_situation(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> None:
    """The urgent reply of the message's special situation (acute danger when it names none): the first
    line names the number to call. Deliberately not @guarded with a generic apology: even on a failure
    the danger numbers go first. Shared by action_situation and the forms that a danger interrupts."""
    intent = latest_intent(tracker)
    situation_id = intent if intent in SITUATION_INTENTS else ACUTE_DANGER
    try:
        reply = steps.situation(situation_id, organisation())
        text = "\n".join([*reply.lines, sources_line(reply.sources)])
    except Exception:  # noqa: BLE001
        logger.exception("situation %s failed", situation_id)
        text = DANGER_LINE
    dispatcher.utter_message(text=text, buttons=situation_buttons(tracker, domain))


def situation_buttons(tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[str, str]]:
    """After the urgent reply, a way back into the normal flow (cheap when the net fired by mistake)."""
    if tracker.active_loop_name:
        return []  # the interrupted form asks its question again right after this message
    follow_up = (
        ("Verder met mijn casus", payload("ask_next_step"))
        if tracker.get_slot("case_id")
        else ("Casus starten volgens de meldcode", payload("start_case"))
    )
    return [{"title": follow_up[0], "payload": follow_up[1]}, *buttons_for(["contacts:who_to_call"], domain)]


# --- follow-ups ----------------------------------------------------------------------------------

MAX_FOLLOWUP_BUTTONS = 4


def followup_line(followup: FollowUpRecord, today: date) -> str:
    """'- vandaag: ...', '- 27-11-2026 (verlopen): ...': the date first, as in a diary."""
    if followup.due_on == today:
        when = "vandaag"
    else:
        when = f"{followup.due_on:%d-%m-%Y}" + (" (verlopen)" if followup.due_on < today else "")
    return f"- {when}: {followup.description}"


def followup_buttons(followups: Sequence[FollowUpRecord]) -> List[Dict[str, str]]:
    """One 'Gedaan' button per follow-up (the first few, due first), to tick it off with one click."""
    return [
        {
            "title": f"Gedaan: afspraak van {f.due_on:%d-%m}",
            "payload": payload("complete_followup", followup_id=str(f.id)),
        }
        for f in followups[:MAX_FOLLOWUP_BUTTONS]
    ]


def say_open_followups(dispatcher: CollectingDispatcher, followups: Sequence[FollowUpRecord], intro: str) -> None:
    today = date.today()
    dispatcher.utter_message(
        text="\n".join([intro] + [followup_line(f, today) for f in followups]), buttons=followup_buttons(followups)
    )


# The contacts question ("In welke gemeente staat uw school?"): read by the contacts actions and by the
# fallback, which hands a missed answer to action_region.


def named_place(tracker: Tracker) -> Optional[str]:
    """The place the user named: a button's entity, else found in the text, else DIET's entity.

    Text extraction beats DIET because it tolerates typos and never cuts a name in half; a button's
    entity (set by Rasa's RegexMessageHandler from the payload) beats both: it is the user's choice.
    """
    entities = [e for e in tracker.latest_message.get("entities") or [] if e.get("entity") == "place"]
    chosen = next((e["value"] for e in entities if e.get("extractor") == PAYLOAD_EXTRACTOR), None)
    found = contacts.extract_place(tracker.latest_message.get("text") or "") if chosen is None else None
    return chosen or found or next((e["value"] for e in entities), None)


def previous_action(tracker: Tracker) -> Optional[str]:
    """The last action the bot ran before the user's latest message (action_listen not counted)."""
    seen_user = False
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            seen_user = True
        elif seen_user and event.get("event") == "action" and event.get("name") != "action_listen":
            return event.get("name")
    return None


def pending_question(tracker: Tracker) -> Optional[str]:
    """What the user asked when the bot asked for the school's gemeente, if that was the last question."""
    pending = tracker.get_slot(PENDING_SLOT)
    return pending if pending and previous_action(tracker) in ASKING_ACTIONS else None


def answers_our_question(tracker: Tracker) -> bool:
    """Whether the latest message names a place right after we asked where the school is.

    Why: the reply to "In welke gemeente staat uw school?" is often one word ("zwolle", "Goor"), which the
    intent classifier may not read as ask_region; the question we just asked is the context that makes it
    an answer, so the fallback hands such a message to ``ActionRegion`` instead of offering topics."""
    return pending_question(tracker) is not None and named_place(tracker) is not None
