"""Case guidance actions: thin adapters between the tracker, the case store and ``bot.steps``.

Every rule of the protocol is in ``bot/steps.py`` and ``knowledge/``; these classes only read the
tracker, call the core, write through to the case store and turn the result into messages.
"""
from __future__ import annotations

import abc
import logging
import re
import secrets
from typing import Any, Dict, List, Optional, Sequence, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    DANGER_LINE,
    MILESTONE_BY_INTENT,
    PROGRESS_INTENTS,
    buttons_for,
    case_state,
    current_case,
    guarded,
    intent_names,
    latest_intent,
    organisation,
    payload,
    sources_line,
    store,
)
from bot import conversation, retrieval, steps
from bot.profiles import user_role_label
from bot.store.repositories import CASE_OPEN, CaseRecord

logger = logging.getLogger(__name__)

STEP_WORDS = {"een": 1, "één": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5}
PSEUDONYM_ALPHABET = "ACDEFHJKLMNPRTUVWXY3479"  # no look-alikes (0/O, 1/I, 5/S, 8/B)


def new_pseudonym() -> str:
    """A random case name: the pupil's identity is never stored, the school links it in its own files."""
    return "Leerling " + "".join(secrets.choice(PSEUDONYM_ALPHABET) for _ in range(4))


def case_slots(case: Optional[CaseRecord]) -> List[EventType]:
    """Slots mirror the case store for the dialogue; the store stays the source of truth."""
    if case is None:
        return [SlotSet(name, None) for name in ("case_id", "case_step", "pseudonym", "case_done")]
    return [SlotSet("case_id", case.id), SlotSet("case_step", case.step), SlotSet("pseudonym", case.pseudonym),
            SlotSet("case_done", sorted(case.done))]


def say_guidance(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any],
                 case: CaseRecord, intro: Optional[str] = None, role: Optional[str] = None,
                 state: Optional[steps.CaseState] = None, first_moves: Sequence[str] = ()) -> None:
    """'What do I do now' for the case's step (or ``state``: another step shown without moving the
    case), in the profile's words, for the user's role; ``first_moves`` come before the step's own."""
    advice = steps.guidance(state or case_state(case), organisation(), role or tracker.get_slot("role"))
    lines = [intro] if intro else []
    lines.append(f"Stap {advice.step}: {advice.title} ({case.pseudonym})")
    lines.extend(advice.lines)
    lines.append(sources_line(advice.sources))
    moves = list(dict.fromkeys([*first_moves, *advice.next_moves]))
    dispatcher.utter_message(text="\n".join(line for line in lines if line), buttons=buttons_for(moves, domain))


def say_no_case(dispatcher: CollectingDispatcher) -> None:
    dispatcher.utter_message(
        text="U heeft nog geen casus. Vertel me dat u zich zorgen maakt over een leerling, dan beginnen we bij stap 1.",
        buttons=[{"title": "Ik maak me zorgen over een leerling", "payload": payload("start_case")}],
    )


def known_role(tracker: Tracker) -> Optional[str]:
    """The user's role: the slot, else what the user store keeps for this identity (asked only once)."""
    role = tracker.get_slot("role")
    if role:
        return role
    user = store().users.get(tracker.sender_id)
    return user.role if user and user.role else None


def bot_texts(tracker: Tracker) -> List[str]:
    """The texts the bot sent in this conversation, oldest first."""
    return [event.get("text") or "" for event in tracker.events if event.get("event") == "bot"]


def start_new_case(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any],
                   first_moves: Sequence[str] = ()) -> List[EventType]:
    """A new case at step 1 with its guidance; an unknown role is asked after it, never instead of it.
    ``first_moves`` lead the buttons (e.g. ``faq:pupil_discloses`` for a concern told as a disclosure)."""
    repos = store()
    org = organisation()
    role = known_role(tracker)
    repos.users.upsert(tracker.sender_id, organisation_id=org.id, role=role)
    case = repos.cases.create(tracker.sender_id, org.id, new_pseudonym())
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

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
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
        store().users.upsert(tracker.sender_id, organisation_id=organisation().id, role=tracker.get_slot("role"))
        question = same_pupil_question(case)
        if conversation.asked_just_now(question, bot_texts(tracker)):
            # Asked already, and the answer read as a new start: continue the open case, with a way out.
            say_guidance(dispatcher, tracker, domain, case,
                         intro=f"Ik ga ervan uit dat het om dezelfde leerling gaat ('{case.pseudonym}').")
            dispatcher.utter_message(text="Gaat het toch om een andere leerling?",
                                     buttons=[{"title": "Nee, een andere leerling", "payload": payload("new_case")}])
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
    def on_case(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any],
                case: CaseRecord) -> List[EventType]:
        """Answer for the user's open case."""


def advance(dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any], case: CaseRecord,
            state: steps.CaseState, intro: str) -> List[EventType]:
    """Write the new state through to the store, then say what to do next."""
    case = store().cases.update_progress(case.id, state.step, sorted(state.done))
    say_guidance(dispatcher, tracker, domain, case, intro=intro)
    return case_slots(case)


class ActionNextStep(CaseAction):
    """'Wat moet ik nu doen?' answered from the stored case state."""

    def name(self) -> Text:
        return "action_next_step"

    def on_case(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any],
                case: CaseRecord) -> List[EventType]:
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

    def on_case(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any],
                case: CaseRecord) -> List[EventType]:
        milestone = reported_milestone(tracker)
        if milestone is None:
            say_guidance(dispatcher, tracker, domain, case)
            return case_slots(case)
        message = tracker.latest_message
        reading = conversation.read_progress(message.get("text") or "",
                                             float((message.get("intent") or {}).get("confidence") or 0.0))
        label = steps.milestone_label(milestone)
        if reading == conversation.QUESTION:
            shown = steps.CaseState(step=steps.milestone_step(milestone), done=frozenset(case.done))
            say_guidance(dispatcher, tracker, domain, case, state=shown, first_moves=[f"progress:{milestone}"],
                         intro=f"U stelt een vraag, dus ik noteer nog niets. Is het gedaan, kies dan "
                               f"'Gedaan: {label}'. Zo gaat het:")
            return case_slots(case)
        if reading == conversation.CONFIRM:
            intent = PROGRESS_INTENTS.get(milestone, latest_intent(tracker))
            dispatcher.utter_message(
                text=f"Is dit al gebeurd: {label}? Dan noteer ik het in de casus '{case.pseudonym}'.",
                buttons=[{"title": "Ja, dat is gebeurd", "payload": payload(intent, milestone=milestone)},
                         {"title": "Nee, nog niet", "payload": payload("ask_next_step")}],
            )
            return case_slots(case)
        state = steps.record_progress(case_state(case), milestone)
        return advance(dispatcher, tracker, domain, case, state, f"Genoteerd: {label}.")


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

    def on_case(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any],
                case: CaseRecord) -> List[EventType]:
        entity = next(tracker.get_latest_entity_values("step_number"), None)
        number = step_from_text(entity or tracker.latest_message.get("text", ""))
        if number is None:
            dispatcher.utter_message(
                text="Naar welke stap wilt u?",
                buttons=[{"title": f"Stap {n}", "payload": payload("go_to_step", step_number=f"stap {n}")}
                         for n in range(1, 6)],
            )
            return []
        state = steps.go_to_step(case_state(case), number)
        return advance(dispatcher, tracker, domain, case, state, f"Uw casus staat nu op stap {number}.")


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
        store().users.upsert(tracker.sender_id, organisation_id=organisation().id, role=role)
        thanks = f"Dank u. Ik houd er rekening mee dat u {user_role_label(role)} bent."
        case = current_case(tracker)
        if case is None and conversation.concern_beside_role(tracker.latest_message.get("text") or ""):
            dispatcher.utter_message(text=thanks)
            return start_new_case(dispatcher, tracker, domain)
        if case is not None:
            say_guidance(dispatcher, tracker, domain, case, intro=thanks, role=role)
            return case_slots(case)
        dispatcher.utter_message(text=thanks, buttons=[{"title": "Wat moet ik nu doen?",
                                                        "payload": payload("ask_next_step")}])
        return []


class ActionCaseStatus(Action):
    """'Hoe staat mijn casus ervoor?' / 'Mijn casussen': where each of the user's cases stands.
    Read-only: it never starts a case (nor a practice case)."""

    def name(self) -> Text:
        return "action_case_status"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        org = organisation()
        own = [c for c in store().cases.list_for(tracker.sender_id, tracker.get_slot("role"), org.id)
               if c.owner_id == tracker.sender_id]
        case = current_case(tracker)
        if case is None and not own:
            say_no_case(dispatcher)
            return []
        lines: List[str] = []
        if case is not None:
            advice = steps.guidance(case_state(case), org, tracker.get_slot("role"))
            done = [steps.milestone_label(m) for m in steps.milestone_ids() if m in case.done]
            lines += [f"Uw casus '{case.pseudonym}' staat op stap {case.step}: {advice.title}.",
                      f"Gedaan: {'; '.join(done)}." if done else "Nog niets afgevinkt."]
        others = [c for c in own if case is None or c.id != case.id]
        if others:
            lines.append("Uw andere casussen:" if case is not None else "Uw casussen:")
            lines += [f"- {c.pseudonym}: stap {c.step}, {'open' if c.status == CASE_OPEN else 'afgesloten'}"
                      for c in others]
        buttons = [{"title": "Wat moet ik nu doen?", "payload": payload("ask_next_step")}]
        if case is not None and "show_dossier" in intent_names(domain):
            buttons.append({"title": "Toon mijn dossier", "payload": payload("show_dossier")})
        dispatcher.utter_message(text="\n".join(lines), buttons=buttons)
        return case_slots(case) if case is not None else []


class ActionFaq(Action):
    """A knowledge question: the ResponseSelector (or, when it is unsure, retrieval) chose the entry;
    the answer comes from knowledge/."""

    def name(self) -> Text:
        return "action_faq"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        key = faq_key(tracker)
        if key is None:
            dispatcher.utter_message(text="Die vraag kan ik niet goed plaatsen. Kunt u hem anders formuleren?")
            return []
        if told_a_concern(tracker) and current_case(tracker) is None:
            # "een leerling vertelde me net dat haar oom aan haar zit" reads like the disclosure FAQ, but
            # it tells what happened: the case starts, with that answer as its first move.
            return start_new_case(dispatcher, tracker, domain, first_moves=[f"faq:{key}"])
        if faq_is_guess(tracker):
            ask_which_question(dispatcher, key)
            return []
        answer, sources = steps.faq_answer(key, organisation())
        dispatcher.utter_message(text=f"{answer}\n{sources_line(sources)}")
        return []


def told_a_concern(tracker: Tracker) -> bool:
    """A typed message (not a button) that describes a concern without asking anything."""
    if next(tracker.get_latest_entity_values("faq_key"), None) is not None:
        return False
    text = tracker.latest_message.get("text") or ""
    return conversation.describes_concern(text) and not conversation.is_question(text)


def ask_which_question(dispatcher: CollectingDispatcher, key: str) -> None:
    """A guessed FAQ is offered, not answered: a worry told in words the model never saw ("moeder ruikt
    elke ochtend naar drank") must not get an answer to another question as if it were the reply."""
    dispatcher.utter_message(
        text="Ik weet niet zeker wat u bedoelt. Kies wat het beste past. " + DANGER_LINE,
        buttons=[{"title": steps.faq_question(key), "payload": payload("faq", faq_key=key)},
                 {"title": "Ik maak me zorgen over een leerling", "payload": payload("start_case")},
                 {"title": "Wat kunt u allemaal?", "payload": payload("help")}],
    )


# Below this ResponseSelector confidence the chosen FAQ entry is a guess (bot.retrieval decides then).
FAQ_MIN_CONFIDENCE = retrieval.SELECTOR_MIN_CONFIDENCE


def _faq_choice(tracker: Tracker) -> Optional[retrieval.FaqChoice]:
    """The FAQ entry the message asks for, by the ResponseSelector and, when it is unsure, by the
    retrieval index over the knowledge; None when a button named the entry."""
    entity = next(tracker.get_latest_entity_values("faq_key"), None)
    if entity in steps.faq_ids():
        return None
    selector = tracker.latest_message.get("response_selector", {}).get("faq", {}).get("response", {})
    key = (selector.get("intent_response_key") or "").partition("/")[2]
    return retrieval.choose_faq(tracker.latest_message.get("text") or "",
                                key if key in steps.faq_ids() else None,
                                float(selector.get("confidence", 1.0)))


def faq_is_guess(tracker: Tracker) -> bool:
    """True when no button named the entry, the ResponseSelector was unsure and retrieval did not pick
    or confirm an entry either: then the entry is offered, not answered."""
    choice = _faq_choice(tracker)
    return choice is not None and choice.guess


def faq_key(tracker: Tracker) -> Optional[str]:
    """The FAQ id: from a button's entity, else from the ResponseSelector, or from retrieval when the
    selector is unsure (see ``bot.retrieval.choose_faq``)."""
    entity = next(tracker.get_latest_entity_values("faq_key"), None)
    if entity in steps.faq_ids():
        return entity
    choice = _faq_choice(tracker)
    return choice.key if choice is not None else None


ACUTE_DANGER = "acute_danger"
SITUATION_INTENTS = frozenset(steps.REQUIRED_SITUATIONS)  # each special situation is its own intent


class ActionSituation(Action):
    """Special situations win everywhere: the first line names the number to call."""

    def name(self) -> Text:
        return "action_situation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        # Deliberately not @guarded with a generic apology: even on a failure the danger numbers go first.
        intent = latest_intent(tracker)
        situation_id = intent if intent in SITUATION_INTENTS else ACUTE_DANGER
        try:
            reply = steps.situation(situation_id, organisation())
            text = "\n".join([*reply.lines, sources_line(reply.sources)])
        except Exception:  # noqa: BLE001
            logger.exception("situation %s failed", situation_id)
            text = DANGER_LINE
        dispatcher.utter_message(text=text, buttons=situation_buttons(tracker, domain))
        return []


def situation_buttons(tracker: Tracker, domain: Dict[Text, Any]) -> List[Dict[str, str]]:
    """After the urgent reply, a way back into the normal flow (cheap when the net fired by mistake)."""
    if tracker.active_loop_name:
        return []  # the interrupted form asks its question again right after this message
    follow_up = ("Verder met mijn casus", payload("ask_next_step")) if tracker.get_slot("case_id") else \
        ("Casus starten volgens de meldcode", payload("start_case"))
    return [{"title": follow_up[0], "payload": follow_up[1]}, *buttons_for(["contacts:who_to_call"], domain)]
