"""Case guidance actions: thin adapters between the tracker and the steps' use cases.

Every rule of the protocol is in ``bot/steps.py`` and ``knowledge/``; what is read from and written to
the case store is in ``bot/steps_usecase.py`` (and ``bot.cases`` for opening a case). These classes read
the tracker, call one of them and turn the result into messages.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, List, Optional, Sequence, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    DANGER_LINE,
    MILESTONE_BY_INTENT,
    NOTE_FORM,
    PROGRESS_INTENTS,
    CaseAction,
    buttons_for,
    case_slots,
    current_case,
    faq_key,
    guarded,
    intent_names,
    latest_intent,
    organisation,
    payload,
    say_faq_answer,
    say_no_case,
    say_situation,
    sources_line,
    store,
)
from bot import cases, conversation, notes, steps, steps_usecase
from bot.cases import case_state
from bot.language.numbers import words_up_to
from bot.profiles import user_role_label
from bot.texts import sentence
from bot.store.repositories import CASE_OPEN, CaseRecord

logger = logging.getLogger(__name__)

STEP_WORDS = words_up_to(5)  # the meldcode has five steps


def say_guidance(
    dispatcher: CollectingDispatcher,
    tracker: Tracker,
    domain: Dict[Text, Any],
    case: CaseRecord,
    intro: Optional[str] = None,
    role: Optional[str] = None,
    state: Optional[steps.CaseState] = None,
    first_moves: Sequence[str] = (),
) -> None:
    """'What do I do now' for the case's step (or ``state``: another step shown without moving the
    case), in the profile's words, for the user's role; ``first_moves`` come before the step's own."""
    advice = steps.guidance(state or case_state(case), organisation(), role or tracker.get_slot("role"))
    lines = [intro] if intro else []
    lines.append(f"Stap {advice.step}: {advice.title} ({case.pseudonym})")
    lines.extend(advice.lines)
    lines.append(sources_line(advice.sources))
    moves = list(dict.fromkeys([*first_moves, *advice.next_moves]))
    dispatcher.utter_message(text="\n".join(line for line in lines if line), buttons=buttons_for(moves, domain))


def known_role(tracker: Tracker) -> Optional[str]:
    """The user's role as this conversation, the user store or this message tells it."""
    return steps_usecase.known_role(
        store(), tracker.sender_id, tracker.get_slot("role"), tracker.latest_message.get("text") or ""
    )


def bot_texts(tracker: Tracker) -> List[str]:
    """The texts the bot sent in this conversation, oldest first."""
    return [event.get("text") or "" for event in tracker.events if event.get("event") == "bot"]


def start_new_case(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any], first_moves: Sequence[str] = ()
) -> List[EventType]:
    """A new case at step 1 with its guidance; an unknown role is asked after it, never instead of it.
    ``first_moves`` lead the buttons (e.g. ``faq:pupil_discloses`` for a concern told as a disclosure)."""
    role = known_role(tracker)
    case = cases.open_case(store(), tracker.sender_id, organisation().id, role)
    dispatcher.utter_message(
        text=(
            "Goed dat u dit serieus neemt. Ik help u stap voor stap volgens de meldcode.\n"
            "Noem geen naam van de leerling: een pseudoniem of initialen is genoeg. "
            f"Deze casus heet voortaan '{case.pseudonym}'.\n" + DANGER_LINE
        )
    )
    say_guidance(dispatcher, tracker, domain, case, role=role, first_moves=first_moves)
    if role is None:
        dispatcher.utter_message(response="utter_ask_case_start_form_role")
    events = case_slots(case)
    if role and role != tracker.get_slot("role"):
        events.append(SlotSet("role", role))
    return events


def same_pupil_question(case: CaseRecord) -> str:
    return f"U heeft al een casus: '{case.pseudonym}', nu in stap {case.step}. Gaat het om dezelfde leerling?"


class ValidateCaseStartForm(FormValidationAction):
    """The role question at a case start is asked first only when there is nothing to answer yet.

    A message that describes a concern ("mijn leerling heeft striemen op zijn rug") ends the form at
    once: action_start_case gives the step-1 guidance and asks the role after it. A role the user store
    already holds for this identity is never asked again.
    """

    def name(self) -> Text:
        return "validate_case_start_form"

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        if known_role(tracker) or conversation.describes_concern(tracker.latest_message.get("text") or ""):
            return []
        return list(domain_slots)


class ActionStartCase(Action):
    """A worried message: continue the open case after asking, or start one at step 1."""

    def name(self) -> Text:
        return "action_start_case"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        case = current_case(tracker)
        if case is None:
            return start_new_case(dispatcher, tracker, domain)
        if notes.requests_note(tracker.latest_message.get("text") or ""):
            # "Signaal vastleggen: hij had striemen op zijn rug" can read as a new worry to the model; it
            # asks for a note in the open case, so the note form reads it (actions.notes.opening_text).
            return [FollowupAction(NOTE_FORM)]
        return ask_same_pupil(dispatcher, tracker, domain, case)


def ask_same_pupil(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any], case: CaseRecord
) -> List[EventType]:
    """A worry told while a case is open: is it the same pupil? Asked once, never in a loop."""
    steps_usecase.remember_role(store(), tracker.sender_id, organisation().id, tracker.get_slot("role"))
    question = same_pupil_question(case)
    if conversation.asked_just_now(question, bot_texts(tracker)):
        # Asked already, and the answer read as a new start: continue the open case, with a way out.
        say_guidance(
            dispatcher,
            tracker,
            domain,
            case,
            intro=f"Ik ga ervan uit dat het om dezelfde leerling gaat ('{case.pseudonym}').",
        )
        dispatcher.utter_message(
            text="Gaat het toch om een andere leerling?",
            buttons=[{"title": "Nee, een andere leerling", "payload": payload("new_case")}],
        )
        return case_slots(case)
    dispatcher.utter_message(
        text=question,
        buttons=[
            {"title": "Ja, verder met deze casus", "payload": payload("ask_next_step")},
            {"title": "Nee, een andere leerling", "payload": payload("new_case")},
        ],
    )
    return case_slots(case)


class ActionNewCase(Action):
    """Another pupil: a new case; the earlier one stays in the store."""

    def name(self) -> Text:
        return "action_new_case"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        return start_new_case(dispatcher, tracker, domain)


def say_moved(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any], case: CaseRecord, intro: str
) -> List[EventType]:
    """The case as stored after it moved: what to do next, and its slots."""
    say_guidance(dispatcher, tracker, domain, case, intro=intro)
    return case_slots(case)


class ActionNextStep(CaseAction):
    """'Wat moet ik nu doen?' answered from the stored case state."""

    def name(self) -> Text:
        return "action_next_step"

    def on_case(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any], case: CaseRecord
    ) -> List[EventType]:
        say_guidance(dispatcher, tracker, domain, case)
        return case_slots(case)


class ActionProgress(CaseAction):
    """'Ik heb met de IB'er overlegd': mark the milestone, advance the step, say what is next.

    Only a statement that something happened is recorded (``bot.conversation.read_progress``): a
    question about it gets that step's guidance and nothing is stored; a plan or an unsure reading is
    confirmed with a button first. A false milestone in the dossier is worse than one extra click.
    """

    def name(self) -> Text:
        return "action_progress"

    def on_case(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any], case: CaseRecord
    ) -> List[EventType]:
        milestone = reported_milestone(tracker)
        if milestone is None:
            say_guidance(dispatcher, tracker, domain, case)
            return case_slots(case)
        message = tracker.latest_message
        reading = conversation.read_progress(
            message.get("text") or "", float((message.get("intent") or {}).get("confidence") or 0.0)
        )
        label = steps.milestone_label(milestone)
        if reading == conversation.QUESTION:
            shown = steps.CaseState(step=steps.milestone_step(milestone), done=frozenset(case.done))
            say_guidance(
                dispatcher,
                tracker,
                domain,
                case,
                state=shown,
                first_moves=[f"progress:{milestone}"],
                intro=f"U stelt een vraag, dus ik noteer nog niets. Is het gedaan, kies dan "
                f"'Gedaan: {label}'. Zo gaat het:",
            )
            return case_slots(case)
        if reading == conversation.CONFIRM:
            intent = PROGRESS_INTENTS.get(milestone, latest_intent(tracker))
            dispatcher.utter_message(
                text=f"Is dit al gebeurd: {label}? Dan noteer ik het in de casus '{case.pseudonym}'.",
                buttons=[
                    {"title": "Ja, dat is gebeurd", "payload": payload(intent, milestone=milestone)},
                    {"title": "Nee, nog niet", "payload": payload("ask_next_step")},
                ],
            )
            return case_slots(case)
        moved = steps_usecase.record_progress(store(), case, milestone)
        return say_moved(dispatcher, tracker, domain, moved, f"Genoteerd: {label}.")


def reported_milestone(tracker: Tracker) -> Optional[str]:
    """The milestone a progress message reports: a button's entity, else the intent's usual milestone."""
    entity = next(tracker.get_latest_entity_values("milestone"), None)
    if entity in steps.milestone_ids():
        return entity
    return MILESTONE_BY_INTENT.get(latest_intent(tracker))


def step_from_text(text: str) -> Optional[int]:
    """'stap 4', 'stap vier' -> 4. The entity text comes from the NLU; this only reads the number."""
    match = re.search(r"\b([1-5]|een|één|twee|drie|vier|vijf)\b", text.lower())
    if not match:
        return None
    token = match.group(1)
    return int(token) if token.isdigit() else STEP_WORDS[token]


class ActionGoToStep(CaseAction):
    """'We zitten al bij stap 4': the order of the steps is not mandatory (seed 003 §2, seed 004)."""

    def name(self) -> Text:
        return "action_go_to_step"

    def on_case(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any], case: CaseRecord
    ) -> List[EventType]:
        entity = next(tracker.get_latest_entity_values("step_number"), None)
        number = step_from_text(entity or tracker.latest_message.get("text", ""))
        if number is None:
            dispatcher.utter_message(
                text="Naar welke stap wilt u?",
                buttons=[
                    {"title": f"Stap {n}", "payload": payload("go_to_step", step_number=f"stap {n}")}
                    for n in range(1, 6)
                ],
            )
            return []
        moved = steps_usecase.go_to_step(store(), case, number)
        return say_moved(dispatcher, tracker, domain, moved, f"Uw casus staat nu op stap {number}.")


class ActionSetRole(Action):
    """The user's role, remembered in the user store so it is asked only once. A concern told in the
    same message ("Ik ben gymdocent en ik zag striemen") is answered too: it starts the case."""

    def name(self) -> Text:
        return "action_set_role"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        role = tracker.get_slot("role")
        if not role:
            dispatcher.utter_message(response="utter_ask_case_start_form_role")
            return []
        steps_usecase.remember_role(store(), tracker.sender_id, organisation().id, role)
        thanks = f"Dank u. Ik houd er rekening mee dat u {user_role_label(role)} bent."
        case = current_case(tracker)
        if case is None and conversation.concern_beside_role(tracker.latest_message.get("text") or ""):
            dispatcher.utter_message(text=thanks)
            return start_new_case(dispatcher, tracker, domain)
        if case is not None:
            say_guidance(dispatcher, tracker, domain, case, intro=thanks, role=role)
            return case_slots(case)
        dispatcher.utter_message(
            text=thanks, buttons=[{"title": "Wat moet ik nu doen?", "payload": payload("ask_next_step")}]
        )
        return []


class ActionCaseStatus(Action):
    """'Hoe staat mijn casus ervoor?' / 'Mijn casussen': where each of the user's cases stands.
    Read-only: it never starts a case (nor a practice case)."""

    def name(self) -> Text:
        return "action_case_status"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        org = organisation()
        own = steps_usecase.own_cases(store(), tracker.sender_id, tracker.get_slot("role"), org.id)
        case = current_case(tracker)
        if case is None and not own:
            say_no_case(dispatcher)
            return []
        lines: List[str] = []
        if case is not None:
            advice = steps.guidance(case_state(case), org, tracker.get_slot("role"))
            done = [steps.milestone_label(m) for m in steps.milestone_ids() if m in case.done]
            lines += [
                sentence(f"Uw casus '{case.pseudonym}' staat op stap {case.step}: {advice.title}"),
                f"Gedaan: {'; '.join(done)}." if done else "Nog niets afgevinkt.",
            ]
        others = [c for c in own if case is None or c.id != case.id]
        if others:
            lines.append("Uw andere casussen:" if case is not None else "Uw casussen:")
            lines += [
                f"- {c.pseudonym}: stap {c.step}, {'open' if c.status == CASE_OPEN else 'afgesloten'}" for c in others
            ]
        buttons = [{"title": "Wat moet ik nu doen?", "payload": payload("ask_next_step")}]
        if case is not None and "show_dossier" in intent_names(domain):
            buttons.append({"title": "Toon mijn dossier", "payload": payload("show_dossier")})
        dispatcher.utter_message(text="\n".join(lines), buttons=buttons)
        return case_slots(case) if case is not None else []


class ActionFaq(Action):
    """A knowledge question: retrieval over the knowledge chose the entry (or a button named it); the
    answer comes from knowledge/."""

    def name(self) -> Text:
        return "action_faq"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        key = faq_key(tracker)
        if key is None:
            say_faq_answer(dispatcher, tracker, key)
            return []
        if told_a_concern(tracker):
            # "een leerling vertelde me net dat haar oom aan haar zit" reads like the disclosure FAQ, but
            # it tells what happened: the case starts, with that answer as its first move; with a case
            # open, the worry is handled as one (same pupil?), not answered as a question.
            case = current_case(tracker)
            if case is None:
                return start_new_case(dispatcher, tracker, domain, first_moves=[f"faq:{key}"])
            return ask_same_pupil(dispatcher, tracker, domain, case)
        say_faq_answer(dispatcher, tracker, key)
        return []


def told_a_concern(tracker: Tracker) -> bool:
    """A typed message (not a button) that describes a concern without asking anything."""
    if next(tracker.get_latest_entity_values("faq_key"), None) is not None:
        return False
    text = tracker.latest_message.get("text") or ""
    return conversation.describes_concern(text) and not conversation.is_question(text)


class ActionSituation(Action):
    """Special situations win everywhere: the first line names the number to call."""

    def name(self) -> Text:
        return "action_situation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        say_situation(dispatcher, tracker, domain)
        return []
