"""Werkdagen per the Algemene termijnenwet (bot/language/workdays.py)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.language.workdays import (
    add_working_days,
    dutch_holidays,
    extend_to_working_day,
    is_working_day,
    kings_day,
)


@pytest.mark.parametrize(
    "year,good_friday,easter_monday,ascension,whit_monday",
    [
        (2024, date(2024, 3, 29), date(2024, 4, 1), date(2024, 5, 9), date(2024, 5, 20)),
        (2025, date(2025, 4, 18), date(2025, 4, 21), date(2025, 5, 29), date(2025, 6, 9)),
        (2026, date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25)),
        (2038, date(2038, 4, 23), date(2038, 4, 26), date(2038, 6, 3), date(2038, 6, 14)),  # latest Easter
    ],
)
def test_moving_feestdagen_follow_easter(year, good_friday, easter_monday, ascension, whit_monday):
    holidays = dutch_holidays(year)
    assert {good_friday, easter_monday, ascension, whit_monday} <= holidays
    assert len(holidays) == 9


def test_goede_vrijdag_counts_as_a_feestdag_per_article_3_second_paragraph():
    assert not is_working_day(date(2026, 4, 3))
    assert add_working_days(date(2026, 4, 2), 1) == date(2026, 4, 7)  # Fri and Easter Monday skipped


@pytest.mark.parametrize(
    "year,expected",
    [
        (2025, date(2025, 4, 26)),  # 27 April 2025 is a Sunday: Koningsdag on Saturday the 26th
        (2026, date(2026, 4, 27)),
        (2031, date(2031, 4, 26)),
    ],
)
def test_koningsdag_moves_to_saturday_when_27_april_is_a_sunday(year, expected):
    assert kings_day(year) == expected
    assert expected in dutch_holidays(year)
    assert date(year, 4, 27) in dutch_holidays(year) or date(year, 4, 27).weekday() == 6


def test_fifth_of_may_is_a_feestdag_every_year_not_only_every_lustrum():
    assert all(date(year, 5, 5) in dutch_holidays(year) for year in (2023, 2025, 2026))
    assert add_working_days(date(2026, 5, 4), 1) == date(2026, 5, 6)


def test_christmas_and_new_year_are_skipped():
    # Mon 22 Dec 2025 + 5 werkdagen: 23, 24, (25, 26 feestdag, 27-28 weekend) 29, 30, 31
    assert add_working_days(date(2025, 12, 22), 5) == date(2025, 12, 31)
    assert add_working_days(date(2025, 12, 31), 1) == date(2026, 1, 2)


def test_five_working_days_from_a_monday_is_the_next_monday():
    assert add_working_days(date(2025, 3, 3), 5) == date(2025, 3, 10)
    assert add_working_days(date(2025, 3, 3), 0) == date(2025, 3, 3)


def test_extra_holidays_from_a_royal_decree_are_skipped_when_given():
    bridge_day = date(2026, 5, 15)  # Friday after Hemelvaartsdag
    assert add_working_days(date(2026, 5, 13), 1, extra_holidays={bridge_day}) == date(2026, 5, 18)


def test_negative_days_are_refused():
    with pytest.raises(ValueError):
        add_working_days(date(2026, 1, 5), -1)


@pytest.mark.parametrize(
    "end,expected",
    [
        (date(2026, 3, 7), date(2026, 3, 9)),  # Saturday -> Monday (art. 1)
        (date(2026, 4, 3), date(2026, 4, 7)),  # Goede Vrijdag, weekend, tweede Paasdag -> Tuesday
        (date(2026, 3, 10), date(2026, 3, 10)),  # a werkdag stays
    ],
)
def test_a_term_ending_on_a_weekend_or_feestdag_runs_to_the_next_working_day(end, expected):
    assert extend_to_working_day(end) == expected
