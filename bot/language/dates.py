"""Dutch dates and times as teachers type them: "gistermiddag", "12-11 om half negen", "vorige week".

Why here: notes, follow-ups and the extractor of a whole message all read the same everyday Dutch;
one parser means one set of rules to check. ``parse_when`` never guesses: dateparser does the explicit
dates, a small pre-normaliser (documented at ``_normalise_when``) handles the everyday Dutch it misses,
and anything unclear comes back as ``unclear`` so the caller asks again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Dict, Optional, Tuple
from zoneinfo import ZoneInfo

from dateparser.date import DateDataParser

from bot.language.numbers import NUMBER_WORDS, number_value

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

OK, UNCLEAR, FUTURE = "ok", "unclear", "future"
MINUTE, DAYPART, DAY, WEEK = "minute", "daypart", "day", "week"

WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
# Start hour of each part of the day; the value of a daypart moment is its start.
DAYPARTS: Dict[str, int] = {"nacht": 0, "ochtend": 6, "middag": 12, "avond": 18}
_DAYPART_WORDS = {"ochtend": "ochtend", "morgen": "ochtend", "middag": "middag", "avond": "avond", "nacht": "nacht"}


@dataclass(frozen=True)
class ParsedWhen:
    """A parsed moment. ``value`` is the start of the period meant, in Europe/Amsterdam.

    ``precision`` says how much the teacher actually told: an exact time, a part of the day
    ("gistermiddag"), a day, or a week ("vorige week"). We keep that instead of inventing a time.
    """

    status: str
    value: Optional[datetime] = None
    precision: Optional[str] = None

    def to_field(self) -> str:
        """Canonical text for the note's fields: ISO date/time, ISO week, or 'YYYY-MM-DD middag'."""
        if self.value is None or self.precision is None:
            raise ValueError("only an ok ParsedWhen can be stored")
        if self.precision == MINUTE:
            return self.value.isoformat(timespec="minutes")
        if self.precision == WEEK:
            year, week, _ = self.value.isocalendar()
            return f"{year}-W{week:02d}"
        day = self.value.date().isoformat()
        return f"{day} {_daypart_of(self.value.hour)}" if self.precision == DAYPART else day


def _daypart_of(hour: int) -> str:
    return max((h, name) for name, h in DAYPARTS.items() if h <= hour)[1]


def from_field(text: str) -> ParsedWhen:
    """Inverse of ``ParsedWhen.to_field`` (the store keeps the canonical text)."""
    week = re.fullmatch(r"(\d{4})-W(\d{2})", text)
    if week:
        monday = date.fromisocalendar(int(week.group(1)), int(week.group(2)), 1)
        return ParsedWhen(OK, _at(monday, 0), WEEK)
    part = re.fullmatch(r"(\d{4}-\d{2}-\d{2}) (\w+)", text)
    if part and part.group(2) in DAYPARTS:
        return ParsedWhen(OK, _at(date.fromisoformat(part.group(1)), DAYPARTS[part.group(2)]), DAYPART)
    if "T" in text:
        return ParsedWhen(OK, datetime.fromisoformat(text).astimezone(AMSTERDAM), MINUTE)
    return ParsedWhen(OK, _at(date.fromisoformat(text), 0), DAY)


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=AMSTERDAM)


@dataclass(frozen=True)
class _Normalised:
    """The pre-normaliser's output: text for dateparser plus what it learned about precision."""

    text: str
    has_time: bool
    daypart: Optional[str]
    week: bool
    weekday: Optional[int]  # a weekday named next to an explicit date, to check they agree


def _hour_for(hour: int, daypart: Optional[str]) -> int:
    """12-hour Dutch speech to 24 h. Without a daypart, 1-6 o'clock means the afternoon: a school day
    runs from about 7 to 18, so "om half drie" is 14:30 and "om half negen" is 08:30 ("half een" 12:30)."""
    if hour == 0 and daypart != "nacht":
        return 12
    if daypart in ("middag", "avond") and hour < 12:
        return hour + 12
    if daypart is None and 1 <= hour <= 6:
        return hour + 12
    return hour


def _known_number(word: str) -> int:
    """A number the time patterns matched; they list only digits and known number words."""
    value = number_value(word)
    if value is None:
        raise ValueError(f"not a number: {word!r}")
    return value


_HOUR = r"(\d{1,2}|een|één|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf)"
_MIN = r"(\d{1,2}|een|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|dertien|veertien)"
_SPOKEN_TIMES = (
    # "tien over half negen" (08:40), "vijf voor half drie" (14:25)
    (
        re.compile(rf"\b{_MIN} (over|voor) half {_HOUR}\b"),
        lambda m: (_known_number(m.group(3)) - 1, 30 + (1 if m.group(2) == "over" else -1) * _known_number(m.group(1))),
    ),
    (re.compile(rf"\bhalf {_HOUR}\b"), lambda m: (_known_number(m.group(1)) - 1, 30)),
    (re.compile(rf"\bkwart over {_HOUR}\b"), lambda m: (_known_number(m.group(1)), 15)),
    (re.compile(rf"\bkwart voor {_HOUR}\b"), lambda m: (_known_number(m.group(1)) - 1, 45)),
    (
        re.compile(rf"\b{_MIN} (over|voor) {_HOUR}\b(?! (dagen|weken|uur|minuten))"),
        lambda m: (
            _known_number(m.group(3)) - (m.group(2) == "voor"),
            _known_number(m.group(1)) if m.group(2) == "over" else 60 - _known_number(m.group(1)),
        ),
    ),
    (re.compile(r"\b(\d{1,2})[.:u](\d{2})\b(?:\s*uur)?(?![-./]\d)"), lambda m: (int(m.group(1)), int(m.group(2)))),
    (re.compile(rf"\b{_HOUR} uur\b(?! geleden)"), lambda m: (_known_number(m.group(1)), 0)),
)


def _extract_time(text: str) -> Tuple[str, Optional[Tuple[int, int]]]:
    """Find one spoken or written clock time, cut it out and return (rest, (hour as said, minute)).
    Runs before the date rules, so "10.15" is never mistaken for a date."""
    for pattern, to_hm in _SPOKEN_TIMES:
        match = pattern.search(text)
        if match:
            return text[: match.start()] + text[match.end() :], to_hm(match)
    return text, None


def _last_weekday(today: date, weekday: int) -> date:
    """The most recent ``weekday`` strictly before today: on a Monday, "maandag" means a week ago
    (for today a teacher says "vandaag")."""
    return today - timedelta(days=(today.weekday() - weekday - 1) % 7 + 1)


_RELATIVE_DAY = re.compile(
    r"\b(?:(?P<day>vandaag|gisteren|gister|eergisteren|eergister)|van(?=ochtend|morgen|middag|avond|nacht))"
    r"(?P<part>ochtend|morgen|middag|avond|nacht)?\b"
)
_DAYS_BACK = {None: 0, "vandaag": 0, "gisteren": 1, "gister": 1, "eergisteren": 2, "eergister": 2}
_WEEKDAY_PART = re.compile(
    r"\b(vorige week |afgelopen )?(" + "|".join(WEEKDAYS) + r")(ochtend|morgen|middag|avond|nacht)?"
    r"( van de vorige week| vorige week)?\b"
)
_DAYPART_PHRASE = re.compile(
    r"(?:'s|des|in de) ?(ochtends|morgens|middags|avonds|nachts|ochtend|morgen|middag|avond|nacht)\b"
)
_EXPLICIT_DATE = re.compile(r"\d{1,2}[-/.]\d{1,2}|\d{1,2} (" + "|".join(m[:3] for m in MONTHS) + r")")
_JUST_NOW = re.compile(r"\b(zojuist|zonet|daarnet|zo-even|zoeven|net|nu|just)\b")
_FILLERS = re.compile(r"\b(ergens|rond|rondom|omstreeks|ongeveer|circa|ca\.|om|op|in|de|het|was|dat|het was)\b")


def _relative_date(text: str, today: date) -> Tuple[str, Optional[date], Optional[str], Optional[int]]:
    """Replace one relative day expression by nothing; return (rest, day, daypart, named weekday).

    A weekday next to an explicit date ("dinsdag 12-11") is not a relative day: it is returned as
    ``named weekday`` so the caller can check it matches the date.
    """
    match = _RELATIVE_DAY.search(text)
    if match:
        day = today - timedelta(days=_DAYS_BACK[match.group("day")])
        return text[: match.start()] + text[match.end() :], day, _DAYPART_WORDS.get(match.group("part") or ""), None
    match = _WEEKDAY_PART.search(text)
    if match:
        weekday = WEEKDAYS.index(match.group(2))
        part = _DAYPART_WORDS.get(match.group(3) or "")
        rest = text[: match.start()] + text[match.end() :]
        if match.group(1) == "vorige week " or match.group(4):
            this_monday = today - timedelta(days=today.weekday())
            return rest, this_monday - timedelta(days=7 - weekday), part, None
        if _EXPLICIT_DATE.search(rest):
            return rest, None, part, weekday
        return rest, _last_weekday(today, weekday), part, None
    return text, None, None, None


def _normalise_when(text: str, now: datetime) -> _Normalised:
    """Rewrite everyday Dutch into something dateparser 1.2 reads, and note the precision.

    What dateparser misses in Dutch (checked with dateparser 1.2.0) and what this does about it:
    - "vorige week dinsdag", "dinsdag vorige week", "afgelopen maandag", "dinsdagmiddag": computed here
      (a bare weekday is the most recent one before today).
    - "vanochtend", "vanmorgen", "vanmiddag", "vanavond", "vannacht", "gistermiddag",
      "eergisteravond" ...: computed here, keeping the part of the day as precision.
    - spoken times: "half negen" = 08:30, "kwart over drie", "tien voor half negen", "acht uur", and
      written "8.30"/"8u30"; 1-6 o'clock without daypart means the afternoon (school day).
    - "vorige week" alone: week precision (Monday of last week), not a guessed day.
    - number words before "dagen/weken geleden" become digits; ISO dates "2024-11-12" become DMY (with
      DATE_ORDER DMY dateparser would read them as 2024-12-11).
    - "zojuist", "net", "nu": now, to the minute.
    - fillers "ergens", "rond", "ongeveer", "om" are dropped; what is left must still be a date.
    """
    today = now.date()
    text = re.sub(r"\s+", " ", text.lower().strip().rstrip(".!?"))
    text = re.sub(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b", r"\3-\2-\1", text)
    daypart_match = _DAYPART_PHRASE.search(text)
    daypart = _DAYPART_WORDS[daypart_match.group(1).rstrip("s")] if daypart_match else None
    if daypart_match:
        text = text[: daypart_match.start()] + text[daypart_match.end() :]
    text, clock = _extract_time(text)
    text, day, relative_part, weekday = _relative_date(text, today)
    daypart = relative_part or daypart
    if _JUST_NOW.search(text):
        text, day, clock = _JUST_NOW.sub(" ", text), today, (now.hour, now.minute)
    elif clock is not None:
        clock = (_hour_for(clock[0], daypart), clock[1])
    week = bool(re.search(r"\bvorige week\b", text)) and day is None
    text = re.sub(
        rf"\b({'|'.join(NUMBER_WORDS)})\b(?= (dagen|dag|weken|week|uur|minuten) geleden)",
        lambda m: str(NUMBER_WORDS[m.group(1)]),
        text,
    )
    text = re.sub(r"\s+", " ", _FILLERS.sub(" ", text)).strip(" ,")
    if day is not None:
        text = f"{day.day:02d}-{day.month:02d}-{day.year} {text}".strip()
    if clock is not None:
        text = f"{text} {clock[0]:02d}:{clock[1]:02d}".strip() if text else f"{clock[0]:02d}:{clock[1]:02d}"
    has_time = clock is not None or bool(re.search(r"\b(uur|minuten) geleden\b", text))
    return _Normalised(text, has_time, daypart, week, weekday)


_PARSER_SETTINGS = {
    "DATE_ORDER": "DMY",
    "PREFER_DATES_FROM": "past",
    "TIMEZONE": "Europe/Amsterdam",
    "RETURN_AS_TIMEZONE_AWARE": False,
}


def _dateparser(now: datetime) -> DateDataParser:
    return DateDataParser(languages=["nl"], settings={**_PARSER_SETTINGS, "RELATIVE_BASE": now.replace(tzinfo=None)})


def _is_future(value: datetime, precision: str, now: datetime) -> bool:
    """A day or week counts from its first day; a time or part of the day from its start."""
    return value.date() > now.date() if precision in (DAY, WEEK) else value > now


# A note is about a pupil at school: a moment before this is a typo ("1935"), never a signal to file.
MAX_PAST = timedelta(days=20 * 366)
YEAR = re.compile(r"(?<![\d:.])(\d{4})(?![\d:.])")


def parse_when(text: str, now: datetime) -> ParsedWhen:
    """Parse a free Dutch date/time for an observation or contact that already happened.

    ``unclear`` when nothing, or only a month or year, can be read, when a date does not exist
    ("31-02", "9999-12-31", a year the parser had to ignore such as "0000") or lies more than
    ``MAX_PAST`` back, or a named weekday does not match the date; ``future`` when the moment is after
    ``now``. Both mean: ask again — a bad date never raises. ``now`` may be naive (Amsterdam) or aware.
    """
    now = now.astimezone(AMSTERDAM) if now.tzinfo else now.replace(tzinfo=AMSTERDAM)
    try:
        return _parse_when(text, now)
    except (OverflowError, ValueError):  # dateparser and datetime arithmetic at the calendar's edges
        return ParsedWhen(UNCLEAR)


def _parse_when(text: str, now: datetime) -> ParsedWhen:
    norm = _normalise_when(text, now)
    if not norm.text:
        return ParsedWhen(UNCLEAR)
    data = _dateparser(now).get_date_data(norm.text)
    if data.date_obj is None or data.period not in ("day", "week", "time"):
        return ParsedWhen(UNCLEAR)
    parsed = data.date_obj.replace(tzinfo=AMSTERDAM)
    if norm.weekday is not None and parsed.weekday() != norm.weekday:
        return ParsedWhen(UNCLEAR)
    if any(int(year) != parsed.year for year in YEAR.findall(norm.text)) or parsed < now - MAX_PAST:
        return ParsedWhen(UNCLEAR)
    if norm.week or data.period == "week":
        value, precision = _at(parsed.date() - timedelta(days=parsed.weekday()), 0), WEEK
    elif norm.has_time:
        value, precision = parsed.replace(second=0, microsecond=0), MINUTE
    elif norm.daypart:
        value, precision = _at(parsed.date(), DAYPARTS[norm.daypart]), DAYPART
    else:
        value, precision = _at(parsed.date(), 0), DAY
    if _is_future(value, precision, now):
        return ParsedWhen(FUTURE, value, precision)
    return ParsedWhen(OK, value, precision)


def dutch_date(day: date) -> str:
    """'12 november 2024': written out, so nobody reads 12-11 as December 11th."""
    return f"{day.day} {MONTHS[day.month - 1]} {day.year}"


def describe_when(when: ParsedWhen) -> str:
    """Dutch text a teacher reads back: 'dinsdag 12 november 2024 om 08:30', '..., 's middags'."""
    if when.value is None:
        return "onbekend"
    v = when.value
    day = f"{WEEKDAYS[v.weekday()]} {dutch_date(v)}"
    if when.precision == MINUTE:
        return f"{day} om {v:%H:%M}"
    if when.precision == DAYPART:
        return f"{day}, 's {_daypart_of(v.hour)}s"
    if when.precision == WEEK:
        return f"de week van {day}"
    return day
