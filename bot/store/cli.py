"""``python -m bot purge --older-than 180d``: the retention purge, run from cron or by hand."""
from __future__ import annotations

import re
from datetime import timedelta
from typing import Union

from bot.store.db import repositories

_UNIT_DAYS = {"d": 1, "w": 7, "y": 365}


def parse_older_than(text: str) -> timedelta:
    """'180d', '26w', '2y' (years as 365 days) -> timedelta; anything else is a ValueError."""
    match = re.fullmatch(r"(\d+)([dwy])", text.strip())
    if not match:
        raise ValueError(f"retention period {text!r}: use a number followed by d, w or y, e.g. 180d")
    return timedelta(days=int(match.group(1)) * _UNIT_DAYS[match.group(2)])


def purge(older_than: Union[str, timedelta]) -> int:
    """Delete cases closed longer ago than ``older_than`` from the configured store; returns the count."""
    period = parse_older_than(older_than) if isinstance(older_than, str) else older_than
    return repositories().purge_closed_cases(period)
