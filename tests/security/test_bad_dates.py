"""Attack: dates at the calendar's edges in the note form. One of them used to raise OverflowError in
the validation action, which answered 500 with the whole tracker in its body. A bad date is asked
again, never raised and never stored as another date."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.language.dates import OK, UNCLEAR, parse_when

NOW = datetime(2026, 12, 1, 10, 0)


@pytest.mark.parametrize(
    "text",
    [
        "9999-12-31",
        "31-12-9999 23:59",
        "maandag 31-12-9999",
        "0001-01-01",
        "0000-01-01",
        "1-1-10000",
        "9999 weken geleden",
        "3 maart 1935",
        "99999999999999999999 dagen geleden",
        "1e999",
    ],
)
def test_impossible_or_implausible_dates_are_asked_again(text: str) -> None:
    assert parse_when(text, NOW).status == UNCLEAR


@pytest.mark.parametrize("text,year", [("12-03-2025", 2025), ("3 november 2026", 2026), ("1 september 2010", 2010)])
def test_real_dates_with_a_year_still_parse(text: str, year: int) -> None:
    parsed = parse_when(text, NOW)
    assert parsed.status == OK and parsed.value.year == year
