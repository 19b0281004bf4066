"""Cases: several per staff member, switching between them, closing, reopening and the automatic close.

Why this module: a teacher follows more than one pupil, and a case that is finished must be closed so
that the retention period starts and the purge can remove it. The rules (which close reasons exist,
when a case counts as inactive, who may reopen and until when) are plain functions over plain values;
the use-case functions below them load from the repositories they are given, decide with those rules,
store, and return a ``Reply``: the Dutch text, the choices to offer and the slot values to set. The
actions only translate a ``Reply`` into Rasa messages and events.

The repositories come in as an argument (the store is imported for types only, and for its one parser
of periods when the configuration is read), so the rules can be tested without a database.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Dict, List, Mapping, Optional, Tuple

from bot import steps
from bot.language.dates import AMSTERDAM, dutch_date
from bot.profiles import ATTENTION_OFFICER
from bot.reply import Choice, Reply

if TYPE_CHECKING:  # types only: the repositories are passed in by the caller
    from bot.store.repositories import CaseActivity, CaseRecord, FollowUpRecord, Repositories

ENV_AUTO_CLOSE_AFTER = "MELDWIJZER_AUTO_CLOSE_AFTER"
ENV_RETENTION = "MELDWIJZER_RETENTION"
DEFAULT_PERIOD = "180d"  # six months: the inactivity period and the documented purge period

# Why a case was closed, as the teacher chooses it (button order) and as the dossier shows it.
REASONS: Dict[str, str] = {
    "no_concerns": "Toch geen zorgen",
    "handed_to_vt": "Overgedragen aan Veilig Thuis",
    "help_monitored": "Hulp afgerond en gemonitord",
    "pupil_left": "Leerling heeft de school verlaten",
    "other": "Andere reden",
}
INACTIVE = "inactive"  # the automatic close; never offered as a button
REASON_LABELS: Dict[str, str] = {**REASONS, INACTIVE: "Automatisch afgesloten: geen activiteit"}

# Words a typed reason is recognised by (lower case, checked in this order).
_REASON_WORDS: Tuple[Tuple[str, Tuple[str, ...]], ...] = (
    ("handed_to_vt", ("veilig thuis", "overgedragen", "overdracht", "gemeld", "melding", "vt ")),
    (
        "pupil_left",
        (
            "verlaten",
            "verhuisd",
            "vertrokken",
            "andere school",
            "weg van school",
            "uitgeschreven",
            "niet meer op school",
            "verhuizing",
        ),
    ),
    (
        "no_concerns",
        (
            "geen zorg",
            "toch niks",
            "toch niets",
            "loos alarm",
            "vals alarm",
            "onterecht",
            "niets aan de hand",
            "niks aan de hand",
            "viel mee",
            "ongegrond",
        ),
    ),
    ("help_monitored", ("hulp", "gemonitord", "monitor", "afgerond", "loopt goed", "traject")),
    ("other", ("anders", "andere reden", "overig")),
)

PSEUDONYM_ALPHABET = "ACDEFHJKLMNPRTUVWXY3479"  # no look-alikes (0/O, 1/I, 5/S, 8/B)
MAX_CASE_BUTTONS = 8


# --- plain values --------------------------------------------------------------------------------


# --- rules ---------------------------------------------------------------------------------------


def new_pseudonym() -> str:
    """A random case name: the pupil's identity is never stored, the school links it in its own files."""
    return "Leerling " + "".join(secrets.choice(PSEUDONYM_ALPHABET) for _ in range(4))


def configured_period(env: Mapping[str, str], name: str) -> timedelta:
    """The period in ``env[name]`` ('180d', '26w', '2y': the format of ``bot purge``), or six months."""
    from bot.store.cli import parse_older_than  # the one parser of periods; here only for configuration

    return parse_older_than(env.get(name) or DEFAULT_PERIOD)


def auto_close_after(env: Optional[Mapping[str, str]] = None) -> timedelta:
    """How long a case may be without activity before it is closed (``MELDWIJZER_AUTO_CLOSE_AFTER``)."""
    return configured_period(os.environ if env is None else env, ENV_AUTO_CLOSE_AFTER)


def retention(env: Optional[Mapping[str, str]] = None) -> timedelta:
    """How long a closed case is kept (``MELDWIJZER_RETENTION``, the period given to ``bot purge``)."""
    return configured_period(os.environ if env is None else env, ENV_RETENTION)


def read_reason(text: str) -> Optional[str]:
    """The reason code of a clicked code or a typed reason ('hij is verhuisd' -> pupil_left); None when
    the text names none, so the question is asked again instead of guessing."""
    lowered = f" {text.strip().lower()} "
    if lowered.strip() in REASONS:
        return lowered.strip()
    for code, label in REASONS.items():
        if lowered.strip() == label.lower():
            return code
    for code, words in _REASON_WORDS:
        if any(word in lowered for word in words):
            return code
    return None


def is_inactive(last_activity: datetime, now: datetime, after: timedelta) -> bool:
    """A case is inactive when nothing happened in it for ``after`` or longer."""
    return now - last_activity >= after


def may_reopen(viewer_id: str, owner_id: str, viewer_is_officer: bool) -> bool:
    """The owner may reopen, and the aandachtsfunctionaris the school granted the role; nobody else."""
    return viewer_id == owner_id or viewer_is_officer


def within_retention(closed_at: datetime, now: datetime, kept_for: timedelta) -> bool:
    """A closed case can come back only while it is still kept (before the purge may delete it)."""
    return now - closed_at < kept_for


def local_day(moment: datetime) -> str:
    """'3 december 2026', in Dutch time: what the teacher sees as the date."""
    return dutch_date(moment.astimezone(AMSTERDAM).date())


def closed_day(case: CaseRecord) -> str:
    """The Dutch date the case was closed ('' while it is open)."""
    return local_day(case.closed_at) if case.closed_at is not None else ""


def prefixed(pseudonym: str, text: str) -> str:
    """Every reply about a case names it first, so a teacher with several cases knows which one."""
    return f"Casus {pseudonym}: {text}"


def closing_line(case: CaseRecord) -> Optional[str]:
    """The dossier's line about the close: when and why; None while the case is open."""
    if case.closed_at is None:
        return None
    label = REASON_LABELS.get(case.close_reason or "", "reden niet vastgelegd")
    return f"{closed_day(case)} — {label}"


def followups_phrase(count: int) -> str:
    return {0: "geen open afspraken", 1: "1 open afspraak"}.get(count, f"{count} open afspraken")


def case_line(activity: CaseActivity, current: bool) -> str:
    """'- Leerling K7MQ (huidige casus): stap 2, laatste activiteit 3 december 2026, 1 open afspraak'."""
    case = activity.case
    mark = " (huidige casus)" if current else ""
    return (
        f"- {case.pseudonym}{mark}: stap {case.step}, laatste activiteit {local_day(activity.last_activity)}, "
        f"{followups_phrase(activity.open_followups)}"
    )


def case_slot_values(case: Optional[CaseRecord]) -> Dict[str, Any]:
    """The slots that mirror the conversation's case (the store stays the source of truth)."""
    if case is None:
        return {"case_id": None, "case_step": None, "pseudonym": None, "case_done": None}
    return {"case_id": case.id, "case_step": case.step, "pseudonym": case.pseudonym, "case_done": sorted(case.done)}


def case_state(case: Optional[CaseRecord]) -> steps.CaseState:
    """The protocol's view of a stored case (``bot.steps`` decides on it); no case: no step yet."""
    if case is None:
        return steps.CaseState(step=None)
    return steps.CaseState(step=case.step, done=frozenset(case.done))


def _now(now: Optional[datetime]) -> datetime:
    return now or datetime.now(timezone.utc)


LIST_CHOICE = Choice("Mijn casussen", "list_cases")
NEW_CHOICE = Choice("Nieuwe casus", "new_case")
NEXT_CHOICE = Choice("Wat moet ik nu doen?", "ask_next_step")
REOPEN_CHOICE = Choice("Casus heropenen", "reopen_case")
KEEP_OPEN_CHOICE = Choice("Toch niet afsluiten", "deny")
FINISH_NOTE_FIRST = (
    "U bent een notitie aan het vastleggen. Maak die eerst af, of typ 'stop'; daarna kunt u naar een andere casus."
)


# --- use cases -----------------------------------------------------------------------------------


def open_case(
    repos: Repositories, user_id: str, organisation_id: str, role: Optional[str], step: int = 1
) -> CaseRecord:
    """A new case, started explicitly, at ``step`` (4 when the weighing is where it starts); the user's
    other open cases stay open. The user row keeps the role, so it is asked only once."""
    repos.users.upsert(user_id, organisation_id=organisation_id, role=role)
    case = repos.cases.create(user_id, organisation_id, new_pseudonym())
    return case if step == 1 else repos.cases.update_progress(case.id, step, [])


def list_cases(repos: Repositories, user_id: str, current_id: Optional[str], in_note: bool = False) -> Reply:
    """'Mijn casussen': the user's open cases, the most recently active first, each a button to switch.

    Asked in the middle of a note (``in_note``), the list is shown without the switch buttons: the note
    belongs to the current case, so switching first would file it under another pupil."""
    found = repos.cases.open_with_activity(user_id)
    if not found:
        return Reply(
            "U heeft geen open casussen.", (Choice("Ik maak me zorgen over een leerling", "start_case"), REOPEN_CHOICE)
        )
    lines = ["Uw open casussen:", *(case_line(a, a.case.id == current_id) for a in found)]
    if in_note:
        return Reply("\n".join([*lines, FINISH_NOTE_FIRST]))
    buttons = tuple(
        Choice(f"{a.case.pseudonym} (stap {a.case.step})", "switch_case", (("case_ref", a.case.id),))
        for a in found[:MAX_CASE_BUTTONS]
    )
    return Reply("\n".join([*lines, "Kies een casus om daarmee verder te gaan."]), buttons + (NEW_CHOICE,))


def switch_case(
    repos: Repositories, user_id: str, case_id: Optional[str], current_id: Optional[str], in_note: bool = False
) -> Reply:
    """Continue with another of the user's open cases; without a (valid) choice, the list to choose from.
    In the middle of a note nothing switches: the note belongs to the current case."""
    if in_note:
        return Reply(FINISH_NOTE_FIRST)
    if not case_id:
        return list_cases(repos, user_id, current_id)
    case = repos.cases.open_case(user_id, preferred_id=case_id)
    if case is None or case.id != case_id:
        listed = list_cases(repos, user_id, current_id)
        return Reply("Die casus staat niet (meer) open bij u. " + listed.text, listed.choices)
    return Reply(
        prefixed(
            case.pseudonym, f"u werkt nu verder aan deze casus (stap {case.step}). Uw andere casussen blijven open."
        ),
        (NEXT_CHOICE, LIST_CHOICE),
        case_slot_values(case),
    )


def ask_close_reason(case: CaseRecord) -> Reply:
    """The question before closing: why (the dossier must show it)."""
    # The case rides along, so a reason clicked later under an old question cannot close another case.
    reasons = tuple(
        Choice(label, "close_case", (("close_reason", code), ("case_ref", case.id))) for code, label in REASONS.items()
    )
    return Reply(prefixed(case.pseudonym, "waarom sluit u deze casus af?"), reasons + (KEEP_OPEN_CHOICE,))


def close_case(
    repos: Repositories,
    user_id: str,
    case: CaseRecord,
    reason: str,
    now: Optional[datetime] = None,
    kept_for: Optional[timedelta] = None,
) -> Reply:
    """Close the conversation's case with its reason; the conversation moves to the next open case."""
    if reason not in REASONS:
        raise ValueError(f"unknown close reason {reason!r}; known: {', '.join(REASONS)}")
    closed = repos.cases.close(case.id, reason=reason, closed_by=user_id, now=_now(now))
    kept = (kept_for or retention()).days
    text = prefixed(
        closed.pseudonym,
        f"afgesloten ({REASONS[reason].lower()}). Dat staat in het dossier. "
        f"De casus blijft nog {kept} dagen bewaard en kan tot dan heropend worden; "
        "daarna wordt hij verwijderd.",
    )
    return Reply(text, (LIST_CHOICE, NEW_CHOICE), case_slot_values(repos.cases.open_case(user_id)))


def _is_officer(repos: Repositories, user_id: str, organisation_id: str, role: Optional[str]) -> bool:
    """Granted by the school and asking in that capacity (the stated role alone grants nothing)."""
    return role == ATTENTION_OFFICER and any(
        g.user_id == user_id and g.role == ATTENTION_OFFICER for g in repos.roles.list(organisation_id)
    )


def reopenable(
    repos: Repositories,
    user_id: str,
    role: Optional[str],
    organisation_id: str,
    now: Optional[datetime] = None,
    kept_for: Optional[timedelta] = None,
) -> List[CaseRecord]:
    """Closed cases this user may still reopen: their own, or as aandachtsfunctionaris the school's."""
    officer = _is_officer(repos, user_id, organisation_id, role)
    listed = repos.cases.list_for(user_id, ATTENTION_OFFICER if officer else None, organisation_id)
    kept, moment = kept_for or retention(), _now(now)
    return [c for c in listed if c.closed_at is not None and within_retention(c.closed_at, moment, kept)]


def reopen_case(
    repos: Repositories,
    user_id: str,
    role: Optional[str],
    organisation_id: str,
    case_id: Optional[str],
    now: Optional[datetime] = None,
    kept_for: Optional[timedelta] = None,
) -> Reply:
    """Reopen a closed case and continue with it; without a choice, the closed cases to choose from."""
    moment, kept = _now(now), kept_for or retention()
    candidates = reopenable(repos, user_id, role, organisation_id, moment, kept)
    if not case_id:
        if not candidates:
            return Reply("Er is geen afgesloten casus die u nog kunt heropenen.", (LIST_CHOICE,))
        return Reply(
            "Welke casus wilt u heropenen?",
            tuple(
                Choice(f"{c.pseudonym} (afgesloten {closed_day(c)})", "reopen_case", (("case_ref", c.id),))
                for c in candidates[:MAX_CASE_BUTTONS]
            ),
        )
    chosen = next((c for c in candidates if c.id == case_id), None)
    if chosen is None:
        return Reply(
            "Die casus kunt u niet heropenen: hij is niet van u, staat nog open of wordt niet meer bewaard.",
            (LIST_CHOICE,),
        )
    officer = _is_officer(repos, user_id, chosen.organisation_id, role)
    if not may_reopen(user_id, chosen.owner_id, officer):
        return Reply("Die casus kunt u niet heropenen.", (LIST_CHOICE,))
    case = repos.cases.reopen(chosen.id, user_id, ATTENTION_OFFICER if officer else None, moment)
    slots = case_slot_values(case) if case.owner_id == user_id else {}
    return Reply(prefixed(case.pseudonym, f"weer geopend, in stap {case.step}."), (NEXT_CHOICE, LIST_CHOICE), slots)


def close_inactive(
    repos: Repositories, after: Optional[timedelta] = None, now: Optional[datetime] = None
) -> List[CaseRecord]:
    """Close every open case without activity for ``after`` (default ``MELDWIJZER_AUTO_CLOSE_AFTER``);
    the reason shows in the dossier and the owner hears of it at the next conversation."""
    period, moment = after or auto_close_after(), _now(now)
    return [
        repos.cases.close(a.case.id, reason=INACTIVE, closed_by=None, now=moment)
        for a in repos.cases.open_with_activity()
        if is_inactive(a.last_activity, moment, period)
    ]


def close_notices(
    repos: Repositories, user_id: str, now: Optional[datetime] = None, after: Optional[timedelta] = None
) -> Optional[Reply]:
    """What the owner hears once at the next conversation about cases closed for inactivity."""
    closed = repos.cases.take_close_notices(user_id, INACTIVE, _now(now))
    if not closed:
        return None
    days = (after or auto_close_after()).days
    lines = [
        prefixed(
            c.pseudonym,
            f"automatisch afgesloten op {closed_day(c)}, omdat er {days} dagen "
            "niets is gebeurd. Dat staat in het dossier.",
        )
        for c in closed
    ]
    lines.append("Is een casus nog niet klaar? Dan kunt u hem heropenen.")
    return Reply("\n".join(lines), (REOPEN_CHOICE,))


@dataclass(frozen=True)
class Restored:
    """What a new conversation starts from: the role kept for this identity, the notice of cases closed
    for inactivity (told once), the case it continues and that case owner's open follow-ups."""

    role: Optional[str]
    notice: Optional[Reply]
    case: Optional[CaseRecord]
    followups: Tuple[FollowUpRecord, ...]


def restore_session(repos: Repositories, user_id: str, preferred_case_id: Optional[str], today: date) -> Restored:
    """A conversation (re)starts: nothing is asked again that the store already knows. The close notice
    is taken first, so the case continued is never one that was closed just now."""
    user = repos.users.get(user_id)
    notice = close_notices(repos, user_id)
    case = repos.cases.open_case(user_id, preferred_id=preferred_case_id)
    followups = tuple(repos.followups.open_for(user_id, today)) if case is not None else ()
    return Restored(user.role if user else None, notice, case, followups)
