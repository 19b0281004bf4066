"""Shared Dutch-language helpers: number words, yes/no, dates and times (bot.language)."""

from datetime import datetime

import pytest

from bot.language.dates import (
    AMSTERDAM,
    DAY,
    DAYPART,
    FUTURE,
    MINUTE,
    OK,
    UNCLEAR,
    WEEK,
    ParsedWhen,
    describe_when,
    dutch_date,
    from_field,
    parse_when,
)
from bot.language.numbers import number_value, words_up_to
from bot.language.yesno import parse_yes_no

# Thursday 14 November 2024, 15:00 in Amsterdam (CET, +01:00)
NOW = datetime(2024, 11, 14, 15, 0, tzinfo=AMSTERDAM)


# --- numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token,value", [("3", 3), ("drie", 3), ("één", 1), ("Twaalf", 12), ("veertien", 14), ("honderd", None), ("", None)]
)
def test_number_value(token, value):
    assert number_value(token) == value


def test_words_up_to_stops_at_the_highest():
    assert words_up_to(5) == {"een": 1, "één": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5}


# --- yes / no --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,expected",
    [
        ("ja", True),
        ("Ja hoor", True),
        ("klopt", True),
        ("jazeker", True),
        ("nee", False),
        ("Nee, nog niet", False),
        ("niet gedaan", False),
        ("misschien", None),
        ("", None),
    ],
)
def test_parse_yes_no(text, expected):
    assert parse_yes_no(text) is expected


@pytest.mark.parametrize(
    "text,expected",
    [
        ("jaaa", True),
        ("jep", True),
        ("j", True),
        ("neuh", False),
        ("n", False),
        ("geen idee", False),
        ("klopt niet", False),
        ("zeker niet", False),
        ("Nee!", False),
    ],
)
def test_parse_yes_no_reads_stretched_short_and_negated_answers(text, expected):
    """'klopt niet' used to be read as yes by the note form's own copy; the shared reading says no."""
    assert parse_yes_no(text) is expected


# --- dates ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,stored",
    [
        ("12-11", "2024-11-12"),
        ("12-11 om half negen", "2024-11-12T08:30+01:00"),
        ("12-11 08:30", "2024-11-12T08:30+01:00"),
        ("12/11 om 8u30", "2024-11-12T08:30+01:00"),
        ("12 november", "2024-11-12"),
        ("12 november 2024 om 10:15", "2024-11-12T10:15+01:00"),
        ("dinsdag 12 november", "2024-11-12"),
        ("2024-11-12", "2024-11-12"),
        ("vorige week dinsdag", "2024-11-05"),
        ("dinsdag vorige week", "2024-11-05"),
        ("vorige week vrijdag om kwart voor drie", "2024-11-08T14:45+01:00"),
        ("afgelopen maandag", "2024-11-11"),
        ("afgelopen vrijdag rond 10.15 uur", "2024-11-08T10:15+01:00"),
        ("maandag", "2024-11-11"),
        ("donderdag", "2024-11-07"),  # today is Thursday: a bare weekday is the previous one
        ("dinsdagmiddag", "2024-11-12 middag"),
        ("vandaag om 8 uur", "2024-11-14T08:00+01:00"),
        ("om half negen", "2024-11-14T08:30+01:00"),
        ("vanochtend", "2024-11-14 ochtend"),
        ("vanmorgen om kwart over acht", "2024-11-14T08:15+01:00"),
        ("tien over half negen vanochtend", "2024-11-14T08:40+01:00"),
        ("gisteren om vijf voor half drie", "2024-11-13T14:25+01:00"),
        ("gisteren", "2024-11-13"),
        ("gisteren om 14:00", "2024-11-13T14:00+01:00"),
        ("gistermiddag", "2024-11-13 middag"),
        ("gistermiddag om half drie", "2024-11-13T14:30+01:00"),
        ("eergisteren", "2024-11-12"),
        ("eergisteravond", "2024-11-12 avond"),
        ("13-11-2024 om 9 uur 's avonds", "2024-11-13T21:00+01:00"),
        ("3 dagen geleden", "2024-11-11"),
        ("twee dagen geleden", "2024-11-12"),
        ("vorige week", "2024-W45"),
        ("ergens vorige week", "2024-W45"),
        ("zojuist", "2024-11-14T15:00+01:00"),
        ("Gisteren.", "2024-11-13"),
    ],
)
def test_parse_when_understands_everyday_dutch(text, stored):
    parsed = parse_when(text, NOW)
    assert parsed.status == OK, text
    assert parsed.to_field() == stored


@pytest.mark.parametrize(
    "text",
    [
        "31-02",
        "31-02-2024",
        "gisteren om 25:70",
        "ergens vorig jaar",
        "vorige maand",
        "november",
        "blabla",
        "",
        "weet ik niet meer",
        "woensdag 12 november",  # 12 November 2024 was a Tuesday: a contradiction is asked again
        "gisteren bij het ophalen",  # extra words: asked again rather than guessed
    ],
)
def test_unclear_moments_are_asked_again(text):
    parsed = parse_when(text, NOW)
    assert parsed.status == UNCLEAR and parsed.value is None


@pytest.mark.parametrize("text", ["morgen", "vanavond", "vandaag 16:00", "12-12-2024", "volgende week"])
def test_an_observation_cannot_be_in_the_future(text):
    assert parse_when(text, NOW).status == FUTURE


def test_half_past_is_the_hour_before():
    assert parse_when("om half negen", NOW).value.hour == 8
    assert parse_when("om half drie", NOW).value.hour == 14  # school day: afternoon
    assert parse_when("om half een", NOW).value.hour == 12


def test_summer_time_is_applied():
    july = datetime(2024, 7, 4, 12, 0, tzinfo=AMSTERDAM)
    assert parse_when("vanochtend om half negen", july).to_field() == "2024-07-04T08:30+02:00"


def test_naive_now_is_taken_as_amsterdam_time():
    assert parse_when("gisteren", NOW.replace(tzinfo=None)).to_field() == "2024-11-13"


@pytest.mark.parametrize(
    "stored,precision",
    [
        ("2024-11-12T08:30+01:00", MINUTE),
        ("2024-11-12 middag", DAYPART),
        ("2024-11-12", DAY),
        ("2024-W45", WEEK),
    ],
)
def test_stored_moment_round_trips(stored, precision):
    parsed = from_field(stored)
    assert parsed.precision == precision and parsed.to_field() == stored


def test_unclear_moment_cannot_be_stored():
    with pytest.raises(ValueError):
        ParsedWhen(UNCLEAR).to_field()


@pytest.mark.parametrize(
    "stored,text",
    [
        ("2024-11-12T08:30+01:00", "dinsdag 12 november 2024 om 08:30"),
        ("2024-11-13 middag", "woensdag 13 november 2024, 's middags"),
        ("2024-11-12", "dinsdag 12 november 2024"),
        ("2024-W45", "de week van maandag 4 november 2024"),
    ],
)
def test_describe_when_reads_back_what_was_given(stored, text):
    assert describe_when(from_field(stored)) == text


def test_dutch_date_is_written_out():
    assert dutch_date(datetime(2024, 11, 12).date()) == "12 november 2024"
