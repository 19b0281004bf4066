"""Admission control: under overload, answer "busy, try again" at once instead of growing latency.

Why: Rasa takes every message it is given; far beyond what two cores serve, each reply waits behind all
the others and a teacher watches a spinner for minutes, or the proxy times out and the message is lost
without a word. Here at most ``limit`` messages are inside Rasa at once and at most ``queue`` wait for a
place (each at most ``max_wait`` seconds); anything beyond gets the Dutch busy answer (HTTP 503 with
Retry-After on REST), so the client knows to send it again. Sending again is safe: a note is stored once.

Settings (per Rasa process): MELDWIJZER_MAX_IN_FLIGHT (default 16), MELDWIJZER_MAX_QUEUE (default 200),
MELDWIJZER_MAX_WAIT_S (default 30). The 50-user benchmark must never see a refusal with the defaults.
"""

from __future__ import annotations

import asyncio
import os
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import AsyncIterator, Optional, cast

from bot.texts import DANGER_LINE

BUSY_MESSAGE = (
    "Het is nu erg druk en ik kon uw bericht niet verwerken. Wilt u het over een minuut opnieuw sturen? " + DANGER_LINE
)
RETRY_AFTER_S = 30


class Busy(Exception):
    """No place inside Rasa and no place in the queue (or the wait was too long)."""


@dataclass
class Admission:
    limit: int
    queue: int
    max_wait: float
    _occupied: int = 0  # inside Rasa or waiting for a place: counted before the first await
    _slots: Optional[asyncio.Semaphore] = None
    _loop: Optional[asyncio.AbstractEventLoop] = None

    def __post_init__(self) -> None:
        if self.limit < 1 or self.queue < 0 or self.max_wait <= 0:
            raise ValueError("MELDWIJZER_MAX_IN_FLIGHT >= 1, MELDWIJZER_MAX_QUEUE >= 0, MELDWIJZER_MAX_WAIT_S > 0")

    @asynccontextmanager
    async def admitted(self) -> AsyncIterator[None]:
        """Hold one place inside Rasa for the body of the ``async with``; raise Busy when there is none."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop and self._occupied == 0:  # the server's loop (a new one per test run)
            self._slots, self._loop = asyncio.Semaphore(self.limit), loop
        slots = cast(asyncio.Semaphore, self._slots)  # set above on the first call in this loop
        if self._occupied >= self.limit + self.queue:
            raise Busy()
        self._occupied += 1
        try:
            try:
                await asyncio.wait_for(slots.acquire(), timeout=self.max_wait)
            except asyncio.TimeoutError as error:
                raise Busy() from error
            try:
                yield
            finally:
                slots.release()
        finally:
            self._occupied -= 1


def _int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError as error:
        raise ValueError(f"{name} must be a whole number") from error


@lru_cache(maxsize=1)
def admission() -> Admission:
    """The process-wide admission control, shared by every channel (read from the environment once)."""
    try:
        wait = float(os.environ.get("MELDWIJZER_MAX_WAIT_S", 30))
    except ValueError as error:
        raise ValueError("MELDWIJZER_MAX_WAIT_S must be a number of seconds") from error
    return Admission(_int("MELDWIJZER_MAX_IN_FLIGHT", 16), _int("MELDWIJZER_MAX_QUEUE", 200), wait)
