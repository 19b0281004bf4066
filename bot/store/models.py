"""SQLAlchemy models of the case store: users, cases, weighing trace, notes, follow-ups, practice results.

Why the custom column types: two things must hold on every dialect without each repository method
remembering them. Free text a teacher types (notes, the case pseudonym, weighing details, follow-up
descriptions) is encrypted before it reaches the database (``Encrypted``), and every timestamp is a
timezone-aware UTC datetime, also on SQLite, which has no time zones (``UTCDateTime``).

The schema itself is created by the Alembic migrations in ``migrations/``; these models are what the
migrations were written from and what ``env.py`` compares against.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import declarative_base, declared_attr

from bot.store import crypto

Base: Any = declarative_base()  # SQLAlchemy 1.4's declarative base is dynamic: mypy cannot see its type

# Marks every column that holds a person's identity (a keyed hash, bot.store.identities): the id key
# rotation re-hashes exactly these, found from the models, so a new one is never forgotten.
IDENTITY = {"identity": True}

CASE_OPEN = "open"
CASE_CLOSED = "closed"


def utcnow() -> datetime:
    """The current time as an aware UTC datetime (the only kind the store accepts)."""
    return datetime.now(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """Aware UTC datetimes in and out, on PostgreSQL (timestamptz) and SQLite (naive UTC text).

    Naive input is refused: guessing its zone would shift note times by an hour or two.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect: Dialect) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} given; the store needs timezone-aware values")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Optional[datetime], dialect: Dialect) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


class Encrypted(sa.types.TypeDecorator):
    """Any JSON-serialisable value, stored as one Fernet token (see ``crypto``)."""

    impl = sa.LargeBinary
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Optional[bytes]:
        if value is None:
            return None
        return crypto.encrypt(json.dumps(value, ensure_ascii=False).encode("utf-8"))

    def process_result_value(self, value: Optional[bytes], dialect: Dialect) -> Any:
        if value is None:
            return None
        return json.loads(crypto.decrypt(bytes(value)).decode("utf-8"))


def _new_case_id() -> str:
    return str(uuid.uuid4())


class CaseChild:
    """Columns of every row that belongs to one case: its own id, the case (gone when the case goes;
    the purge also deletes children explicitly, to count them) and when it was written."""

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)

    @declared_attr
    def case_id(cls) -> sa.Column:
        return sa.Column(sa.String(36), sa.ForeignKey("cases.id", ondelete="CASCADE"), nullable=False, index=True)


class User(Base):
    """A person as the channel identifies them, as a keyed hash (bot.store.identities); no name, no e-mail."""

    __tablename__ = "users"

    id = sa.Column(sa.String(255), primary_key=True, info=IDENTITY)
    organisation_id = sa.Column(sa.String(64), nullable=False, index=True)
    role = sa.Column(sa.String(64))
    gemeente = sa.Column(sa.String(128))
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class Case(Base):
    """One worry about one pupil, followed through the five steps. The pupil is only a pseudonym."""

    __tablename__ = "cases"
    __table_args__ = (
        sa.CheckConstraint(f"status IN ('{CASE_OPEN}', '{CASE_CLOSED}')", name="ck_cases_status"),
        sa.Index("ix_cases_owner_status", "owner_id", "status"),
    )

    id = sa.Column(sa.String(36), primary_key=True, default=_new_case_id)
    owner_id = sa.Column(sa.String(255), sa.ForeignKey("users.id"), nullable=False, info=IDENTITY)
    organisation_id = sa.Column(sa.String(64), nullable=False, index=True)
    pseudonym = sa.Column(Encrypted, nullable=False)
    status = sa.Column(sa.String(8), nullable=False, default=CASE_OPEN)
    step = sa.Column(sa.Integer, nullable=False, default=1)
    done = sa.Column(sa.JSON, nullable=False, default=list)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)
    closed_at = sa.Column(UTCDateTime)
    # Why and by whom it was closed (codes in bot/cases.py; closed_by NULL: closed for inactivity), and
    # when the owner was told of an automatic close (NULL: still to say at the next conversation).
    close_reason = sa.Column(sa.String(32))
    closed_by = sa.Column(sa.String(255), info=IDENTITY)
    close_announced_at = sa.Column(UTCDateTime)


class WeighingAnswer(CaseChild, Base):
    """One answer in the afwegingskader (steps 4-5), kept so the decision can be explained later."""

    __tablename__ = "weighing_answers"

    question = sa.Column(sa.Integer, nullable=False)
    answer = sa.Column(sa.String(64), nullable=False)
    outcome = sa.Column(sa.String(64))
    details = sa.Column(Encrypted, nullable=False)


class Note(CaseChild, Base):
    """A dossier note; all its fields (date, place, signals, sources...) are one encrypted JSON blob."""

    __tablename__ = "notes"
    __table_args__ = (sa.UniqueConstraint("case_id", "save_key", name="uq_notes_save_key"),)

    kind = sa.Column(sa.String(32), nullable=False)
    # Fixed when the teacher is shown the summary: saving the same summary again stores nothing twice.
    save_key = sa.Column(sa.String(64))
    author_id = sa.Column(sa.String(255), nullable=False, info=IDENTITY)
    author_role = sa.Column(sa.String(64))
    content_encrypted = sa.Column(Encrypted, nullable=False)
    occurred_at = sa.Column(UTCDateTime)
    # What saving it recorded on the case (bot.steps.NoteProgress: milestone ids and step numbers, no
    # content): undoing the note takes back exactly that.
    progress = sa.Column(sa.JSON)


class FollowUp(CaseChild, Base):
    """Something to do on a date (call back Veilig Thuis, evaluate the help); the bot reminds the owner."""

    __tablename__ = "followups"

    kind = sa.Column(sa.String(32), nullable=False)
    due_on = sa.Column(sa.Date, nullable=False)
    description = sa.Column(Encrypted, nullable=False)
    done_at = sa.Column(UTCDateTime)
    # Reminders (bot/reminders.py): when the due reminder reached the owner (NULL: not yet; "later"
    # clears it), how often it was put off, and until when one scheduler holds it while it sends.
    reminded_at = sa.Column(UTCDateTime)
    snoozes = sa.Column(sa.Integer, nullable=False, default=0, server_default="0")
    remind_lease_until = sa.Column(UTCDateTime)


class ConversationReference(Base):
    """Where a bot can reach a person unprompted (Teams: serviceUrl, conversation, tenant, both accounts).

    Written from every verified Teams message, so it always names the chat the user last used; the
    whole reference is encrypted (it holds account ids and the tenant). One row per person per channel.
    """

    __tablename__ = "conversation_references"

    user_id = sa.Column(sa.String(255), primary_key=True, info=IDENTITY)
    channel = sa.Column(sa.String(16), primary_key=True)
    reference = sa.Column(Encrypted, nullable=False)
    updated_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class SeenActivity(Base):
    """An inbound channel activity already taken on (a hash of conversation and activity id, no content).

    Why in the database: the Bot Connector retries an activity it got no quick answer for, possibly at
    another replica; a unique row is the one claim every replica sees.
    """

    __tablename__ = "seen_activities"

    key = sa.Column(sa.String(64), primary_key=True)
    seen_at = sa.Column(UTCDateTime, nullable=False, default=utcnow, index=True)


class PracticeResult(Base):
    """One finished practice case; reported per organisation only in aggregate."""

    __tablename__ = "practice_results"

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    user_id = sa.Column(sa.String(255), sa.ForeignKey("users.id"), nullable=False, index=True, info=IDENTITY)
    organisation_id = sa.Column(sa.String(64), nullable=False, index=True)
    practice_case_id = sa.Column(sa.String(64), nullable=False)
    score = sa.Column(sa.Float, nullable=False)
    max_score = sa.Column(sa.Float, nullable=False)
    themes = sa.Column(sa.JSON, nullable=False, default=list)
    created_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class DeletionLog(Base):
    """Proof that the retention purge ran: which case (hashed), when, how many rows. Never content."""

    __tablename__ = "deletion_log"

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    case_id_hash = sa.Column(sa.String(64), nullable=False)
    deleted_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    notes_deleted = sa.Column(sa.Integer, nullable=False)
    weighing_deleted = sa.Column(sa.Integer, nullable=False)
    followups_deleted = sa.Column(sa.Integer, nullable=False)


class RoleGrant(Base):
    """A role the school assigned to a person (``python -m bot roles grant``): what authorises access.

    The role a user tells the bot is only for wording; reading colleagues' cases needs a grant here.
    """

    __tablename__ = "role_grants"
    __table_args__ = (sa.UniqueConstraint("user_id", "organisation_id", "role", name="uq_role_grants"),)

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    user_id = sa.Column(sa.String(255), nullable=False, index=True, info=IDENTITY)
    organisation_id = sa.Column(sa.String(64), nullable=False)
    role = sa.Column(sa.String(64), nullable=False)
    granted_by = sa.Column(sa.String(255), nullable=False)
    granted_at = sa.Column(UTCDateTime, nullable=False, default=utcnow)


class RoleAudit(Base):
    """Every grant and revocation, kept after a revoke: who changed whose access, and when."""

    __tablename__ = "role_audit"

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    at = sa.Column(UTCDateTime, nullable=False, default=utcnow)
    action = sa.Column(sa.String(8), nullable=False)
    user_id = sa.Column(sa.String(255), nullable=False, info=IDENTITY)
    organisation_id = sa.Column(sa.String(64), nullable=False)
    role = sa.Column(sa.String(64), nullable=False)
    actor = sa.Column(sa.String(255), nullable=False)


class IdentityChain(Base):
    """One row: the canary of the id keys this store's identities are hashed with (bot.store.identities)."""

    __tablename__ = "identity_chain"

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=False)
    canary = sa.Column(sa.String(64), nullable=False)
