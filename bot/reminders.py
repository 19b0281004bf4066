"""Reminders that arrive: due follow-ups sent to Teams as proactive messages, once per deployment.

Why this shape: every replica of the Rasa server runs the same scheduler (started by the Teams channel
when ``MELDWIJZER_REMINDERS=1``), because a single "reminder replica" is a second deployment to keep
alive. They coordinate through the case store only: a scheduler first takes a lease on a due follow-up
(``FollowUpRepository.claim_due``: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, a conditional UPDATE that
also holds on SQLite), sends it, and then records ``reminded_at``; a failed send frees the lease for the
next run, a crashed replica's lease expires. Web users (no Teams address) see the same follow-ups at
the start of their next conversation (``action_session_start``), as before.

The buttons: "Gedaan" and "Later (1 week)" are settled by the channel with ``answer_click`` (only the
case's owner or its aandachtsfunctionaris may); "Open casus" hands Rasa ``OPEN_CASE_PAYLOAD``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import date, datetime, timedelta
from typing import Any, Awaitable, Callable, Dict, List, Mapping, Optional

from bot.errors import describe
from bot.language.workdays import add_working_days
from bot.store.models import utcnow
from bot.store.repositories import AccessDenied, DueReminder, NotFound, Repositories

logger = logging.getLogger(__name__)

ENV_ENABLED = "MELDWIJZER_REMINDERS"
ENV_INTERVAL = "MELDWIJZER_REMINDERS_INTERVAL"
DEFAULT_INTERVAL_SECONDS = 300.0
MIN_INTERVAL_SECONDS = 10.0
# Longer than one send with all its retries takes; after it a crashed scheduler's claim is retried.
LEASE = timedelta(minutes=10)
BATCH = 50
CHANNEL = "teams"
SNOOZE_WORKING_DAYS = 5  # "Later (1 week)": one week of werkdagen, so a feestdag does not shorten it

DONE, LATER, OPEN = "done", "later", "open"
BUTTON_TITLES = {DONE: "Gedaan", LATER: "Later (1 week)", OPEN: "Open casus"}
# What "Open casus" asks Rasa: the case's current step and what to do now.
OPEN_CASE_PAYLOAD = "/ask_next_step"  # when the reminder's case cannot be named (an old or forged card)

DONE_MESSAGE = "Genoteerd: dit is gedaan. Dank u wel."
UNKNOWN_MESSAGE = (
    "Deze herinnering kan ik niet (meer) vinden, of ze hoort niet bij uw casus. "
    'Vraag "Wat moet ik nu doen?" om verder te gaan met uw casus.'
)

Send = Callable[[Mapping[str, Any], str, List[Dict[str, Any]]], Awaitable[bool]]


def enabled(environ: Mapping[str, str]) -> bool:
    """``MELDWIJZER_REMINDERS=1`` turns the scheduler on (off by default: it needs the Teams channel)."""
    return environ.get(ENV_ENABLED, "").strip().lower() in {"1", "true", "yes", "on"}


def interval(environ: Mapping[str, str]) -> float:
    """Seconds between runs (``MELDWIJZER_REMINDERS_INTERVAL``, default 300, at least 10)."""
    try:
        seconds = float(environ.get(ENV_INTERVAL) or DEFAULT_INTERVAL_SECONDS)
    except ValueError:
        logger.warning("reminders: %s is not a number; using %.0f s", ENV_INTERVAL, DEFAULT_INTERVAL_SECONDS)
        seconds = DEFAULT_INTERVAL_SECONDS
    return max(seconds, MIN_INTERVAL_SECONDS)


def snoozed_until(today: date) -> date:
    """The new due date after "Later (1 week)": five werkdagen from today (Algemene termijnenwet)."""
    return add_working_days(today, SNOOZE_WORKING_DAYS)


def reminder_text(pseudonym: str, description: str, due_on: date) -> str:
    """What the owner reads: which case, what to do, since when."""
    return f"Herinnering voor casus {pseudonym} (gepland op {due_on:%d-%m-%Y}):\n{description}"


def reminder_buttons(followup_id: int) -> List[Dict[str, Any]]:
    """The three buttons; each carries its action and the follow-up in ``value`` (not a Rasa payload)."""
    return [
        {"title": title, "value": {"reminder": action, "followup_id": followup_id}}
        for action, title in BUTTON_TITLES.items()
    ]


def open_case_payload(store: Repositories, followup_id: Any, user_id: str) -> str:
    """What "Open casus" hands Rasa: switch to the reminder's own case (``switch_case`` checks again
    that it is the user's open case), or, for a card that names no case of theirs, the current case."""
    try:
        case_id = store.followups.case_of(int(followup_id), user_id)
    except (TypeError, ValueError, AccessDenied, NotFound):
        return OPEN_CASE_PAYLOAD
    return "/switch_case" + json.dumps({"case_ref": case_id})


def answer_click(store: Repositories, followup_id: Any, action: str, user_id: str, today: Optional[date] = None) -> str:
    """Settle "Gedaan" or "Later" for ``user_id`` and say what happened; anything odd gets the polite
    not-found answer (a card can be old, or forged: the store checks who may touch the case)."""
    try:
        number = int(followup_id)
        if action == DONE:
            store.followups.complete(number, user_id, None)
            return DONE_MESSAGE
        if action == LATER:
            record = store.followups.snooze(number, snoozed_until(today or date.today()), user_id, None)
            if record.done_at is not None:
                return "Dit punt was al afgerond; ik herinner u er niet meer aan."
            return f"Goed, ik herinner u op {record.due_on:%d-%m-%Y} opnieuw."
    except (TypeError, ValueError, AccessDenied, NotFound):
        pass
    return UNKNOWN_MESSAGE


class ReminderScheduler:
    """Every ``interval`` seconds: claim due reminders, send each, record the outcome."""

    def __init__(
        self,
        store: Callable[[], Repositories],
        send: Send,
        interval_seconds: float,
        clock: Callable[[], datetime] = utcnow,
        today: Callable[[], date] = date.today,
    ) -> None:
        self._store = store
        self._send = send
        self._interval = interval_seconds
        self._clock = clock
        self._today = today
        self._task: Optional[asyncio.Task[None]] = None

    async def run_once(self) -> int:
        """One pass; returns how many reminders were delivered."""
        store = self._store()
        claimed = await asyncio.to_thread(
            store.followups.claim_due, self._today(), self._clock(), LEASE, CHANNEL, BATCH
        )
        delivered = 0
        for reminder in claimed:
            delivered += await self._deliver(store, reminder)
        return delivered

    async def _deliver(self, store: Repositories, reminder: DueReminder) -> int:
        followup = reminder.followup
        text = reminder_text(reminder.pseudonym, followup.description, followup.due_on)
        if await self._send(reminder.reference, text, reminder_buttons(followup.id)):
            await asyncio.to_thread(store.followups.mark_reminded, followup.id, self._clock())
            return 1
        await asyncio.to_thread(store.followups.release, followup.id)
        return 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                sent = await self.run_once()
                if sent:
                    logger.info("reminders: %d reminder(s) sent", sent)
            except Exception as error:  # noqa: BLE001 - one failed run must not stop the reminders
                logger.error("reminders: run failed: %s", describe(error))
            await asyncio.sleep(self._interval)
