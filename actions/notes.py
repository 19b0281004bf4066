"""Dossier note actions: thin adapters between the note form, ``bot.notes``/``bot.privacy`` and the store.

The form ``note_form`` asks, one at a time, only the fields ``bot.notes.missing_fields`` says are
missing, through one text slot (``note_answer``) whose validation files the answer under the right
field in ``note_fields``. Every text answer is name-masked before it is kept, a date is parsed (and
asked again when unclear or in the future), and the note is saved only after the teacher confirmed
the summary. An answer the NLU hears as a special situation (observations often sound like one) is
kept, after the situation's own reply. Nothing of the meldcode is decided here.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Dict, List, Optional, Sequence, Text, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import case_state, current_case, guarded, latest_intent, organisation, payload, store
from actions.steps import ACUTE_DANGER, SITUATION_INTENTS, ActionSituation, CaseAction, case_slots, say_no_case
from bot import dossier, steps
from bot.channels import WEB_CHANNEL
from bot.export import render_markdown
from bot.notes import (AMSTERDAM, DATETIME, FUTURE, NOTE_KINDS, OK, YES_NO, NoteField, describe_when, is_skip, save_key,
                       missing_fields, note_kind, occurred_at, parse_when, parse_yes_no, summary)
from bot.privacy import describe_replacements, masker_for, masker_state
from bot.store.repositories import AccessDenied, CaseRecord, FollowUpRecord, NotFound

NOTE_SLOTS = ("note_kind", "note_fields", "note_answer", "note_confirmed")
YES_BUTTONS = [{"title": "Ja", "payload": payload("affirm")}, {"title": "Nee", "payload": payload("deny")}]
SKIP_BUTTON = {"title": "Nee / geen", "payload": payload("deny")}
STOP_BUTTON = {"title": "Stoppen", "payload": payload("stop_note")}


def collected(tracker: Tracker) -> Dict[str, Any]:
    """The answers so far for the kind being recorded; answers of another kind are dropped."""
    state = tracker.get_slot("note_fields") or {}
    return dict(state.get("values", {})) if state.get("kind") == tracker.get_slot("note_kind") else {}


def next_field(tracker: Tracker) -> Optional[NoteField]:
    kind = tracker.get_slot("note_kind")
    if kind not in NOTE_KINDS:
        return None
    missing = missing_fields(kind, collected(tracker))
    return note_kind(kind).field(missing[0]) if missing else None


def now() -> datetime:
    return datetime.now(AMSTERDAM)


class ValidateNoteForm(FormValidationAction):
    """Which slot to ask next, and the parsing, masking and filing of each answer."""

    def name(self) -> Text:
        return "validate_note_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        if tracker.get_slot("case_id") is None:
            return []  # no case: the form ends at once and action_save_note says how to start one
        if tracker.get_slot("note_kind") not in NOTE_KINDS:
            return ["note_kind", "note_answer", "note_confirmed"]
        return ["note_kind", "note_answer", "note_confirmed"] if next_field(tracker) else \
            ["note_kind", "note_confirmed"]

    def validate_note_kind(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                           domain: DomainDict) -> Dict[Text, Any]:
        return {"note_kind": value if value in NOTE_KINDS else None}

    async def validate_note_answer(self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                                   domain: DomainDict) -> Dict[Text, Any]:
        """File the answer. When the NLU heard a special situation in it, its reply (112 first) comes
        before anything else: the danger route is never skipped, and the teacher's text is not lost.
        Only acute danger counts in an answer that names people by role ("een collega" is not a
        suspicion against staff)."""
        field = next_field(tracker)
        intent = latest_intent(tracker)
        if intent == ACUTE_DANGER or (intent in SITUATION_INTENTS and not (field and field.roles)):
            await ActionSituation().run(dispatcher, tracker, domain)
        if field is None or not isinstance(value, str):
            return {"note_answer": None}
        parsed = self.parse(field, value, dispatcher, tracker)
        if parsed is None:
            return {"note_answer": None}  # asked again by action_ask_note_answer
        values = {**collected(tracker), field.name: parsed[0]}
        return {"note_answer": None, **({"case_masker": parsed[1]} if len(parsed) > 1 else {}),
                "note_fields": {"kind": tracker.get_slot("note_kind"), "values": values}}

    @staticmethod
    def parse(field: NoteField, text: str, dispatcher: CollectingDispatcher,
              tracker: Tracker) -> Optional[Tuple[Any, ...]]:
        """(value,) to file, or None after telling the user why the answer is asked again.
        The tuple tells "no value, and that is the answer" (weet niet) from "ask again"; a masked text
        comes with the case's new masker state: (value, state)."""
        intent = latest_intent(tracker)
        if field.type == YES_NO:
            answer = {"affirm": True, "deny": False}.get(intent, parse_yes_no(text))
            if answer is None and not field.required and is_skip(text):
                return (None,)
            if answer is None:
                dispatcher.utter_message(text="Wilt u ja of nee antwoorden?")
            return None if answer is None else (answer,)
        if not field.required and (intent == "deny" or is_skip(text)):
            return ("",)
        if field.type == DATETIME:
            return ValidateNoteForm.parse_moment(text, dispatcher)
        if text.startswith("/"):
            return None  # a button meant for another question
        case_id = tracker.get_slot("case_id")
        masked, known = masker_for(tracker.get_slot("case_masker"), case_id,
                                   tracker.get_slot("pseudonym") or "").mask(text)
        told = describe_replacements(masked)
        if told:
            dispatcher.utter_message(text=told)
        return (masked.text, masker_state(case_id, known))

    @staticmethod
    def parse_moment(text: str, dispatcher: CollectingDispatcher) -> Optional[Tuple[Any]]:
        when = parse_when(text, now())
        if when.status == OK:
            return (when.to_field(),)
        if when.status == FUTURE:
            dispatcher.utter_message(text=f"{describe_when(when)} ligt in de toekomst. Wanneer was het precies?")
        else:
            dispatcher.utter_message(text="Die datum kan ik niet zeker lezen. Noem de dag en zo mogelijk de tijd, "
                                          "bijvoorbeeld 'gisteren om half negen' of '12-11 om 10:15'.")
        return None


class ActionAskNoteKind(Action):
    def name(self) -> Text:
        return "action_ask_note_kind"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(
            text="Wat wilt u vastleggen in het dossier?",
            buttons=[{"title": f"{k.label} ({k.step_label})", "payload": payload("record_note", note_kind=k.id)}
                     for k in NOTE_KINDS.values()] + [STOP_BUTTON],
        )
        return []


class ActionAskNoteAnswer(Action):
    """The question for the next missing field, with buttons where a short answer fits."""

    def name(self) -> Text:
        return "action_ask_note_answer"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        field = next_field(tracker)
        if field is None:
            return []
        if field.type == YES_NO:
            buttons = YES_BUTTONS
        else:
            buttons = [] if field.required else [SKIP_BUTTON]
        dispatcher.utter_message(text=field.prompt, buttons=buttons + [STOP_BUTTON])
        return []


class ActionAskNoteConfirmed(Action):
    """The summary to confirm before anything is stored."""

    def name(self) -> Text:
        return "action_ask_note_confirmed"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        text = summary(tracker.get_slot("note_kind"), collected(tracker))
        dispatcher.utter_message(
            text=f"{text}\nKlopt dit? Dan zet ik het in het dossier van {tracker.get_slot('pseudonym')}.",
            buttons=[{"title": "Ja, opslaan", "payload": payload("affirm")},
                     {"title": "Nee, niet opslaan", "payload": payload("deny")}],
        )
        return []


def reset_note() -> List[EventType]:
    return [SlotSet(slot, None) for slot in NOTE_SLOTS]


class ActionSaveNote(Action):
    """After the form: store the confirmed note (already masked), or say nothing was stored."""

    def name(self) -> Text:
        return "action_save_note"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        case = current_case(tracker)
        if case is None:
            say_no_case(dispatcher)
            return reset_note()
        kind, fields = tracker.get_slot("note_kind"), collected(tracker)
        if tracker.get_slot("note_confirmed") is not True or kind not in NOTE_KINDS or missing_fields(kind, fields):
            dispatcher.utter_message(text="Ik heb niets opgeslagen.")
            return reset_note()
        repos = store()
        repos.notes.add(case.id, kind, tracker.sender_id, tracker.get_slot("role"), fields, occurred_at(kind, fields),
                        save_key(case.id, kind, fields))
        moved, recorded = record_note_progress(case, kind, fields)
        lines = [f"Opgeslagen in het dossier van {case.pseudonym}."]
        if recorded:
            lines.append(f"Genoteerd: {'; '.join(steps.milestone_label(m) for m in recorded)}. "
                         f"Uw casus staat nu op stap {moved.step}.")
        dispatcher.utter_message(
            text="\n".join(lines),
            buttons=[{"title": "Toon mijn dossier", "payload": payload("show_dossier")},
                     {"title": "Wat moet ik nu doen?", "payload": payload("ask_next_step")}],
        )
        return reset_note() + case_slots(moved)


def record_note_progress(case: CaseRecord, kind: str, fields: Dict[str, Any]) -> Tuple[CaseRecord, List[str]]:
    """What the saved note says was done moves the case (``bot.steps.note_milestones``); returns the
    stored case and the milestones that were new."""
    state = case_state(case)
    new = [m for m in steps.note_milestones(kind, fields) if m not in state.done]
    for milestone in new:
        state = steps.record_progress(state, milestone)
    if not new:
        return case, []
    return store().cases.update_progress(case.id, state.step, sorted(state.done)), new


class ActionStopNote(Action):
    def name(self) -> Text:
        return "action_stop_note"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(text="Gestopt. Van deze aantekening is niets opgeslagen.")
        return reset_note()


# --- showing and exporting ---------------------------------------------------------------------


class ActionShowDossier(CaseAction):
    """'Toon mijn dossier': the timeline of the notes, short."""

    def name(self) -> Text:
        return "action_show_dossier"

    def on_case(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any],
                case: CaseRecord) -> List[EventType]:
        repos, role = store(), tracker.get_slot("role")
        notes = repos.notes.list(case.id, tracker.sender_id, role)
        entries = dossier.timeline(notes, repos.weighing.trace(case.id), organisation())
        if not entries:
            dispatcher.utter_message(text=f"Het dossier van {case.pseudonym} heeft nog geen aantekeningen.",
                                     buttons=[{"title": "Signaal vastleggen",
                                               "payload": payload("record_note", note_kind="signaal")}])
            return []
        lines = [f"Dossier van {case.pseudonym}, {len(notes)} aantekening(en):"] + [f"- {e}" for e in entries]
        open_ = [f for f in repos.followups.for_case(case.id, tracker.sender_id, role) if f.done_at is None]
        if open_:
            lines += ["Openstaande afspraken:"] + [followup_line(f, date.today()) for f in open_]
        dispatcher.utter_message(text="\n".join(lines),
                                 buttons=[{"title": "Exporteer mijn dossier", "payload": payload("export_dossier")}]
                                 + followup_buttons(open_))
        return []


class ActionExportDossier(CaseAction):
    """'Exporteer mijn dossier': the overview to file in the leerlingdossier. The web widget gets download
    links (PDF and Markdown, valid for a short time); channels without downloads get the text itself."""

    def name(self) -> Text:
        return "action_export_dossier"

    def on_case(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any],
                case: CaseRecord) -> List[EventType]:
        grant = dossier.Grant(case.id, tracker.sender_id, tracker.get_slot("role"))
        if tracker.get_latest_input_channel() == WEB_CHANNEL:
            links = dossier.download_links(dossier.download_token(grant))
            dispatcher.utter_message(
                text=f"Het dossieroverzicht van {case.pseudonym} staat klaar. De links werken "
                     f"{dossier.DOWNLOAD_MINUTES} minuten; vraag daarna gewoon opnieuw.")
            dispatcher.utter_message(attachment={"type": "download", "files": links})
        else:
            _, overview = dossier.load(store(), grant.case_id, grant.viewer_id, grant.viewer_role, organisation())
            dispatcher.utter_message(text=render_markdown(overview))
        dispatcher.utter_message(text="Neem dit overzicht op in het leerlingdossier van uw school. "
                                      "Het bevat alleen het pseudoniem, geen namen.")
        return []


# --- follow-ups ------------------------------------------------------------------------------------

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
    return [{"title": f"Gedaan: afspraak van {f.due_on:%d-%m}",
             "payload": payload("complete_followup", followup_id=str(f.id))}
            for f in followups[:MAX_FOLLOWUP_BUTTONS]]


def say_open_followups(dispatcher: CollectingDispatcher, followups: Sequence[FollowUpRecord], intro: str) -> None:
    today = date.today()
    dispatcher.utter_message(text="\n".join([intro] + [followup_line(f, today) for f in followups]),
                             buttons=followup_buttons(followups))


class ActionCompleteFollowUp(Action):
    """'Die afspraak is gedaan': tick off the follow-up the button names, or ask which one.

    Ticking off is not the record of what came of it; that is a vervolg note, offered right away.
    """

    def name(self) -> Text:
        return "action_complete_followup"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        repos = store()
        chosen = next(tracker.get_latest_entity_values("followup_id"), None)
        if chosen is None or not str(chosen).isdigit():
            open_ = repos.followups.open_for(tracker.sender_id, date.today())
            if not open_:
                dispatcher.utter_message(text="U heeft geen openstaande afspraken.",
                                         buttons=[{"title": "Wat moet ik nu doen?", "payload": payload("ask_next_step")}])
            else:
                say_open_followups(dispatcher, open_, "Welke afspraak is gedaan?")
            return []
        try:
            done = repos.followups.complete(int(chosen), tracker.sender_id, tracker.get_slot("role"))
        except (AccessDenied, NotFound):
            dispatcher.utter_message(text="Die afspraak kan ik niet (meer) vinden. Er is niets veranderd.")
            return []
        dispatcher.utter_message(
            text=f"Afgevinkt: {done.description}\nLeg vast wat eruit kwam, dan staat het in het dossier.",
            buttons=[{"title": "Vervolg vastleggen", "payload": payload("record_note", note_kind="vervolg")},
                     {"title": "Wat moet ik nu doen?", "payload": payload("ask_next_step")}],
        )
        return []
