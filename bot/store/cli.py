"""``python -m bot purge --older-than 180d``: the retention purge, run from cron or by hand.

Two stores hold a case's text: the case store (notes, weighing, follow-ups) and Rasa's tracker store
(every message of the conversation, encrypted). Both are purged here: closed cases closed longer ago
than the period, and conversation events older than the conversation period (by default the same).
An open case keeps its notes however old; its conversation is only transport and does not need to.
"""

from __future__ import annotations

import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterator, Optional, Union

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from bot.store.db import database_url, get_engine, repositories, tracker_db_url
from bot.store.identities import stored_identity
from bot.store.models import utcnow

logger = logging.getLogger(__name__)

_UNIT_DAYS = {"d": 1, "w": 7, "y": 365}
# Rasa's SQLTrackerStore table, as far as the purge needs it (our encrypted store keeps the same shape).
_EVENTS = sa.table("events", sa.column("timestamp", sa.Float))
# Session-level advisory lock on the case store: one purge at a time across all replicas.
_PG_PURGE_LOCK = 0x6D777075


@dataclass(frozen=True)
class PurgeResult:
    cases: int
    conversation_events: int
    skipped: bool = False  # another process (replica) held the purge lock


@contextmanager
def purge_lock(engine: Engine) -> Iterator[bool]:
    """Whether this process may purge now: on PostgreSQL, only the holder of an advisory lock may.

    Why: every replica has the purge timer, and the admin should not have to pick one. The lock is
    tried, not waited for: a replica that finds it taken skips, because the holder is doing the work.
    It lives on one open connection, so a purge killed half-way frees it with its connection. SQLite
    is one server's file: nothing else can purge it at the same time.
    """
    if engine.dialect.name != "postgresql":
        yield True
        return
    with engine.connect() as connection:
        acquired = bool(
            connection.execute(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": _PG_PURGE_LOCK}).scalar()
        )
        try:
            yield acquired
        finally:
            if acquired:
                connection.execute(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": _PG_PURGE_LOCK})


def parse_older_than(text: str) -> timedelta:
    """'180d', '26w', '2y' (years as 365 days) -> timedelta; anything else is a ValueError."""
    match = re.fullmatch(r"(\d+)([dwy])", text.strip())
    if not match:
        raise ValueError(f"retention period {text!r}: use a number followed by d, w or y, e.g. 180d")
    return timedelta(days=int(match.group(1)) * _UNIT_DAYS[match.group(2)])


def _period(value: Union[str, timedelta]) -> timedelta:
    return parse_older_than(value) if isinstance(value, str) else value


def purge_conversations(older_than: timedelta, now: Optional[datetime] = None) -> int:
    """Delete conversation events older than ``older_than`` from the tracker store; returns the count.

    Why by event time and not per conversation: a conversation with one user goes on for years (the
    sender id is the person), but a Rasa session ends after an hour of silence, so what is older than
    any sensible period is a finished session. A database that Rasa never created has nothing to purge.
    """
    engine = get_engine(tracker_db_url())
    if not sa.inspect(engine).has_table("events"):
        return 0
    cutoff = ((now or utcnow()) - older_than).timestamp()
    with engine.begin() as connection:
        deleted = connection.execute(sa.delete(_EVENTS).where(_EVENTS.c.timestamp < cutoff)).rowcount
    logger.info("retention purge: deleted %d conversation event(s) older than %s", deleted, older_than)
    return deleted


def purge(
    older_than: Union[str, timedelta], conversations_older_than: Union[str, timedelta, None] = None
) -> PurgeResult:
    """Delete closed cases closed longer ago than ``older_than`` and conversation events older than
    ``conversations_older_than`` (default: the same period) from the configured stores."""
    period = _period(older_than)
    conversation_period = period if conversations_older_than is None else _period(conversations_older_than)
    with purge_lock(get_engine(database_url())) as acquired:
        if not acquired:
            logger.info("retention purge: skipped, another replica is purging")
            return PurgeResult(cases=0, conversation_events=0, skipped=True)
        return PurgeResult(
            cases=repositories().purge_closed_cases(period),
            conversation_events=purge_conversations(conversation_period),
        )


def roles_command(
    action: str, user: Optional[str], role: Optional[str], organisation: str, actor: Optional[str]
) -> str:
    """``python -m bot roles grant|revoke|list|audit``: what the school assigns, printed for the admin.

    Why a command and not the chat: the aandachtsfunctionaris reads every case of the school, so that
    role is given by someone the school trusts, on the server, and every change is audited.
    """
    roles = repositories().roles
    if action == "list":
        grants = roles.list(organisation)
        return (
            "\n".join(
                f"{g.user_id}\t{g.role}\t{g.organisation_id}\tgranted by {g.granted_by} on {g.granted_at:%Y-%m-%d}"
                for g in grants
            )
            or "no roles granted"
        )
    if action == "audit":
        return (
            "\n".join(
                f"{at:%Y-%m-%d %H:%M}\t{what}\t{user_id}\t{role_}\t{org}\tby {who}"
                for at, what, user_id, org, role_, who in roles.audit()
            )
            or "no changes"
        )
    if not (user and role and actor):
        raise ValueError(f"roles {action} needs USER ROLE and --by")
    # The admin types the clear identity; the store knows the person only by its keyed hash.
    changed = (roles.grant if action == "grant" else roles.revoke)(stored_identity(user), organisation, role, actor)
    logger.info(
        "roles: %s %s for a user in %s by %s (%s)",
        action,
        role,
        organisation,
        actor,
        "changed" if changed else "no change",
    )
    verb = {"grant": ("granted", "already had"), "revoke": ("revoked", "did not have")}[action]
    if changed:
        return f"{verb[0]}: {role} for {user} in {organisation}"
    return f"{user} {verb[1]} {role} in {organisation}"
