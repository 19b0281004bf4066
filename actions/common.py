"""Glue shared by every action: payloads and buttons, the deployment profile, the case store, and a
guard that turns any crash into a useful Dutch answer.

Why a guard: a teacher in a stressful moment must never be left without a reply. If an action fails
(database down, a bug), the user still hears what to do in danger and that nothing was lost; the
exception goes to the log without message text.
"""
from __future__ import annotations

import functools
import json
import logging
from typing import Any, Awaitable, Callable, Dict, Iterable, List, Optional, Sequence, Set, Tuple

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import profiles, steps
from bot.profiles import Organisation
from bot.store.db import repositories
from bot.store.repositories import CaseRecord, Repositories
from bot.texts import DANGER_LINE

logger = logging.getLogger(__name__)

APOLOGY = (
    "Sorry, er ging bij mij iets mis. Wat u al had ingevoerd is niet verloren; probeer het zo nog eens. "
    + DANGER_LINE
)

Button = Dict[str, str]
RunFn = Callable[..., Awaitable[List[Dict[str, Any]]]]


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
    """The user's open case from the case store (the source of truth, not the slots)."""
    return store().cases.open_case(tracker.sender_id)


def latest_intent(tracker: Tracker) -> str:
    """The intent of the user's last message as the NLU (or a button payload) set it."""
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def case_state(case: Optional[CaseRecord]) -> steps.CaseState:
    if case is None:
        return steps.CaseState(step=None)
    return steps.CaseState(step=case.step, done=frozenset(case.done))


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

NOTE_KIND_LABELS = {
    "signaal": "Signaal vastleggen",
    "consultatie": "Overleg vastleggen",
    "gesprek": "Gesprek vastleggen",
    "melding": "Melding vastleggen",
    "vervolg": "Vervolg vastleggen",
}


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
    if kind == "note" and arg in NOTE_KIND_LABELS:
        return NOTE_KIND_LABELS[arg], payload("record_note", note_kind=arg), "record_note"
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
