"""Repositories: the only way the rest of the code reads or writes the case store.

Why this shape: actions run in an async server and must never hold ORM objects across awaits or
sessions, and access control must not depend on every caller remembering it. So each method is one
transaction, takes and returns plain frozen dataclasses, and every read of a case's content goes
through ``_readable_case`` (the owner, or the organisation's aandachtsfunctionaris; nobody else).
"""

from __future__ import annotations

import hashlib
import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.profiles import ATTENTION_OFFICER
from bot.store.models import (
    CASE_CLOSED,
    CASE_OPEN,
    Case,
    ConversationReference,
    DeletionLog,
    FollowUp,
    Note,
    PracticeResult,
    RoleAudit,
    RoleGrant,
    SeenActivity,
    User,
    WeighingAnswer,
    utcnow,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")


class AccessDenied(PermissionError):
    """The viewer may not see this case (not the owner, not the aandachtsfunctionaris of its organisation)."""


class NotFound(LookupError):
    """No row with this id."""


# --- records -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class UserRecord:
    id: str
    organisation_id: str
    role: Optional[str]
    gemeente: Optional[str]
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CaseRecord:
    id: str
    owner_id: str
    organisation_id: str
    pseudonym: str
    status: str
    step: int
    done: Tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    closed_at: Optional[datetime]
    close_reason: Optional[str] = None  # a reason code of bot/cases.py
    closed_by: Optional[str] = None  # None for the automatic close


@dataclass(frozen=True)
class CaseActivity:
    """An open case with what the case list shows: the last time anything happened, open follow-ups."""

    case: CaseRecord
    last_activity: datetime
    open_followups: int


@dataclass(frozen=True)
class WeighingRecord:
    id: int
    case_id: str
    question: int
    answer: str
    outcome: Optional[str]
    details: Dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class NoteRecord:
    id: int
    case_id: str
    kind: str
    author_id: str
    author_role: Optional[str]
    fields: Dict[str, Any]
    occurred_at: Optional[datetime]
    created_at: datetime
    progress: Optional[Dict[str, Any]] = None  # what saving it recorded on the case (bot.steps.NoteProgress)

    @property
    def moment(self) -> datetime:
        """When it happened, or when it was written down if the teacher gave no time."""
        return self.occurred_at or self.created_at


@dataclass(frozen=True)
class FollowUpRecord:
    id: int
    case_id: str
    kind: str
    due_on: date
    description: str
    created_at: datetime
    done_at: Optional[datetime]
    reminded_at: Optional[datetime] = None
    snoozes: int = 0

    def is_due(self, today: date) -> bool:
        """Due today or overdue: the bot mentions these first."""
        return self.due_on <= today


@dataclass(frozen=True)
class PracticeRecord:
    id: int
    user_id: str
    organisation_id: str
    practice_case_id: str
    score: float
    max_score: float
    themes: Tuple[str, ...]
    created_at: datetime


def _user_record(row: User) -> UserRecord:
    return UserRecord(row.id, row.organisation_id, row.role, row.gemeente, row.created_at, row.updated_at)


def _case_record(row: Case) -> CaseRecord:
    return CaseRecord(
        row.id,
        row.owner_id,
        row.organisation_id,
        row.pseudonym,
        row.status,
        row.step,
        tuple(row.done),
        row.created_at,
        row.updated_at,
        row.closed_at,
        row.close_reason,
        row.closed_by,
    )


def _weighing_record(row: WeighingAnswer) -> WeighingRecord:
    return WeighingRecord(row.id, row.case_id, row.question, row.answer, row.outcome, row.details, row.created_at)


def _note_record(row: Note) -> NoteRecord:
    return NoteRecord(
        row.id,
        row.case_id,
        row.kind,
        row.author_id,
        row.author_role,
        row.content_encrypted,
        row.occurred_at,
        row.created_at,
        row.progress,
    )


def _followup_record(row: FollowUp) -> FollowUpRecord:
    return FollowUpRecord(
        row.id,
        row.case_id,
        row.kind,
        row.due_on,
        row.description,
        row.created_at,
        row.done_at,
        row.reminded_at,
        row.snoozes or 0,
    )


def _practice_record(row: PracticeResult) -> PracticeRecord:
    return PracticeRecord(
        row.id,
        row.user_id,
        row.organisation_id,
        row.practice_case_id,
        row.score,
        row.max_score,
        tuple(row.themes),
        row.created_at,
    )


# --- shared helpers ------------------------------------------------------------------------------


class _Repository:
    """Base: one session factory; ``_run`` wraps a function in exactly one committed transaction."""

    def __init__(self, sessions: sessionmaker):
        self._sessions = sessions

    def _run(self, work: Callable[[Session], T]) -> T:
        with self._sessions.begin() as session:
            return work(session)


def _or_none(convert: Callable[[Any], T], row: Any) -> Optional[T]:
    return None if row is None else convert(row)


def _get(session: Session, model: type, row_id: Any) -> Any:
    row = session.get(model, row_id)
    if row is None:
        raise NotFound(f"{getattr(model, '__tablename__', model.__name__)}: no row with id {row_id!r}")
    return row


def _missing_note(case_id: str) -> NoteRecord:
    raise NotFound(f"notes: the concurrent save of case {case_id} is not there")


def _insert(session: Session, row: Any, convert: Callable[[Any], T]) -> T:
    """Add a new row and return its record, with the ids and defaults the database filled in."""
    session.add(row)
    session.flush()
    return convert(row)


def _ensure_user(session: Session, user_id: str, organisation_id: str) -> None:
    """Cases and practice results point at a user; create a bare user row the first time one appears."""
    if session.get(User, user_id) is None:
        session.add(User(id=user_id, organisation_id=organisation_id))
        session.flush()


def _granted(session: Session, user_id: str, organisation_id: str, role: str) -> bool:
    """Whether the school granted ``role`` in ``organisation_id`` to this user (``python -m bot roles``)."""
    query = sa.select(RoleGrant.id).where(
        RoleGrant.user_id == user_id, RoleGrant.organisation_id == organisation_id, RoleGrant.role == role
    )
    return session.scalars(query).first() is not None


def _readable_case(session: Session, case_id: str, viewer_id: str, viewer_role: Optional[str]) -> Case:
    """The case if the viewer may read it: its owner, or an aandachtsfunctionaris of the same organisation.

    Being aandachtsfunctionaris is a grant by the school (``role_grants``), never the role a user
    claims in the conversation: ``viewer_role`` only says the viewer asks in that capacity. The
    organisation is the case's own, so no caller can reach another organisation's dossiers.
    """
    case = _get(session, Case, case_id)
    if case.owner_id == viewer_id:
        return case
    if viewer_role == ATTENTION_OFFICER and _granted(session, viewer_id, case.organisation_id, ATTENTION_OFFICER):
        return case
    raise AccessDenied(f"user may not read case {case_id}")


def case_id_hash(case_id: str) -> str:
    """What the deletion log keeps instead of the case id: enough to answer 'was case X deleted?'."""
    return hashlib.sha256(case_id.encode("utf-8")).hexdigest()


# --- repositories --------------------------------------------------------------------------------


class UserRepository(_Repository):
    def get(self, user_id: str) -> Optional[UserRecord]:
        return self._run(lambda s: _or_none(_user_record, s.get(User, user_id)))

    def upsert(
        self, user_id: str, *, organisation_id: str, role: Optional[str] = None, gemeente: Optional[str] = None
    ) -> UserRecord:
        """Create or update; ``role``/``gemeente`` None keeps what is stored (the bot asks them once)."""

        def work(session: Session) -> UserRecord:
            row = session.get(User, user_id)
            if row is None:
                row = User(id=user_id)
                session.add(row)
            row.organisation_id = organisation_id
            if role is not None:
                row.role = role
            if gemeente is not None:
                row.gemeente = gemeente
            session.flush()
            return _user_record(row)

        return self._run(work)


def _last_activity(session: Session, rows: Sequence[Case]) -> Dict[str, datetime]:
    """When anything last happened in each case: its own progress, or a note, answer or follow-up added
    (or a follow-up done). Reading a case is not activity."""
    latest = {row.id: row.updated_at for row in rows}
    for model, column in (
        (Note, Note.created_at),
        (WeighingAnswer, WeighingAnswer.created_at),
        (FollowUp, FollowUp.created_at),
        (FollowUp, FollowUp.done_at),
    ):
        query = (
            sa.select(model.case_id, sa.func.max(column)).where(model.case_id.in_(list(latest))).group_by(model.case_id)
        )
        for case_id, moment in session.execute(query):
            if moment is not None and moment > latest[case_id]:
                latest[case_id] = moment
    return latest


def _open_followup_counts(session: Session, case_ids: Sequence[str]) -> Dict[str, int]:
    query = (
        sa.select(FollowUp.case_id, sa.func.count(FollowUp.id))
        .where(FollowUp.case_id.in_(list(case_ids)), FollowUp.done_at.is_(None))
        .group_by(FollowUp.case_id)
    )
    return {case_id: count for case_id, count in session.execute(query)}


class CaseRepository(_Repository):
    def open_case(self, owner_id: str, preferred_id: Optional[str] = None) -> Optional[CaseRecord]:
        """The user's current case: the one the conversation switched to (``preferred_id``) while it is
        still theirs and open, else the most recently started one that is still open."""
        query = (
            sa.select(Case)
            .where(Case.owner_id == owner_id, Case.status == CASE_OPEN)
            .order_by(Case.created_at.desc(), Case.id)
            .limit(1)
        )

        def work(session: Session) -> Optional[CaseRecord]:
            chosen = session.get(Case, preferred_id) if preferred_id else None
            if chosen is not None and chosen.owner_id == owner_id and chosen.status == CASE_OPEN:
                return _case_record(chosen)
            return _or_none(_case_record, session.scalars(query).first())

        return self._run(work)

    def create(self, owner_id: str, organisation_id: str, pseudonym: str) -> CaseRecord:
        """A new case in step 1; earlier open cases of the same user stay open (another pupil)."""

        def work(session: Session) -> CaseRecord:
            _ensure_user(session, owner_id, organisation_id)
            row = Case(
                owner_id=owner_id,
                organisation_id=organisation_id,
                pseudonym=pseudonym,
                status=CASE_OPEN,
                step=1,
                done=[],
            )
            return _insert(session, row, _case_record)

        return self._run(work)

    def update_progress(self, case_id: str, step: Optional[int], done: Sequence[str]) -> CaseRecord:
        """Store the step (None keeps the current one) and the full set of milestones done."""

        def work(session: Session) -> CaseRecord:
            row = _get(session, Case, case_id)
            if step is not None:
                row.step = step
            row.done = sorted(set(done))
            row.updated_at = utcnow()
            session.flush()
            return _case_record(row)

        return self._run(work)

    def get(self, case_id: str, viewer_id: str, viewer_role: Optional[str]) -> CaseRecord:
        return self._run(lambda s: _case_record(_readable_case(s, case_id, viewer_id, viewer_role)))

    def close(
        self,
        case_id: str,
        reason: Optional[str] = None,
        closed_by: Optional[str] = None,
        now: Optional[datetime] = None,
    ) -> CaseRecord:
        """Close the case with its reason; from ``closed_at`` on the retention period runs. Closing a
        closed case changes nothing (a repeated click keeps the first reason and time)."""

        def work(session: Session) -> CaseRecord:
            row = _get(session, Case, case_id)
            if row.status != CASE_CLOSED:
                row.status = CASE_CLOSED
                row.closed_at = now or utcnow()
                row.close_reason = reason
                row.closed_by = closed_by
                row.close_announced_at = None
                session.flush()
            return _case_record(row)

        return self._run(work)

    def reopen(
        self, case_id: str, viewer_id: str, viewer_role: Optional[str], now: Optional[datetime] = None
    ) -> CaseRecord:
        """Open a closed case again, for someone who may read it (owner or aandachtsfunctionaris);
        the retention clock stops. Whether it is still within the period is bot/cases.py's rule."""

        def work(session: Session) -> CaseRecord:
            row = _readable_case(session, case_id, viewer_id, viewer_role)
            if row.status != CASE_OPEN:
                row.status = CASE_OPEN
                row.closed_at = row.close_reason = row.closed_by = row.close_announced_at = None
                row.updated_at = now or utcnow()
                session.flush()
            return _case_record(row)

        return self._run(work)

    def open_with_activity(self, owner_id: Optional[str] = None) -> List[CaseActivity]:
        """Open cases (of one owner, or all of them for the auto-close) with their last activity and
        open follow-ups, the most recently active first."""

        def work(session: Session) -> List[CaseActivity]:
            query = sa.select(Case).where(Case.status == CASE_OPEN)
            if owner_id is not None:
                query = query.where(Case.owner_id == owner_id)
            rows = list(session.scalars(query))
            if not rows:
                return []
            latest = _last_activity(session, rows)
            counts = _open_followup_counts(session, [row.id for row in rows])
            found = [CaseActivity(_case_record(row), latest[row.id], counts.get(row.id, 0)) for row in rows]
            return sorted(found, key=lambda a: (a.last_activity, a.case.created_at, a.case.id), reverse=True)

        return self._run(work)

    def take_close_notices(self, owner_id: str, reason: str, now: Optional[datetime] = None) -> List[CaseRecord]:
        """The owner's cases closed with ``reason`` (the automatic close) that they were not told about
        yet, marked as told: each notice is given once, at the next conversation."""

        def work(session: Session) -> List[CaseRecord]:
            rows = list(
                session.scalars(
                    sa.select(Case)
                    .where(
                        Case.owner_id == owner_id,
                        Case.status == CASE_CLOSED,
                        Case.close_reason == reason,
                        Case.close_announced_at.is_(None),
                    )
                    .order_by(Case.closed_at, Case.id)
                )
            )
            for row in rows:
                row.close_announced_at = now or utcnow()
            return [_case_record(row) for row in rows]

        return self._run(work)

    def list_for(self, viewer_id: str, viewer_role: Optional[str], organisation_id: str) -> List[CaseRecord]:
        """Own cases; an aandachtsfunctionaris sees every case of their own organisation. Newest first."""

        def work(session: Session) -> List[CaseRecord]:
            query = sa.select(Case).order_by(Case.created_at.desc(), Case.id)
            if viewer_role == ATTENTION_OFFICER:
                if not _granted(session, viewer_id, organisation_id, ATTENTION_OFFICER):
                    raise AccessDenied(f"user is not aandachtsfunctionaris of organisation {organisation_id}")
                query = query.where(Case.organisation_id == organisation_id)
            else:
                query = query.where(Case.owner_id == viewer_id)
            return [_case_record(row) for row in session.scalars(query)]

        return self._run(work)


class WeighingRepository(_Repository):
    def add(
        self, case_id: str, question: int, answer: str, outcome: Optional[str], details: Mapping[str, Any]
    ) -> WeighingRecord:
        def work(session: Session) -> WeighingRecord:
            _get(session, Case, case_id)
            row = WeighingAnswer(
                case_id=case_id, question=question, answer=answer, outcome=outcome, details=dict(details)
            )
            return _insert(session, row, _weighing_record)

        return self._run(work)

    def trace(self, case_id: str) -> List[WeighingRecord]:
        """Every answer in the order given, so the decision can be replayed and explained."""
        query = (
            sa.select(WeighingAnswer)
            .where(WeighingAnswer.case_id == case_id)
            .order_by(WeighingAnswer.created_at, WeighingAnswer.id)
        )
        return self._run(lambda s: [_weighing_record(row) for row in s.scalars(query)])


class NoteRepository(_Repository):
    def add(
        self,
        case_id: str,
        kind: str,
        author_id: str,
        author_role: Optional[str],
        fields: Mapping[str, Any],
        occurred_at: Optional[datetime],
        save_key: Optional[str] = None,
        progress: Optional[Mapping[str, Any]] = None,
    ) -> NoteRecord:
        """Only someone who may read the case may add to its dossier.

        ``save_key`` makes the save idempotent: a retry after a lost reply (the same confirmation sent
        again, or by two replicas at once) returns the note already stored instead of a second one.
        """

        def existing(session: Session) -> Optional[NoteRecord]:
            row = session.scalars(sa.select(Note).where(Note.case_id == case_id, Note.save_key == save_key)).first()
            return _or_none(_note_record, row)

        def work(session: Session) -> NoteRecord:
            _readable_case(session, case_id, author_id, author_role)
            stored = existing(session) if save_key is not None else None
            if stored is not None:
                return stored
            row = Note(
                case_id=case_id,
                kind=kind,
                author_id=author_id,
                author_role=author_role,
                content_encrypted=dict(fields),
                occurred_at=occurred_at,
                save_key=save_key,
                progress=dict(progress) if progress is not None else None,
            )
            return _insert(session, row, _note_record)

        try:
            return self._run(work)
        except sa.exc.IntegrityError:
            if save_key is None:
                raise
            return self._run(lambda s: existing(s) or _missing_note(case_id))

    def list(self, case_id: str, viewer_id: str, viewer_role: Optional[str]) -> List[NoteRecord]:
        """The dossier in the order things happened (notes without a time: when they were written)."""

        def work(session: Session) -> List[NoteRecord]:
            _readable_case(session, case_id, viewer_id, viewer_role)
            rows = session.scalars(sa.select(Note).where(Note.case_id == case_id))
            return sorted((_note_record(row) for row in rows), key=lambda n: (n.moment, n.created_at, n.id))

        return self._run(work)

    def last_by_author(self, author_id: str) -> Optional[NoteRecord]:
        """The note this person saved last, in any case: what "maak de laatste notitie ongedaan" means."""
        query = sa.select(Note).where(Note.author_id == author_id).order_by(Note.created_at.desc(), Note.id.desc())
        return self._run(lambda session: _or_none(_note_record, session.scalars(query).first()))

    def remove(self, note_id: int, author_id: str) -> None:
        """Delete a note, only its own author's (the undo right after saving; ``bot.notes.undo_allowed``).

        Why removed rather than marked withdrawn: an undo within minutes corrects a slip, often a note
        in the wrong pupil's dossier; keeping its (encrypted) content there, even marked, keeps data about
        a child where it does not belong (AVG data minimisation), and needs no schema change. Once the
        undo window has passed, nothing is removed: corrections are new notes, so the dossier stays whole.
        """

        def work(session: Session) -> None:
            row = _get(session, Note, note_id)
            if row.author_id != author_id:
                raise AccessDenied("only the author may undo a note")
            session.delete(row)

        self._run(work)


class FollowUpRepository(_Repository):
    def add(self, case_id: str, kind: str, due_on: date, description: str) -> FollowUpRecord:
        def work(session: Session) -> FollowUpRecord:
            _get(session, Case, case_id)
            row = FollowUp(case_id=case_id, kind=kind, due_on=due_on, description=description)
            return _insert(session, row, _followup_record)

        return self._run(work)

    def open_for(self, owner_id: str, today: date) -> List[FollowUpRecord]:
        """Unfinished follow-ups of the user's open cases: due or overdue first, then upcoming, by date."""
        query = (
            sa.select(FollowUp)
            .join(Case, FollowUp.case_id == Case.id)
            .where(Case.owner_id == owner_id, Case.status == CASE_OPEN, FollowUp.done_at.is_(None))
        )

        def work(session: Session) -> List[FollowUpRecord]:
            records = [_followup_record(row) for row in session.scalars(query)]
            return sorted(records, key=lambda f: (not f.is_due(today), f.due_on, f.id))

        return self._run(work)

    def open_for_case(
        self, case_id: str, viewer_id: str, viewer_role: Optional[str], today: date
    ) -> List[FollowUpRecord]:
        """The case's unfinished follow-ups, ordered as :meth:`open_for` orders them: what the weighing
        outcome and the dossier view remind of, and what a new weighing may settle."""
        query = sa.select(FollowUp).where(FollowUp.case_id == case_id, FollowUp.done_at.is_(None))

        def work(session: Session) -> List[FollowUpRecord]:
            _readable_case(session, case_id, viewer_id, viewer_role)
            records = [_followup_record(row) for row in session.scalars(query)]
            return sorted(records, key=lambda f: (not f.is_due(today), f.due_on, f.id))

        return self._run(work)

    def for_case(self, case_id: str, viewer_id: str, viewer_role: Optional[str]) -> List[FollowUpRecord]:
        """Every follow-up of the case, open and done, by due date: what the dossier export shows."""
        query = sa.select(FollowUp).where(FollowUp.case_id == case_id).order_by(FollowUp.due_on, FollowUp.id)

        def work(session: Session) -> List[FollowUpRecord]:
            _readable_case(session, case_id, viewer_id, viewer_role)
            return [_followup_record(row) for row in session.scalars(query)]

        return self._run(work)

    def case_of(self, followup_id: int, viewer_id: str) -> str:
        """The id of the case a follow-up belongs to, for its owner only (a reminder's "Open casus")."""

        def work(session: Session) -> str:
            row = _get(session, FollowUp, followup_id)
            return str(_readable_case(session, row.case_id, viewer_id, None).id)

        return self._run(work)

    def complete(self, followup_id: int, viewer_id: str, viewer_role: Optional[str]) -> FollowUpRecord:
        """Mark done (once: a second click keeps the first time); only someone who may read the case."""

        def work(session: Session) -> FollowUpRecord:
            row = _get(session, FollowUp, followup_id)
            _readable_case(session, row.case_id, viewer_id, viewer_role)
            if row.done_at is None:
                row.done_at = utcnow()
            session.flush()
            return _followup_record(row)

        return self._run(work)

    def claim_due(
        self, today: date, now: datetime, lease: timedelta, channel: str, limit: int = 50
    ) -> List[DueReminder]:
        """Take the lease on due, unreminded follow-ups of open cases whose owner has a ``channel``
        address, so this scheduler alone sends them. Why both locks: on PostgreSQL ``FOR UPDATE SKIP
        LOCKED`` lets concurrent schedulers pass over rows another is claiming; the conditional UPDATE
        (lease free or expired), checked by its row count, makes the claim atomic on SQLite too, where
        writers are serialised. A lease left by a crashed scheduler expires, and the reminder is retried.
        """
        candidates = (
            sa.select(FollowUp.id)
            .join(Case, FollowUp.case_id == Case.id)
            .join(
                ConversationReference,
                sa.and_(ConversationReference.user_id == Case.owner_id, ConversationReference.channel == channel),
            )
            .where(
                Case.status == CASE_OPEN,
                FollowUp.done_at.is_(None),
                FollowUp.reminded_at.is_(None),
                FollowUp.due_on <= today,
                sa.or_(FollowUp.remind_lease_until.is_(None), FollowUp.remind_lease_until < now),
            )
            .order_by(FollowUp.due_on, FollowUp.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=FollowUp)
        )

        def work(session: Session) -> List[DueReminder]:
            claimed: List[DueReminder] = []
            for followup_id in list(session.scalars(candidates)):
                taken = session.execute(
                    sa.update(FollowUp)
                    .where(
                        FollowUp.id == followup_id,
                        FollowUp.reminded_at.is_(None),
                        sa.or_(FollowUp.remind_lease_until.is_(None), FollowUp.remind_lease_until < now),
                    )
                    .values(remind_lease_until=now + lease)
                    .execution_options(synchronize_session=False)
                )
                if taken.rowcount != 1:
                    continue
                row = session.get(FollowUp, followup_id)
                case = session.get(Case, row.case_id)
                reference = session.get(ConversationReference, (case.owner_id, channel))
                claimed.append(
                    DueReminder(_followup_record(row), case.owner_id, case.pseudonym, dict(reference.reference))
                )
            return claimed

        return self._run(work)

    def mark_reminded(self, followup_id: int, now: datetime) -> None:
        """The reminder reached the owner: never send it again (until "later" moves it)."""
        self._run(
            lambda session: session.execute(
                sa.update(FollowUp)
                .where(FollowUp.id == followup_id)
                .values(reminded_at=now, remind_lease_until=None)
                .execution_options(synchronize_session=False)
            )
        )

    def release(self, followup_id: int) -> None:
        """Sending failed: free the lease so the next run tries again."""
        self._run(
            lambda session: session.execute(
                sa.update(FollowUp)
                .where(FollowUp.id == followup_id)
                .values(remind_lease_until=None)
                .execution_options(synchronize_session=False)
            )
        )

    def snooze(self, followup_id: int, new_due: date, viewer_id: str, viewer_role: Optional[str]) -> FollowUpRecord:
        """ "Later": due again on ``new_due`` and reminded again then; only someone who may read the case.
        A follow-up already done stays done (a late click on an old card changes nothing)."""

        def work(session: Session) -> FollowUpRecord:
            row = _get(session, FollowUp, followup_id)
            _readable_case(session, row.case_id, viewer_id, viewer_role)
            if row.done_at is None:
                row.due_on, row.reminded_at, row.remind_lease_until = new_due, None, None
                row.snoozes = (row.snoozes or 0) + 1
            session.flush()
            return _followup_record(row)

        return self._run(work)


@dataclass(frozen=True)
class DueReminder:
    """A claimed reminder: the follow-up, whose case it is, and where to reach the owner."""

    followup: FollowUpRecord
    owner_id: str
    pseudonym: str
    reference: Dict[str, Any]


class ConversationReferenceRepository(_Repository):
    """The last address at which each person can be reached on a channel (encrypted, one per channel)."""

    def save(self, user_id: str, channel: str, reference: Mapping[str, Any]) -> None:
        def work(session: Session) -> None:
            row = session.get(ConversationReference, (user_id, channel))
            if row is None:
                session.add(ConversationReference(user_id=user_id, channel=channel, reference=dict(reference)))
            elif row.reference != dict(reference):
                row.reference = dict(reference)

        self._run(work)

    def get(self, user_id: str, channel: str) -> Optional[Dict[str, Any]]:
        def work(session: Session) -> Optional[Dict[str, Any]]:
            row = session.get(ConversationReference, (user_id, channel))
            return None if row is None else dict(row.reference)

        return self._run(work)


class SeenActivityRepository(_Repository):
    """Inbound activity keys already taken on, shared by every replica (de-duplicating retries)."""

    def claim(self, key: str) -> bool:
        """True the first time ``key`` is claimed, False for a repeat (by any process)."""
        try:
            self._run(lambda session: _insert(session, SeenActivity(key=key), lambda row: row.key))
        except sa.exc.IntegrityError:
            return False
        return True

    def forget_before(self, cutoff: datetime) -> int:
        """Drop keys older than any retry can be (the Bot Connector retries within minutes)."""
        return self._run(
            lambda session: session.execute(sa.delete(SeenActivity).where(SeenActivity.seen_at < cutoff)).rowcount
        )


def _group_stats(results: Iterable[PracticeRecord]) -> Dict[str, Any]:
    """Attempts, distinct people (a count only) and mean raw score and mean share of the maximum."""
    rows = list(results)
    return {
        "attempts": len(rows),
        "people": len({r.user_id for r in rows}),
        "average_score": sum(r.score for r in rows) / len(rows),
        "average_share": sum(r.score / r.max_score for r in rows) / len(rows),
    }


class PracticeRepository(_Repository):
    def add_result(
        self,
        user_id: str,
        organisation_id: str,
        practice_case_id: str,
        score: float,
        max_score: float,
        themes: Sequence[str],
    ) -> PracticeRecord:
        if max_score <= 0 or not 0 <= score <= max_score:
            raise ValueError(f"score must be between 0 and max_score > 0, got {score}/{max_score}")

        def work(session: Session) -> PracticeRecord:
            _ensure_user(session, user_id, organisation_id)
            row = PracticeResult(
                user_id=user_id,
                organisation_id=organisation_id,
                practice_case_id=practice_case_id,
                score=score,
                max_score=max_score,
                themes=list(themes),
            )
            return _insert(session, row, _practice_record)

        return self._run(work)

    def done_case_ids(self, user_id: str) -> Set[str]:
        query = sa.select(PracticeResult.practice_case_id).where(PracticeResult.user_id == user_id).distinct()
        return self._run(lambda s: set(s.scalars(query)))

    def aggregate(self, organisation_id: str) -> Dict[str, Any]:
        """Anonymised figures for the organisation's learning report: per practice case and per theme.

        Shape: ``{"organisation_id", "cases": [{"case_id", "attempts", "people", "average_score",
        "average_share"}], "themes": [{"theme", ...same figures}]}``, sorted by id. No user ids leave
        this method; ``people`` is only a count.
        """
        query = sa.select(PracticeResult).where(PracticeResult.organisation_id == organisation_id)
        results = self._run(lambda s: [_practice_record(row) for row in s.scalars(query)])
        by_case: Dict[str, List[PracticeRecord]] = defaultdict(list)
        by_theme: Dict[str, List[PracticeRecord]] = defaultdict(list)
        for result in results:
            by_case[result.practice_case_id].append(result)
            for theme in result.themes:
                by_theme[theme].append(result)
        return {
            "organisation_id": organisation_id,
            "cases": [{"case_id": key, **_group_stats(by_case[key])} for key in sorted(by_case)],
            "themes": [{"theme": key, **_group_stats(by_theme[key])} for key in sorted(by_theme)],
        }


@dataclass(frozen=True)
class RoleGrantRecord:
    user_id: str
    organisation_id: str
    role: str
    granted_by: str
    granted_at: datetime


GRANTABLE_ROLES = (ATTENTION_OFFICER,)


class RoleRepository(_Repository):
    """Roles the school assigns (admin command line), each change written to ``role_audit``."""

    def grant(self, user_id: str, organisation_id: str, role: str, actor: str) -> bool:
        """Give ``role``; False when it was already granted (nothing changes, nothing is audited)."""
        if role not in GRANTABLE_ROLES:
            raise ValueError(f"unknown role {role!r}; grantable: {', '.join(GRANTABLE_ROLES)}")

        def work(session: Session) -> bool:
            if _granted(session, user_id, organisation_id, role):
                return False
            session.add(RoleGrant(user_id=user_id, organisation_id=organisation_id, role=role, granted_by=actor))
            session.add(
                RoleAudit(action="grant", user_id=user_id, organisation_id=organisation_id, role=role, actor=actor)
            )
            return True

        return self._run(work)

    def revoke(
        self, user_id: str, organisation_id: str, role: str, actor: str, granted_by: Optional[str] = None
    ) -> bool:
        """Take ``role`` away (only a grant ``granted_by`` made, when given); False when there was none."""

        def work(session: Session) -> bool:
            grant = sa.delete(RoleGrant).where(
                RoleGrant.user_id == user_id, RoleGrant.role == role, RoleGrant.organisation_id == organisation_id
            )
            if granted_by is not None:
                grant = grant.where(RoleGrant.granted_by == granted_by)
            deleted = session.execute(grant).rowcount
            if deleted:
                session.add(
                    RoleAudit(action="revoke", user_id=user_id, organisation_id=organisation_id, role=role, actor=actor)
                )
            return bool(deleted)

        return self._run(work)

    def sync(self, user_id: str, organisation_id: str, role: str, holds: bool, source: str) -> Optional[str]:
        """Follow what the school's identity provider says (``source``, e.g. ``jwt:<issuer>``) at sign-in:
        grant ``role`` when the user holds it there, and take back a grant *that source* made when the user
        no longer does. A grant an admin made (``python -m bot roles``) is never taken back here. Returns
        "grant", "revoke" or None (nothing changed); every change is audited with ``source`` as the actor."""
        if holds:
            return "grant" if self.grant(user_id, organisation_id, role, source) else None
        return "revoke" if self.revoke(user_id, organisation_id, role, source, granted_by=source) else None

    def list(self, organisation_id: Optional[str] = None) -> List[RoleGrantRecord]:
        query = sa.select(RoleGrant).order_by(RoleGrant.organisation_id, RoleGrant.user_id, RoleGrant.role)
        if organisation_id is not None:
            query = query.where(RoleGrant.organisation_id == organisation_id)
        return self._run(
            lambda s: [
                RoleGrantRecord(r.user_id, r.organisation_id, r.role, r.granted_by, r.granted_at)
                for r in s.scalars(query)
            ]
        )

    def audit(self) -> List[Tuple[datetime, str, str, str, str, str]]:
        """(at, action, user, organisation, role, actor), oldest first."""
        query = sa.select(RoleAudit).order_by(RoleAudit.id)
        return self._run(
            lambda s: [(r.at, r.action, r.user_id, r.organisation_id, r.role, r.actor) for r in s.scalars(query)]
        )


# --- the whole store -----------------------------------------------------------------------------

_CASE_CHILDREN = {"notes_deleted": Note, "weighing_deleted": WeighingAnswer, "followups_deleted": FollowUp}


class Repositories:
    """All repositories over one engine, plus the operations that span several tables."""

    def __init__(self, engine: Engine):
        self.engine = engine
        sessions = sessionmaker(bind=engine, future=True, expire_on_commit=False)
        self._sessions = sessions
        self.users = UserRepository(sessions)
        self.cases = CaseRepository(sessions)
        self.weighing = WeighingRepository(sessions)
        self.notes = NoteRepository(sessions)
        self.followups = FollowUpRepository(sessions)
        self.practice = PracticeRepository(sessions)
        self.roles = RoleRepository(sessions)
        self.conversation_references = ConversationReferenceRepository(sessions)
        self.seen_activities = SeenActivityRepository(sessions)
        self.overview = OverviewRepository(sessions)

    def purge_closed_cases(self, older_than: timedelta, now: Optional[datetime] = None) -> int:
        """Delete cases closed longer than ``older_than`` ago, with everything attached. Returns the count.

        Why: the AVG allows keeping dossier data only as long as needed; open cases are never touched,
        however old. Each deletion is logged with a hash of the case id and row counts, never content.
        """
        cutoff = (now or utcnow()) - older_than
        with self._sessions.begin() as session:
            case_ids = list(
                session.scalars(sa.select(Case.id).where(Case.status == CASE_CLOSED, Case.closed_at < cutoff))
            )
            for case_id in case_ids:
                counts = {
                    column: session.execute(sa.delete(model).where(model.case_id == case_id)).rowcount
                    for column, model in _CASE_CHILDREN.items()
                }
                session.execute(sa.delete(Case).where(Case.id == case_id))
                session.add(DeletionLog(case_id_hash=case_id_hash(case_id), **counts))
        logger.info("retention purge: deleted %d closed case(s) closed before %s", len(case_ids), cutoff.isoformat())
        return len(case_ids)


# --- the aandachtsfunctionaris's overview (owner: overview) --------------------------------------


@dataclass(frozen=True)
class OverviewRecord:
    """One open case as the overview needs it: the case, its owner's stated role (never who the owner
    is), its last activity, its unfinished follow-ups and its weighing trace (for the last decision)."""

    case: CaseRecord
    owner_role: Optional[str]
    last_activity: datetime
    open_followups: Tuple[FollowUpRecord, ...]
    weighing: Tuple[WeighingRecord, ...]


class OverviewRepository(_Repository):
    """Every open case of one organisation, for the aandachtsfunctionaris the school granted that role.

    Why a query of its own and not ``CaseRepository.list_for``: the overview needs the activity, the
    follow-ups and the trace of all cases at once (a handful of queries, not several per case), and it
    is never open to a role the user merely states: only the grant counts.
    """

    def open_cases(self, viewer_id: str, organisation_id: str) -> List[OverviewRecord]:
        """AccessDenied unless ``viewer_id`` holds the aandachtsfunctionaris grant of ``organisation_id``."""

        def work(session: Session) -> List[OverviewRecord]:
            if not _granted(session, viewer_id, organisation_id, ATTENTION_OFFICER):
                raise AccessDenied(f"user is not aandachtsfunctionaris of organisation {organisation_id}")
            cases = list(
                session.execute(
                    sa.select(Case, User.role)
                    .join(User, Case.owner_id == User.id)
                    .where(Case.organisation_id == organisation_id, Case.status == CASE_OPEN)
                    .order_by(Case.created_at, Case.id)
                )
            )
            ids = [case.id for case, _ in cases]
            activity = _last_activity(session, [case for case, _ in cases])
            followups: Dict[str, List[FollowUpRecord]] = defaultdict(list)
            for row in session.scalars(
                sa.select(FollowUp)
                .where(FollowUp.case_id.in_(ids), FollowUp.done_at.is_(None))
                .order_by(FollowUp.due_on, FollowUp.id)
            ):
                followups[row.case_id].append(_followup_record(row))
            traces: Dict[str, List[WeighingRecord]] = defaultdict(list)
            for row in session.scalars(
                sa.select(WeighingAnswer)
                .where(WeighingAnswer.case_id.in_(ids))
                .order_by(WeighingAnswer.created_at, WeighingAnswer.id)
            ):
                traces[row.case_id].append(_weighing_record(row))
            return [
                OverviewRecord(
                    _case_record(case), role, activity[case.id], tuple(followups[case.id]), tuple(traces[case.id])
                )
                for case, role in cases
            ]

        return self._run(work)
