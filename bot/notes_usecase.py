"""Use cases of the dossier notes: save a confirmed note, and undo the last one.

Why these belong together: saving a note does three things that must stay consistent. It stores the
note, records on the case what the note says was done (``bot.steps.record_note``: after a stap-3
conversation note, "wat moet ik nu doen?" shows stap 4), and keeps with the note what that changed
(``bot.steps.NoteProgress``). "Maak de laatste notitie ongedaan" then takes back the note and exactly
its progress, and nothing the teacher recorded otherwise. The form that collects and confirms the note
stays in the action; these functions get a confirmed note and the repositories, and return a ``Reply``.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Mapping, Optional

from bot import steps
from bot.cases import NEXT_CHOICE, case_slot_values, case_state
from bot.notes import NOTE_KINDS, UNDO_MINUTES, note_kind, occurred_at, save_key, undo_allowed
from bot.reply import Choice, Reply
from bot.store.repositories import AccessDenied, NotFound

if TYPE_CHECKING:  # types only: the repositories are passed in by the caller
    from bot.store.repositories import CaseRecord, FollowUpRecord, Repositories

DOSSIER_CHOICE = Choice("Toon mijn dossier", "show_dossier")
NEW_NOTE_CHOICE = Choice("Nieuwe aantekening", "record_note")
NOTHING_TO_UNDO = "Ik vind geen aantekening van u die ik ongedaan kan maken."


def milestones_phrase(milestones: Iterable[str]) -> str:
    return "; ".join(steps.milestone_label(m) for m in milestones)


def save_note(
    repos: Repositories, case: CaseRecord, user_id: str, role: Optional[str], kind: str, fields: Mapping[str, Any]
) -> Reply:
    """Store a confirmed (already masked) note and move the case by what it records.

    A save sent twice (a lost reply, two replicas) finds the note already stored under its key and
    records nothing new, so neither the note nor its progress is doubled."""
    state, progress = steps.record_note(case_state(case), kind, fields)
    repos.notes.add(
        case.id,
        kind,
        user_id,
        role,
        dict(fields),
        occurred_at(kind, fields),
        save_key(case.id, kind, fields),
        progress.as_json(),
    )
    lines = [f"Opgeslagen in het dossier van {case.pseudonym}."]
    moved = case
    if progress.milestones:
        moved = repos.cases.update_progress(case.id, state.step, sorted(state.done))
        lines.append(f"Genoteerd: {milestones_phrase(progress.milestones)}. Uw casus staat nu op stap {moved.step}.")
    return Reply("\n".join(lines), (DOSSIER_CHOICE, NEXT_CHOICE), case_slot_values(moved))


def undo_last_note(
    repos: Repositories, user_id: str, role: Optional[str], current_case_id: Optional[str], now: datetime
) -> Reply:
    """Take the user's last note out of the dossier within the undo window, with what it recorded.

    The case is put back before the note is removed: if the removal fails, the note is still the last
    one and a second undo finds it (and the case already put back) instead of removing an older note."""
    note = repos.notes.last_by_author(user_id)
    if note is None:
        return Reply(NOTHING_TO_UNDO)
    label = note_kind(note.kind).label if note.kind in NOTE_KINDS else "Aantekening"
    if not undo_allowed(note.created_at, now):
        return Reply(
            f"Sorry, de laatste aantekening ({label}) is langer dan {UNDO_MINUTES} minuten geleden "
            "opgeslagen; die kan ik niet meer ongedaan maken. Klopt er iets niet? Leg dan een nieuwe "
            "aantekening vast met de correctie, dan blijft het dossier volledig.",
            (DOSSIER_CHOICE, NEW_NOTE_CHOICE),
        )
    progress = steps.NoteProgress.from_json(note.progress)
    lines = [f"De laatste aantekening ({label}) is uit het dossier gehaald."]
    slots: Dict[str, Any] = {}
    if progress.milestones:
        case = repos.cases.get(note.case_id, user_id, role)
        back = steps.undo_note(case_state(case), progress)
        case = repos.cases.update_progress(case.id, back.step, sorted(back.done))
        lines.append(
            f"Ook teruggezet: {milestones_phrase(progress.milestones)}. "
            f"Casus {case.pseudonym} staat nu op stap {case.step}."
        )
        if case.id == current_case_id:
            slots = case_slot_values(case)
    repos.notes.remove(note.id, user_id)
    return Reply("\n".join(lines), (DOSSIER_CHOICE,), slots)


def open_followups(repos: Repositories, user_id: str, today: date) -> List[FollowUpRecord]:
    """The follow-ups still open in the user's open cases, the due ones first."""
    return repos.followups.open_for(user_id, today)


def complete_followup(
    repos: Repositories, user_id: str, role: Optional[str], followup_id: int
) -> Optional[FollowUpRecord]:
    """Tick a follow-up off as done; None when it is not there or not the user's to tick off (nothing
    changes then). Ticking off is not the record of what came of it: that is a vervolg note."""
    try:
        return repos.followups.complete(followup_id, user_id, role)
    except (AccessDenied, NotFound):
        return None
