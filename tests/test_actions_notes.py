"""Note form and dossier actions against trackers, a CollectingDispatcher and a real SQLite store."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.notes import (
    ActionAskNoteAnswer,
    ActionAskNoteConfirmed,
    ActionChangeNoteField,
    ActionCompleteFollowUp,
    ActionExportDossier,
    ActionSaveNote,
    ActionShowDossier,
    ActionUndoNote,
    ValidateNoteForm,
)
from bot import dossier
from bot.notes import AMSTERDAM
from bot.store.db import repositories

SENDER = "notes-teacher"


@pytest.fixture()
def store(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    monkeypatch.setenv("MELDWIJZER_DB_URL", f"sqlite:///{tmp_path / 'cases.db'}")
    monkeypatch.setenv("MELDWIJZER_PROFILE", "onzewijs")
    return repositories()


@pytest.fixture()
def case(store):
    return store.cases.create(SENDER, "onzewijs", "Leerling K7")


def note_tracker(
    case_id: Optional[str],
    text: str = "",
    intent: str = "nlu_fallback",
    values: Optional[Dict[str, Any]] = None,
    kind: str = "signaal",
    requested: str = "note_answer",
    **slots: Any,
) -> Tracker:
    """A tracker inside note_form, the way Rasa sends it to the action server: the user's answer was
    just extracted into note_answer (a slot event after the user event), so the form validates it."""
    parse = {"intent": {"name": intent, "confidence": 0.9}, "entities": []}
    events = [{"event": "action", "name": "action_listen"}, {"event": "user", "text": text, "parse_data": parse}]
    if text:
        events.append({"event": "slot", "name": "note_answer", "value": text})
    return Tracker.from_dict(
        {
            "sender_id": SENDER,
            "slots": {
                "role": "teacher",
                "case_id": case_id,
                "pseudonym": "Leerling K7",
                "note_kind": kind,
                "note_fields": {"kind": kind, "values": values or {}},
                "note_answer": text or None,
                "note_confirmed": None,
                "requested_slot": requested,
                **slots,
            },
            "latest_message": {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": []},
            "events": events,
            "paused": False,
            "followup_action": None,
            "active_loop": {"name": "note_form"},
            "latest_action_name": "action_listen",
        }
    )


async def run(action: Any, tracker: Tracker, domain: Dict[str, Any]) -> tuple:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, domain)
    return dispatcher, events


def slot(events: List[Dict[str, Any]], name: str) -> Any:
    return next(e["value"] for e in events if e.get("event") == "slot" and e.get("name") == name)


def asks_next_field(events: List[Dict[str, Any]]) -> bool:
    """More fields to ask: the form leaves requested_slot to Rasa, which asks the empty note_answer."""
    return not any(e.get("name") == "requested_slot" for e in events)


def texts(dispatcher: CollectingDispatcher) -> str:
    return "\n".join(m.get("text") or "" for m in dispatcher.messages)


SIGNAL = {
    "moment": "2024-11-12T08:30+01:00",
    "plaats": "klas",
    "situatie": "bij binnenkomst",
    "aanwezigen": "[collega]",
    "waarnemingen": "Blauwe plek op de wang. Ik denk dat hij geslagen is.",
    "hypothese": "",
    "bron": "",
}


async def test_a_clear_date_is_filed_and_the_next_field_asked(case, domain) -> None:
    _, events = await run(ValidateNoteForm(), note_tracker(case.id, "gisteren om half negen"), domain)
    values = slot(events, "note_fields")["values"]
    yesterday = (datetime.now(AMSTERDAM) - timedelta(days=1)).date().isoformat()
    assert set(values) == {"moment"}
    assert re.fullmatch(rf"{yesterday}T08:30\+0[12]:00", values["moment"])
    assert slot(events, "note_answer") is None
    assert asks_next_field(events)


@pytest.mark.parametrize(
    "answer,reply",
    [
        ("ergens vorig jaar", "niet zeker lezen"),
        ("morgen om negen uur", "in de toekomst"),
    ],
)
async def test_an_unclear_or_future_date_is_asked_again(case, domain, answer, reply) -> None:
    dispatcher, events = await run(ValidateNoteForm(), note_tracker(case.id, answer), domain)
    assert reply in texts(dispatcher)
    assert slot(events, "note_answer") is None
    assert not any(e.get("name") == "note_fields" for e in events)


@pytest.mark.parametrize("answer", ["gisteren om 10 uur", "eergisteren", "12-11 om 10:15"])
async def test_a_moment_typed_where_the_place_is_asked_is_no_place(case, domain, answer) -> None:
    asked_place = note_tracker(case.id, answer, values={"moment": SIGNAL["moment"]})
    dispatcher, events = await run(ValidateNoteForm(), asked_place, domain)
    assert "tijdstip" in texts(dispatcher)
    assert slot(events, "note_fields")["values"] == {"moment": SIGNAL["moment"]}
    assert asks_next_field(events)
    dispatcher, _ = await run(ActionAskNoteAnswer(), followed(asked_place, events), domain)
    assert dispatcher.messages[0]["text"].startswith("Waar was dit?")


async def test_names_are_masked_before_they_are_kept(case, domain) -> None:
    values = {"moment": "2024-11-12", "plaats": "klas", "situatie": "gym", "aanwezigen": "geen"}
    dispatcher, events = await run(
        ValidateNoteForm(),
        note_tracker(case.id, "Moeder Fatma Yilmaz schreeuwde tegen Youssef.", values=values),
        domain,
    )
    kept = slot(events, "note_fields")["values"]["waarnemingen"]
    assert kept == "[moeder] schreeuwde tegen [persoon 1]."  # one number per person within the case
    assert "vervangen door [moeder] en [persoon 1]" in texts(dispatcher)
    assert "Fatma" not in texts(dispatcher)


async def test_no_to_an_optional_question_is_an_answer(case, domain) -> None:
    values = {k: v for k, v in SIGNAL.items() if k not in ("hypothese", "bron")}
    _, events = await run(ValidateNoteForm(), note_tracker(case.id, "nee", intent="deny", values=values), domain)
    assert slot(events, "note_fields")["values"]["hypothese"] == ""
    assert asks_next_field(events)  # the source question


async def test_when_everything_is_there_the_summary_is_asked(case, domain) -> None:
    values = {k: v for k, v in SIGNAL.items() if k != "bron"}
    _, events = await run(ValidateNoteForm(), note_tracker(case.id, "nee", intent="deny", values=values), domain)
    assert slot(events, "requested_slot") == "note_confirmed"


async def test_yes_no_question_offers_buttons_and_rejects_other_text(case, domain) -> None:
    values = {**SIGNAL, "bron": "de buurvrouw"}
    dispatcher, _ = await run(ActionAskNoteAnswer(), note_tracker(case.id, values=values), domain)
    assert dispatcher.messages[0]["text"].startswith("Heeft deze persoon toestemming")
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["/affirm", "/deny", "/stop_note"]
    dispatcher, events = await run(ValidateNoteForm(), note_tracker(case.id, "de buurvrouw", values=values), domain)
    assert "ja of nee" in texts(dispatcher) and slot(events, "note_answer") is None


async def test_summary_shows_fact_and_hypothesis_apart(case, domain) -> None:
    dispatcher, _ = await run(
        ActionAskNoteConfirmed(), note_tracker(case.id, values=SIGNAL, requested="note_confirmed"), domain
    )
    text = texts(dispatcher)
    assert "- Waarnemingen (feiten): Blauwe plek op de wang." in text
    assert "- Hypothese of veronderstelling: Ik denk dat hij geslagen is." in text
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert payloads[0] == "/affirm" and payloads[-1] == "/deny"  # save ... cancel
    assert payloads[1:-1] == [
        f'/change_note_field{{"note_field": "{name}"}}'
        for name in ("moment", "plaats", "situatie", "aanwezigen", "waarnemingen", "hypothese", "bron")
    ]


async def test_confirmed_note_is_stored_masked_with_its_moment(store, case, domain) -> None:
    dispatcher, events = await run(ActionSaveNote(), note_tracker(case.id, values=SIGNAL, note_confirmed=True), domain)
    [note] = store.notes.list(case.id, SENDER, "teacher")
    assert note.kind == "signaal" and note.fields == SIGNAL and note.author_role == "teacher"
    assert note.occurred_at.isoformat().startswith("2024-11-12T07:30")  # 08:30 Amsterdam, stored in UTC
    assert "Opgeslagen in het dossier van Leerling K7." in texts(dispatcher)
    assert slot(events, "note_fields") is None


async def test_a_saved_conversation_note_moves_the_case_so_what_now_is_no_longer_step_1(store, case, domain) -> None:
    talk = {
        "moment": "2024-11-12T08:30+01:00",
        "met_wie": "moeder en de intern begeleider",
        "doel": "zorgen delen",
        "feiten": "blauwe plekken op de arm",
        "reactie": "moeder schrok",
        "afspraken": "geen",
        "ondertekend": False,
    }
    dispatcher, events = await run(
        ActionSaveNote(), note_tracker(case.id, values=talk, kind="gesprek", note_confirmed=True), domain
    )
    stored = store.cases.open_case(SENDER)
    assert "parents_talked" in stored.done and stored.step == 4
    assert slot(events, "case_step") == 4
    assert "Gesprek met de ouders gevoerd" in texts(dispatcher) and "stap 4" in texts(dispatcher)

    from actions.steps import ActionNextStep

    dispatcher, _ = await run(ActionNextStep(), note_tracker(case.id), domain)
    assert "Stap 4" in texts(dispatcher) and "Stap 1" not in texts(dispatcher)


async def test_rejected_summary_stores_nothing(store, case, domain) -> None:
    dispatcher, _ = await run(ActionSaveNote(), note_tracker(case.id, values=SIGNAL, note_confirmed=False), domain)
    assert store.notes.list(case.id, SENDER, "teacher") == []
    assert "niets opgeslagen" in texts(dispatcher)


async def test_without_a_case_the_form_asks_nothing(store, domain) -> None:
    _, events = await run(ValidateNoteForm(), note_tracker(None, "gisteren"), domain)
    assert slot(events, "requested_slot") is None


async def test_show_and_export_the_dossier(store, case, domain) -> None:
    store.notes.add(case.id, "signaal", SENDER, "teacher", SIGNAL, None)
    dispatcher, _ = await run(ActionShowDossier(), note_tracker(case.id), domain)
    assert texts(dispatcher).splitlines() == [
        "Dossier van Leerling K7, 1 aantekening(en):",
        "- dinsdag 12 november 2024 om 08:30: Signaal",
    ]
    dispatcher, _ = await run(ActionExportDossier(), note_tracker(case.id), domain)
    text = texts(dispatcher)
    assert text.startswith("# Dossieroverzicht meldcode")
    assert "- **Leerling:** Leerling K7" in text and "Vertrouwelijk — opnemen in het leerlingdossier" in text


async def test_an_answer_heard_as_acute_danger_gets_112_first_and_is_kept(case, domain) -> None:
    values = {k: v for k, v in SIGNAL.items() if k in ("moment", "plaats", "situatie", "aanwezigen")}
    answer = "Hij had een blauwe plek op zijn wang en moeder was boos bij het hek."
    dispatcher, events = await run(
        ValidateNoteForm(), note_tracker(case.id, answer, intent="acute_danger", values=values), domain
    )
    assert "112" in dispatcher.messages[0]["text"]
    assert slot(events, "note_fields")["values"]["waarnemingen"] == answer


def channel_tracker(
    case_id: str, channel: str, intent: str = "export_dossier", entities: Optional[List[Dict[str, Any]]] = None
) -> Tracker:
    """A tracker outside any form whose last message came in over ``channel``."""
    data = note_tracker(case_id).current_state()
    parse = {"intent": {"name": intent, "confidence": 1.0}, "entities": entities or []}
    data.update(
        active_loop={},
        latest_message={"text": "", **parse},
        events=[{"event": "user", "text": "", "parse_data": parse, "input_channel": channel}],
    )
    return Tracker.from_dict(data)


async def test_the_web_channel_gets_download_links_that_open_this_case_for_this_user(store, case, domain) -> None:
    store.notes.add(case.id, "signaal", SENDER, "teacher", SIGNAL, None)
    dispatcher, _ = await run(ActionExportDossier(), channel_tracker(case.id, "web"), domain)
    attachment = next(m["attachment"] for m in dispatcher.messages if m.get("attachment"))
    assert attachment["type"] == "download"
    urls = [f["url"] for f in attachment["files"]]
    assert [u.rsplit("/", 1)[1] for u in urls] == ["pdf", "md"]
    token = urls[0].split("/")[1]
    assert dossier.read_download_token(token) == dossier.Grant(case.id, SENDER, "teacher")
    assert "# Dossieroverzicht" not in texts(dispatcher)  # the file, not a wall of text
    assert "15 minuten" in texts(dispatcher)


async def test_other_channels_get_the_text(store, case, domain) -> None:
    dispatcher, _ = await run(ActionExportDossier(), channel_tracker(case.id, "msteams"), domain)
    assert texts(dispatcher).startswith("# Dossieroverzicht meldcode")
    assert not any(m.get("attachment") for m in dispatcher.messages)


async def test_a_follow_up_is_ticked_off_by_its_button_and_then_shows_as_done(store, case, domain) -> None:
    followup = store.followups.add(case.id, "vt_feedback", date.today(), "Veilig Thuis laat binnen 5 werkdagen ...")
    button = [{"entity": "followup_id", "value": str(followup.id)}]
    dispatcher, _ = await run(
        ActionCompleteFollowUp(), channel_tracker(case.id, "rest", "complete_followup", button), domain
    )
    assert texts(dispatcher).startswith("Afgevinkt: Veilig Thuis laat")
    assert '/record_note{"note_kind": "vervolg"}' in [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert store.followups.open_for(SENDER, date.today()) == []
    done = store.followups.for_case(case.id, SENDER, "teacher")
    assert done[0].done_at is not None


async def test_typed_completion_asks_which_follow_up_and_foreign_ids_change_nothing(store, case, domain) -> None:
    mine = store.followups.add(case.id, "vt_feedback", date.today(), "terugkoppeling Veilig Thuis")
    other_case = store.cases.create("someone-else", "onzewijs", "Leerling ZZ")
    foreign = store.followups.add(other_case.id, "vt_feedback", date.today(), "niet van u")

    dispatcher, _ = await run(ActionCompleteFollowUp(), channel_tracker(case.id, "rest", "complete_followup"), domain)
    assert texts(dispatcher).startswith("Welke afspraak is gedaan?")
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == [
        f'/complete_followup{{"followup_id": "{mine.id}"}}'
    ]

    button = [{"entity": "followup_id", "value": str(foreign.id)}]
    dispatcher, _ = await run(
        ActionCompleteFollowUp(), channel_tracker(case.id, "rest", "complete_followup", button), domain
    )
    assert "niet (meer) vinden" in texts(dispatcher)
    assert store.followups.for_case(other_case.id, "someone-else", None)[0].done_at is None


async def test_the_dossier_view_lists_open_follow_ups_with_their_buttons(store, case, domain) -> None:
    store.notes.add(case.id, "signaal", SENDER, "teacher", SIGNAL, None)
    store.followups.add(case.id, "vt_feedback", date.today(), "terugkoppeling Veilig Thuis")
    dispatcher, _ = await run(ActionShowDossier(), note_tracker(case.id), domain)
    assert "Openstaande afspraken:\n- vandaag: terugkoppeling Veilig Thuis" in texts(dispatcher)
    assert any(b["payload"].startswith("/complete_followup") for b in dispatcher.messages[0]["buttons"])


async def test_a_role_heard_as_staff_suspicion_is_just_filed_but_acute_danger_still_comes_first(case, domain) -> None:
    values = {k: v for k, v in SIGNAL.items() if k in ("moment", "plaats", "situatie")}
    dispatcher, events = await run(
        ValidateNoteForm(), note_tracker(case.id, "een collega", intent="staff_suspect", values=values), domain
    )
    assert dispatcher.messages == []
    assert slot(events, "note_fields")["values"]["aanwezigen"] == "een collega"

    dispatcher, events = await run(
        ValidateNoteForm(),
        note_tracker(case.id, "vader met een mes bij het hek", intent="acute_danger", values=values),
        domain,
    )
    assert "112" in dispatcher.messages[0]["text"]
    assert slot(events, "note_fields")["values"]["aanwezigen"] == "vader met een mes bij het hek"


async def test_confirming_the_same_note_twice_stores_it_once(store, case, domain) -> None:
    """The reply to 'Opslaan' was lost and the teacher presses it again: one note in the dossier."""
    confirmed = note_tracker(case.id, values=SIGNAL, note_confirmed=True)
    for _ in range(2):
        await run(ActionSaveNote(), confirmed, domain)
    assert len(store.notes.list(case.id, SENDER, "teacher")) == 1


# --- a note from one message, change, cancel, undo, questions mid-form (issue 16) ----------------------

FIXED_NOW = datetime(2024, 11, 14, 15, 0, tzinfo=AMSTERDAM)  # Thursday afternoon
EVERYTHING = (
    "Ik wil een signaal noteren: vandaag om 10 uur zag ik tijdens het buitenspelen op het plein, samen "
    "met een collega, dat de leerling blauwe plekken op beide armen had. Ik heb het zelf gezien. "
    "Ik denk dat hij thuis geslagen wordt."
)


@pytest.fixture()
def clock(monkeypatch: pytest.MonkeyPatch):
    """The notes actions' clock, set by the test."""
    import actions.notes

    current = {"now": FIXED_NOW}
    monkeypatch.setattr(actions.notes, "now", lambda: current["now"])
    return current


def opening_tracker(case_id: str, text: str, kind: str = "signaal", intent: str = "record_note") -> Tracker:
    """The form just activated by a typed record_note message whose note_kind entity Rasa extracted."""
    data = note_tracker(case_id, kind=kind, requested=None).current_state()
    parse = {"intent": {"name": intent, "confidence": 0.95}, "entities": [{"entity": "note_kind", "value": kind}]}
    data.update(
        note_fields=None,
        latest_message={"text": text, **parse},
        events=[
            {"event": "action", "name": "action_listen"},
            {"event": "user", "text": text, "parse_data": parse},
            {"event": "slot", "name": "note_kind", "value": kind},
        ],
    )
    data["slots"].update(note_fields=None)
    return Tracker.from_dict(data)


def followed(tracker: Tracker, events: List[Dict[str, Any]]) -> Tracker:
    """The tracker after the action's slot events were applied (what the next action sees)."""
    data = tracker.current_state()
    for e in events:
        if e.get("event") == "slot":
            data["slots"][e["name"]] = e["value"]
    return Tracker.from_dict(data)


async def test_a_request_the_model_read_as_a_worry_still_gives_its_note_to_the_form(store, case, domain, clock) -> None:
    """With a case open, ActionStartCase hands "signaal vastleggen: ..." (start_case to the model) to the
    form, which reads the note from it; a worry without a request is no note."""
    text = "signaal vastleggen: vandaag om 10 uur zag ik op het plein dat hij striemen op zijn rug had"
    _, events = await run(ValidateNoteForm(), opening_tracker(case.id, text, intent="start_case"), domain)
    values = slot(events, "note_fields")["values"]
    assert values["plaats"] == "op het plein" and "striemen op zijn rug" in values["waarnemingen"]
    worry = opening_tracker(case.id, "ik maak me zorgen, hij had striemen op zijn rug", intent="start_case")
    _, events = await run(ValidateNoteForm(), worry, domain)
    assert slot(events, "note_fields")["values"] == {}


async def test_one_message_with_everything_goes_straight_to_the_summary(store, case, domain, clock) -> None:
    dispatcher, events = await run(ValidateNoteForm(), opening_tracker(case.id, EVERYTHING), domain)
    values = slot(events, "note_fields")["values"]
    assert values == {
        "moment": "2024-11-14T10:00+01:00",
        "plaats": "op het plein",
        "situatie": "tijdens het buitenspelen",
        "aanwezigen": "een collega",
        "bron": "",
        "waarnemingen": "vandaag om 10 uur zag ik tijdens het buitenspelen op het plein, samen met een collega, "
        "dat de leerling blauwe plekken op beide armen had. Ik heb het zelf gezien.",
        "hypothese": "Ik denk dat hij thuis geslagen wordt.",
    }
    assert slot(events, "requested_slot") == "note_confirmed"  # no further question

    summary_dispatcher, _ = await run(
        ActionAskNoteConfirmed(), followed(opening_tracker(case.id, EVERYTHING), events), domain
    )
    text = texts(summary_dispatcher)
    assert "- Wanneer: donderdag 14 november 2024 om 10:00" in text and "- Waar: op het plein" in text
    assert "- Hypothese of veronderstelling: Ik denk dat hij thuis geslagen wordt." in text


async def test_the_issue_message_typed_at_the_date_question_asks_only_what_is_missing(case, domain, clock) -> None:
    """Issue 16: this answer used to get "Die datum kan ik niet zeker lezen"."""
    answer = "Vandaag om 10 uur zag ik op het plein dat de leerling blauwe plekken op beide armen had"
    dispatcher, events = await run(ValidateNoteForm(), note_tracker(case.id, answer), domain)
    values = slot(events, "note_fields")["values"]
    assert values == {"moment": "2024-11-14T10:00+01:00", "plaats": "op het plein", "waarnemingen": answer}
    assert "niet zeker lezen" not in texts(dispatcher)
    dispatcher, _ = await run(ActionAskNoteAnswer(), followed(note_tracker(case.id, answer), events), domain)
    assert dispatcher.messages[0]["text"].startswith("In welke situatie was dit?")  # the first missing one


async def test_a_message_without_the_place_asks_only_the_place(case, domain, clock) -> None:
    text = EVERYTHING.replace(" op het plein", "")
    tracker = opening_tracker(case.id, text)
    _, events = await run(ValidateNoteForm(), tracker, domain)
    values = slot(events, "note_fields")["values"]
    assert "plaats" not in values and asks_next_field(events)
    from bot.notes import missing_fields

    assert missing_fields("signaal", values) == ["plaats"]
    dispatcher, _ = await run(ActionAskNoteAnswer(), followed(tracker, events), domain)
    assert dispatcher.messages[0]["text"].startswith("Waar was dit?")

    _, events = await run(ValidateNoteForm(), note_tracker(case.id, "in de gymzaal", values=values), domain)
    assert slot(events, "note_fields")["values"]["plaats"] == "in de gymzaal"
    assert slot(events, "requested_slot") == "note_confirmed"


async def test_a_bare_request_fills_nothing(case, domain, clock) -> None:
    _, events = await run(ValidateNoteForm(), opening_tracker(case.id, "Ik wil een signaal noteren"), domain)
    assert slot(events, "note_fields") == {"kind": "signaal", "values": {}}


async def test_names_in_the_first_message_are_masked(case, domain, clock) -> None:
    text = "Ik wil een signaal noteren: gisteren zag ik op het plein dat Youssef blauwe plekken had"
    dispatcher, events = await run(ValidateNoteForm(), opening_tracker(case.id, text), domain)
    kept = slot(events, "note_fields")["values"]["waarnemingen"]
    assert "Youssef" not in kept and "[persoon 1]" in kept
    assert "vervangen door [persoon 1]" in texts(dispatcher)


async def test_change_one_field_asks_it_again_and_then_the_summary(case, domain, clock) -> None:
    values = {**SIGNAL, "bron": "de buurvrouw", "toestemming_bron": True}
    tracker = note_tracker(case.id, values=values, requested="note_confirmed")
    data = tracker.current_state()
    data["latest_message"]["entities"] = [{"entity": "note_field", "value": "plaats"}]
    dispatcher, events = await run(ActionChangeNoteField(), Tracker.from_dict(data), domain)
    assert "Nu staat bij 'Waar': klas" in texts(dispatcher)
    assert "plaats" not in slot(events, "note_fields")["values"]
    assert slot(events, "note_confirmed") is None
    dispatcher, _ = await run(ActionAskNoteAnswer(), followed(tracker, events), domain)
    assert dispatcher.messages[0]["text"].startswith("Waar was dit?")

    left = slot(events, "note_fields")["values"]
    _, events = await run(ValidateNoteForm(), note_tracker(case.id, "op het plein", values=left), domain)
    assert slot(events, "note_fields")["values"] == {**values, "plaats": "op het plein"}
    assert slot(events, "requested_slot") == "note_confirmed"


async def test_changing_the_source_asks_the_consent_again(case, domain) -> None:
    values = {**SIGNAL, "bron": "de buurvrouw", "toestemming_bron": True}
    data = note_tracker(case.id, values=values, requested="note_confirmed").current_state()
    data["latest_message"]["entities"] = [{"entity": "note_field", "value": "bron"}]
    _, events = await run(ActionChangeNoteField(), Tracker.from_dict(data), domain)
    assert not {"bron", "toestemming_bron"} & set(slot(events, "note_fields")["values"])


async def test_cancel_at_the_summary_stores_nothing(store, case, domain) -> None:
    dispatcher, _ = await run(
        ActionAskNoteConfirmed(), note_tracker(case.id, values=SIGNAL, requested="note_confirmed"), domain
    )
    cancel = dispatcher.messages[0]["buttons"][-1]
    assert cancel == {"title": "Annuleren, niet opslaan", "payload": "/deny"}
    dispatcher, _ = await run(ActionSaveNote(), note_tracker(case.id, values=SIGNAL, note_confirmed=False), domain)
    assert store.notes.list(case.id, SENDER, "teacher") == [] and "niets opgeslagen" in texts(dispatcher)


async def test_undo_within_ten_minutes_removes_the_last_note(store, case, domain, clock) -> None:
    older = store.notes.add(case.id, "signaal", SENDER, "teacher", SIGNAL, None)
    last = store.notes.add(case.id, "signaal", SENDER, "teacher", {**SIGNAL, "plaats": "gang"}, None)
    clock["now"] = last.created_at + timedelta(minutes=9)
    dispatcher, _ = await run(ActionUndoNote(), channel_tracker(case.id, "rest", "undo_note"), domain)
    assert "De laatste aantekening (Signaal) is uit het dossier gehaald." in texts(dispatcher)
    assert [n.id for n in store.notes.list(case.id, SENDER, "teacher")] == [older.id]


async def test_undo_takes_back_what_the_note_recorded_on_the_case(store, case, domain, clock) -> None:
    """A signal note moved the case to stap 2; undoing it puts the case back at stap 1."""
    _, events = await run(ActionSaveNote(), note_tracker(case.id, values=SIGNAL, note_confirmed=True), domain)
    assert slot(events, "case_step") == 2
    clock["now"] = store.notes.last_by_author(SENDER).created_at + timedelta(minutes=2)
    dispatcher, events = await run(ActionUndoNote(), channel_tracker(case.id, "rest", "undo_note"), domain)
    assert "Ook teruggezet: Signalen vastgelegd" in texts(dispatcher) and "stap 1" in texts(dispatcher)
    back = store.cases.get(case.id, SENDER, "teacher")
    assert back.step == 1 and back.done == () and slot(events, "case_step") == 1
    assert store.notes.list(case.id, SENDER, "teacher") == []


async def test_undo_keeps_what_the_teacher_recorded_after_the_note(store, case, domain, clock) -> None:
    """After the note the teacher said she consulted the IB'er (stap 3): the undo takes back the note's
    milestone only, and the case stays at the step the later progress put it."""
    await run(ActionSaveNote(), note_tracker(case.id, values=SIGNAL, note_confirmed=True), domain)
    store.cases.update_progress(case.id, 3, ["colleague_consulted", "signals_recorded"])
    clock["now"] = store.notes.last_by_author(SENDER).created_at + timedelta(minutes=2)
    await run(ActionUndoNote(), channel_tracker(case.id, "rest", "undo_note"), domain)
    back = store.cases.get(case.id, SENDER, "teacher")
    assert back.step == 3 and back.done == ("colleague_consulted",)


async def test_a_note_saved_twice_records_its_progress_once_and_undo_still_takes_it_back(
    store, case, domain, clock
) -> None:
    """The same confirmation twice (a retry after a lost reply) keeps one note and its first progress."""
    confirmed = note_tracker(case.id, values=SIGNAL, note_confirmed=True)
    await run(ActionSaveNote(), confirmed, domain)
    await run(ActionSaveNote(), confirmed, domain)
    [note] = store.notes.list(case.id, SENDER, "teacher")
    assert note.progress == {"milestones": ["signals_recorded"], "step_before": 1, "step_after": 2}
    clock["now"] = note.created_at + timedelta(minutes=1)
    await run(ActionUndoNote(), channel_tracker(case.id, "rest", "undo_note"), domain)
    assert store.cases.get(case.id, SENDER, "teacher").step == 1


async def test_undo_after_ten_minutes_is_politely_refused(store, case, domain, clock) -> None:
    note = store.notes.add(case.id, "signaal", SENDER, "teacher", SIGNAL, None)
    clock["now"] = note.created_at + timedelta(minutes=10, seconds=1)
    dispatcher, _ = await run(ActionUndoNote(), channel_tracker(case.id, "rest", "undo_note"), domain)
    assert "langer dan 10 minuten geleden" in texts(dispatcher) and texts(dispatcher).startswith("Sorry")
    assert len(store.notes.list(case.id, SENDER, "teacher")) == 1


async def test_undo_touches_only_the_users_own_notes(store, case, domain, clock) -> None:
    other_case = store.cases.create("someone-else", "onzewijs", "Leerling ZZ")
    store.notes.add(other_case.id, "signaal", "someone-else", "teacher", SIGNAL, None)
    dispatcher, _ = await run(ActionUndoNote(), channel_tracker(case.id, "rest", "undo_note"), domain)
    assert "geen aantekening" in texts(dispatcher)
    assert len(store.notes.list(other_case.id, "someone-else", "teacher")) == 1


async def test_a_question_typed_as_an_answer_is_not_filed(case, domain) -> None:
    values = {k: v for k, v in SIGNAL.items() if k in ("moment", "plaats")}
    dispatcher, events = await run(
        ValidateNoteForm(),
        note_tracker(case.id, "Moet ik dit ook aan de ouders vertellen?", intent="nlu_fallback", values=values),
        domain,
    )
    assert not any(e.get("name") == "note_fields" for e in events)
    assert slot(events, "note_answer") is None
    assert "Uw vraag heb ik niet in de aantekening gezet" in texts(dispatcher)


async def test_the_dossier_asked_mid_form_is_shown_and_the_note_is_kept(store, case, domain) -> None:
    """The rule answers show_dossier inside note_form (data/stories/notes.yml); the action must leave the
    form's slots alone so the form resumes where it was."""
    store.notes.add(case.id, "signaal", SENDER, "teacher", SIGNAL, None)
    values = {"moment": "2024-11-14T10:00+01:00"}
    dispatcher, events = await run(
        ActionShowDossier(), note_tracker(case.id, "toon mijn dossier", intent="show_dossier", values=values), domain
    )
    assert texts(dispatcher).startswith("Dossier van Leerling K7, 1 aantekening(en):")
    assert events == []


async def test_a_knowledge_question_typed_as_an_answer_is_answered_and_not_filed(case, domain) -> None:
    from bot import profiles, steps

    values = {k: v for k, v in SIGNAL.items() if k in ("moment", "plaats")}
    data = note_tracker(case.id, "Hoe lang moet ik het dossier bewaren?", intent="faq", values=values).current_state()
    data["latest_message"]["entities"] = [{"entity": "faq_key", "value": "dossier_retention"}]
    dispatcher, events = await run(ValidateNoteForm(), Tracker.from_dict(data), domain)
    answer, _ = steps.faq_answer("dossier_retention", profiles.profile())
    assert answer in texts(dispatcher)
    assert "Uw vraag heb ik niet in de aantekening gezet" in texts(dispatcher)
    assert not any(e.get("name") == "note_fields" for e in events)


async def test_a_kind_named_in_an_untagged_request_is_taken_and_the_note_read(case, domain) -> None:
    """ "signaal vastleggen: ..." read as a new worry, without the kind entity (a case is open, so
    ActionStartCase started the form): the kind is not asked again, and the note's fields are filled."""
    text = "signaal vastleggen: gisteren om 10 uur zag ik op het plein dat ze striemen op haar rug had"
    tracker = note_tracker(case.id, kind="", requested="note_kind")
    tracker.latest_message = {"text": text, "intent": {"name": "start_case", "confidence": 1.0}, "entities": []}
    tracker.events[-1] = {"event": "user", "text": text, "parse_data": tracker.latest_message}
    tracker.slots.update({"note_kind": None, "note_fields": None})
    _, events = await run(ValidateNoteForm(), tracker, domain)
    assert slot(events, "note_kind") == "signaal"
    values = slot(events, "note_fields")["values"]
    assert "plein" in values["plaats"] and "striemen op haar rug" in values["waarnemingen"]
