"""Werkdagen as the Algemene termijnenwet counts them (Stb. 1964, 314).

Why here: a reminder ("Later (1 week)"), Veilig Thuis's feedback term and every other follow-up count in
the same calendar, so it lives in one place. The law, as it reads today:
- art. 3 lid 1: the algemeen erkende feestdagen are Nieuwjaarsdag, tweede Paas- en Pinksterdag, both
  Christmas days, Hemelvaartsdag, the day the King's birthday is celebrated (Koningsdag) and 5 May (every
  year: since 1981 the law names "de vijfde mei" without a lustrum condition);
- art. 3 lid 2: Goede Vrijdag counts as one of them;
- art. 3 lid 3: further days can be made equal by royal decree (the bridge days published in the
  Staatscourant every few years). Those are not built in; pass them as ``extra_holidays``.
- art. 1: a term that ends on a Saturday, Sunday or feestdag runs on to the next day that is none of these.
Koningsdag is 27 April, or 26 April when the 27th is a Sunday (Wet vaststelling Koningsdag).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import Collection, FrozenSet

from dateutil.easter import easter

SATURDAY = 5
SUNDAY = 6


def kings_day(year: int) -> date:
    """27 April, moved to Saturday 26 April when the 27th falls on a Sunday."""
    day = date(year, 4, 27)
    return day - timedelta(days=1) if day.weekday() == SUNDAY else day


@cache
def dutch_holidays(year: int) -> FrozenSet[date]:
    """The feestdagen of Algemene termijnenwet art. 3 lid 1 and 2 in ``year``."""
    easter_sunday = easter(year)
    return frozenset(
        {
            date(year, 1, 1),  # Nieuwjaarsdag
            easter_sunday - timedelta(days=2),  # Goede Vrijdag (lid 2)
            easter_sunday + timedelta(days=1),  # tweede Paasdag
            kings_day(year),
            date(year, 5, 5),
            easter_sunday + timedelta(days=39),  # Hemelvaartsdag
            easter_sunday + timedelta(days=50),  # tweede Pinksterdag
            date(year, 12, 25),
            date(year, 12, 26),
        }
    )


def is_working_day(day: date, extra_holidays: Collection[date] = ()) -> bool:
    """Not a Saturday, Sunday, feestdag, or one of the ``extra_holidays`` (art. 3 lid 3 days)."""
    return day.weekday() < SATURDAY and day not in dutch_holidays(day.year) and day not in extra_holidays


def add_working_days(start: date, days: int, extra_holidays: Collection[date] = ()) -> date:
    """The date ``days`` werkdagen after ``start`` (``start`` itself does not count)."""
    if days < 0:
        raise ValueError("days cannot be negative")
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if is_working_day(current, extra_holidays):
            left -= 1
    return current


def extend_to_working_day(end: date, extra_holidays: Collection[date] = ()) -> date:
    """Art. 1: a term ending on a Saturday, Sunday or feestdag ends on the next werkdag instead."""
    while not is_working_day(end, extra_holidays):
        end += timedelta(days=1)
    return end
