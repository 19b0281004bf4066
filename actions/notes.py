"""Dossier note actions: thin adapters between the note form, ``bot.notes``/``bot.privacy`` and the store.

The form ``note_form`` first reads what the message that started it already says
(``bot.notes.extract_fields``), then asks, one at a time, only the fields ``bot.notes.missing_fields``
says are missing, through one text slot (``note_answer``) whose validation files the answer under the
right field in ``note_fields`` (and, when the answer says more, under the other fields it clearly fills).
Every text answer is name-masked before it is kept, a date is parsed (and asked again when unclear or in
the future), a question typed as an answer is never filed, and the note is saved only after the teacher
confirmed the summary, where each field can be changed. An answer the NLU hears as a special situation
(observations often sound like one) is kept, after the situation's own reply. Nothing of the meldcode is
decided here.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Dict, List, Optional, Text, Tuple

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import (
    ACUTE_DANGER,
    NOTE_FORM,
    SITUATION_INTENTS,
    CaseAction,
    current_case,
    faq_key,
    followup_buttons,
    followup_line,
    guarded,
    latest_intent,
    organisation,
    payload,
    say_faq_answer,
    say_no_case,
    say_reply,
    say_open_followups,
    say_situation,
    store,
)
from bot import dossier, notes_usecase
from plugins.channels import WEB_CHANNEL
from bot.export import render_markdown
from bot.language.dates import AMSTERDAM, FUTURE, describe_when, parse_when
from bot.language.yesno import parse_yes_no
from bot.notes import (
    DATETIME,
    NOTE_KINDS,
    UNDO_MINUTES,
    YES_NO,
    NoteField,
    asks_instead_of_answers,
    extract_fields,
    fields_from_answer,
    fields_to_ask_again,
    format_value,
    is_skip,
    missing_fields,
    note_content,
    note_kind,
    requested_kind,
    requests_note,
    summary,
)
from bot.privacy import describe_replacements, masker_for, masker_state
from bot.store.repositories import CaseRecord

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

    async def required_slots(
        self, domain_slots: List[Text], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> List[Text]:
        if tracker.get_slot("case_id") is None:
            return []  # no case: the form ends at once and action_save_note says how to start one
        if tracker.get_slot("note_kind") not in NOTE_KINDS:
            return ["note_kind", "note_answer", "note_confirmed"]
        return (
            ["note_kind", "note_answer", "note_confirmed"] if next_field(tracker) else ["note_kind", "note_confirmed"]
        )

    async def extract_note_kind(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """The kind the message names in words the model did not tag (``bot.notes.requested_kind``), while
        no kind is chosen yet; a kind from a button or an entity always stands."""
        if tracker.get_slot("note_kind") in NOTE_KINDS:
            return {}
        kind = requested_kind(tracker.latest_message.get("text") or "")
        return {"note_kind": kind} if kind else {}

    def validate_note_kind(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """The kind, and what the message that asked for the note already says for its fields."""
        if value not in NOTE_KINDS:
            return {"note_kind": None}
        if collected(tracker) and (tracker.get_slot("note_fields") or {}).get("kind") == value:
            return {"note_kind": value}  # the kind again: what was collected stays
        text = note_content(opening_text(tracker))
        if not text:
            return {"note_kind": value, "note_fields": {"kind": value, "values": {}}}
        masked, state, told = mask(tracker, text)
        found = extract_fields(value, masked, now())
        if told and found:
            dispatcher.utter_message(text=told)
        return {
            "note_kind": value,
            "note_fields": {"kind": value, "values": found},
            **({"case_masker": state} if found else {}),
        }

    async def validate_note_answer(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        """File the answer. When the NLU heard a special situation in it, its reply (112 first) comes
        before anything else: the danger route is never skipped, and the teacher's text is not lost.
        Only acute danger counts in an answer that names people by role ("een collega" is not a
        suspicion against staff). A question typed instead of an answer is answered (a knowledge
        question) or pointed out, and never filed."""
        field = next_field(tracker)
        intent = latest_intent(tracker)
        if intent == ACUTE_DANGER or (intent in SITUATION_INTENTS and not (field and field.roles)):
            say_situation(dispatcher, tracker, domain)
        if field is None or not isinstance(value, str):
            return {"note_answer": None}
        if asks_instead_of_answers(value, field.name):
            if intent == "faq":
                say_faq_answer(dispatcher, tracker, faq_key(tracker))
            dispatcher.utter_message(
                text="Uw vraag heb ik niet in de aantekening gezet. "
                "Na deze aantekening kunt u hem gerust opnieuw stellen."
            )
            return {"note_answer": None}
        parsed = self.parse(field, value, dispatcher, tracker)
        if parsed is None:
            return {"note_answer": None}  # asked again by action_ask_note_answer
        filled, state = parsed
        kept = collected(tracker)
        values = {
            **{k: v for k, v in filled.items() if k not in kept or k == field.name},
            **{k: v for k, v in kept.items() if k != field.name},
        }
        return {
            "note_answer": None,
            **({"case_masker": state} if state is not None else {}),
            "note_fields": {"kind": tracker.get_slot("note_kind"), "values": values},
        }

    @staticmethod
    def parse(
        field: NoteField, text: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> Optional[Tuple[Dict[str, Any], Optional[Dict[str, Any]]]]:
        """(fields to file, new masker state or None), or None after telling the user why the answer is
        asked again. A date answer may also fill other fields ("gisteren op het plein zag ik ..."), and
        a text answer that says more than was asked fills what it clearly says (never over an answer
        already given). A masked text comes with the case's new masker state."""
        intent = latest_intent(tracker)
        if field.type == YES_NO:
            answer = {"affirm": True, "deny": False}.get(intent, parse_yes_no(text))
            if answer is None and not field.required and is_skip(text):
                return {field.name: None}, None
            if answer is None:
                dispatcher.utter_message(text="Wilt u ja of nee antwoorden?")
            return None if answer is None else ({field.name: answer}, None)
        if not field.required and (intent == "deny" or is_skip(text)):
            return {field.name: ""}, None
        if text.startswith("/"):
            return None  # a button meant for another question
        masked, state, told = mask(tracker, text)
        found = fields_from_answer(tracker.get_slot("note_kind"), field.name, masked, now())
        if found is None:
            ValidateNoteForm.say_moment_unclear(text, dispatcher)
            return None
        if field.type == DATETIME and set(found) == {field.name}:
            return found, None  # only the date: no text kept, nothing masked
        if field.name not in found:  # only a moment where something else was asked: kept, and asked again
            dispatcher.utter_message(text="Dat lees ik als een tijdstip, niet als antwoord op deze vraag.")
            return found, None
        if told:
            dispatcher.utter_message(text=told)
        return found, state

    @staticmethod
    def say_moment_unclear(text: str, dispatcher: CollectingDispatcher) -> None:
        when = parse_when(text, now())
        if when.status == FUTURE:
            dispatcher.utter_message(text=f"{describe_when(when)} ligt in de toekomst. Wanneer was het precies?")
        else:
            dispatcher.utter_message(
                text="Die datum kan ik niet zeker lezen. Noem de dag en zo mogelijk de tijd, "
                "bijvoorbeeld 'gisteren om half negen' of '12-11 om 10:15'."
            )


def mask(tracker: Tracker, text: str) -> Tuple[str, Dict[str, Any], str]:
    """``text`` with names and identifiers replaced (one placeholder per person in the case), the case's
    new masker state, and the sentence that tells what was replaced (said only when the text is kept)."""
    case_id = tracker.get_slot("case_id")
    masked, known = masker_for(tracker.get_slot("case_masker"), case_id, tracker.get_slot("pseudonym") or "").mask(text)
    return masked.text, masker_state(case_id, known), describe_replacements(masked)


def opening_text(tracker: Tracker) -> str:
    """The typed message that asked for this note ("Ik wil een signaal noteren: ..."), or "" when the
    note was asked for with a button only. Button clicks (the kind chosen) are looked past. A request
    the model read as a new worry, with a case open, started this form too (``ActionStartCase``)."""
    for event in reversed(tracker.events):
        if event.get("event") != "user":
            continue
        text = event.get("text") or ""
        if text.startswith("/"):
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        asked = intent == "record_note" or (intent == "start_case" and requests_note(text))
        return text if asked else ""
    return ""


class ActionAskNoteKind(Action):
    def name(self) -> Text:
        return "action_ask_note_kind"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        dispatcher.utter_message(
            text="Wat wilt u vastleggen in het dossier?",
            buttons=[
                {"title": f"{k.label} ({k.step_label})", "payload": payload("record_note", note_kind=k.id)}
                for k in NOTE_KINDS.values()
            ]
            + [STOP_BUTTON],
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
    """The summary to confirm before anything is stored: save, change one field, or cancel."""

    def name(self) -> Text:
        return "action_ask_note_confirmed"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        kind, values = tracker.get_slot("note_kind"), collected(tracker)
        dispatcher.utter_message(
            text=f"{summary(kind, values)}\nKlopt dit? Dan zet ik het in het dossier van "
            f"{tracker.get_slot('pseudonym')}. U kunt ook één onderdeel aanpassen.",
            buttons=[{"title": "Ja, opslaan", "payload": payload("affirm")}]
            + change_buttons(kind, values)
            + [{"title": "Annuleren, niet opslaan", "payload": payload("deny")}],
        )
        return []


def change_buttons(kind: str, values: Dict[str, Any]) -> List[Dict[str, str]]:
    """One button per field of the note (a conditional field only when it applies)."""
    return [
        {"title": f"Wijzig: {f.label}", "payload": payload("change_note_field", note_field=f.name)}
        for f in note_kind(kind).fields
        if f.required_if is None or values.get(f.required_if)
    ]


class ActionChangeNoteField(Action):
    """'Wijzig: Waar' at the summary: forget that one answer (and what depends on it), so the form asks
    exactly that question again and then shows the summary again."""

    def name(self) -> Text:
        return "action_change_note_field"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        kind, values = tracker.get_slot("note_kind"), collected(tracker)
        name = next(tracker.get_latest_entity_values("note_field"), None)
        if kind not in NOTE_KINDS or (tracker.active_loop or {}).get("name") != NOTE_FORM:
            dispatcher.utter_message(
                text="Er is nu geen aantekening in bewerking. Een opgeslagen aantekening kunt "
                f"u binnen {UNDO_MINUTES} minuten ongedaan maken, of aanvullen met een "
                "nieuwe."
            )
            return []
        if name not in {f.name for f in note_kind(kind).fields}:
            dispatcher.utter_message(text="Welk onderdeel wilt u aanpassen? Kies hieronder een knop.")
            return []
        field = note_kind(kind).field(name)
        current = values.get(name)
        if current not in (None, ""):
            dispatcher.utter_message(text=f"Nu staat bij '{field.label}': {format_value(field, current)}")
        return [
            SlotSet("note_fields", {"kind": kind, "values": fields_to_ask_again(kind, name, values)}),
            SlotSet("note_confirmed", None),
        ]


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
        reply = notes_usecase.save_note(store(), case, tracker.sender_id, tracker.get_slot("role"), kind, fields)
        return reset_note() + say_reply(dispatcher, reply)


class ActionUndoNote(Action):
    """'Maak de laatste notitie ongedaan': within ``bot.notes.UNDO_WINDOW`` of saving, the user's last
    note leaves the dossier and what it recorded on the case is taken back (``bot.notes_usecase``)."""

    def name(self) -> Text:
        return "action_undo_note"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        current = current_case(tracker)
        reply = notes_usecase.undo_last_note(
            store(), tracker.sender_id, tracker.get_slot("role"), current.id if current else None, now()
        )
        return say_reply(dispatcher, reply)


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

    def on_case(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any], case: CaseRecord
    ) -> List[EventType]:
        shown = dossier.case_timeline(
            store(), case, tracker.sender_id, tracker.get_slot("role"), organisation(), date.today()
        )
        if not shown.entries:
            dispatcher.utter_message(
                text=f"Het dossier van {case.pseudonym} heeft nog geen aantekeningen.",
                buttons=[{"title": "Signaal vastleggen", "payload": payload("record_note", note_kind="signaal")}],
            )
            return []
        lines = [f"Dossier van {case.pseudonym}, {shown.notes} aantekening(en):"] + [f"- {e}" for e in shown.entries]
        open_ = shown.open_followups
        if open_:
            lines += ["Openstaande afspraken:"] + [followup_line(f, date.today()) for f in open_]
        dispatcher.utter_message(
            text="\n".join(lines),
            buttons=[{"title": "Exporteer mijn dossier", "payload": payload("export_dossier")}]
            + followup_buttons(open_),
        )
        return []


class ActionExportDossier(CaseAction):
    """'Exporteer mijn dossier': the overview to file in the leerlingdossier. The web widget gets download
    links (PDF and Markdown, valid for a short time); channels without downloads get the text itself."""

    def name(self) -> Text:
        return "action_export_dossier"

    def on_case(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any], case: CaseRecord
    ) -> List[EventType]:
        grant = dossier.Grant(case.id, tracker.sender_id, tracker.get_slot("role"))
        if tracker.get_latest_input_channel() == WEB_CHANNEL:
            links = dossier.download_links(dossier.download_token(grant))
            dispatcher.utter_message(
                text=f"Het dossieroverzicht van {case.pseudonym} staat klaar. De links werken "
                f"{dossier.DOWNLOAD_MINUTES} minuten; vraag daarna gewoon opnieuw."
            )
            dispatcher.utter_message(attachment={"type": "download", "files": links})
        else:
            _, overview = dossier.load(store(), grant.case_id, grant.viewer_id, grant.viewer_role, organisation())
            dispatcher.utter_message(text=render_markdown(overview))
        dispatcher.utter_message(
            text="Neem dit overzicht op in het leerlingdossier van uw school. "
            "Het bevat alleen het pseudoniem, geen namen."
        )
        return []


# --- follow-ups ------------------------------------------------------------------------------------


class ActionCompleteFollowUp(Action):
    """'Die afspraak is gedaan': tick off the follow-up the button names, or ask which one.

    Ticking off is not the record of what came of it; that is a vervolg note, offered right away.
    """

    def name(self) -> Text:
        return "action_complete_followup"

    @guarded
    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]) -> List[EventType]:
        chosen = next(tracker.get_latest_entity_values("followup_id"), None)
        if chosen is None or not str(chosen).isdigit():
            open_ = notes_usecase.open_followups(store(), tracker.sender_id, date.today())
            if not open_:
                dispatcher.utter_message(
                    text="U heeft geen openstaande afspraken.",
                    buttons=[{"title": "Wat moet ik nu doen?", "payload": payload("ask_next_step")}],
                )
            else:
                say_open_followups(dispatcher, open_, "Welke afspraak is gedaan?")
            return []
        done = notes_usecase.complete_followup(store(), tracker.sender_id, tracker.get_slot("role"), int(chosen))
        if done is None:
            dispatcher.utter_message(text="Die afspraak kan ik niet (meer) vinden. Er is niets veranderd.")
            return []
        dispatcher.utter_message(
            text=f"Afgevinkt: {done.description}\nLeg vast wat eruit kwam, dan staat het in het dossier.",
            buttons=[
                {"title": "Vervolg vastleggen", "payload": payload("record_note", note_kind="vervolg")},
                {"title": "Wat moet ik nu doen?", "payload": payload("ask_next_step")},
            ],
        )
        return []
