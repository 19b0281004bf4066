"""Structured dossier notes: what the leerlingdossier must record, asked field by field.

Why: every seed protocol says that signals, contacts, steps and decisions must be written down, and
seed 002 (Onze Wijs, stap 1) lists what a note must contain: "vermeld altijd datum, plaats situatie en
overige aanwezigen", signals "zo feitelijk mogelijk zonder interpretaties", hypotheses marked
"uitdrukkelijk" as hypothesis, and "vermeld de bron als er informatie van derden wordt vastgelegd ... en
vraag toestemming aan deze derde". A teacher under stress forgets half of that, so the bot asks for each
missing part, and the inspectie can later see a complete, factual dossier.

The note kinds follow the steps (seed 002 stap 1-5; seed 001 "Leg de gegevens over uw melding bij
Veilig Thuis vast in het leerling dossier"; seed 003 stap 5 "Leg vast" for agreed help). They are a code
schema, not knowledge/ data: they describe the shape of our records, not a rule of the meldcode.

Dates are asked in free Dutch ("gistermiddag", "12-11 om half negen") and parsed by ``parse_when``:
dateparser does the explicit dates, a small pre-normaliser (documented at ``_normalise_when``) handles
the everyday Dutch it misses. Anything unclear is asked again, never guessed.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Dict, List, Mapping, Optional, Tuple, Union
from zoneinfo import ZoneInfo

from dateparser.date import DateDataParser

AMSTERDAM = ZoneInfo("Europe/Amsterdam")

FieldValue = Union[str, bool]

TEXT, DATETIME, YES_NO = "text", "datetime", "yes_no"


@dataclass(frozen=True)
class NoteField:
    """One thing a note records. ``prompt`` is the question the bot asks; ``label`` heads the summary.

    ``required_if`` names an earlier field: this field is only asked when that one has a non-empty
    answer (the consent question only when a third party is named as source).
    ``factual`` marks fields that must be facts: the summary separates hypotheses out of them.
    ``roles`` marks fields answered with people's roles ("een collega", "de gymdocent"): such an answer
    names who was there, it does not report a suspicion, so the dialogue does not read it as one.
    """

    name: str
    label: str
    prompt: str
    type: str = TEXT
    required: bool = True
    required_if: Optional[str] = None
    factual: bool = False
    roles: bool = False


@dataclass(frozen=True)
class NoteKind:
    """A kind of dossier note: its Dutch label, the meldcode step(s) it belongs to and its fields.

    ``contact_field`` names the field that says with whom there was contact: seed 002 wants the
    "contacten over deze signalen" recorded, so the export lists them together.
    """

    id: str
    label: str
    steps: Tuple[int, ...]
    fields: Tuple[NoteField, ...]
    source: str
    contact_field: Optional[str] = None

    def field(self, name: str) -> NoteField:
        return next(f for f in self.fields if f.name == name)

    @property
    def step_label(self) -> str:
        return "stap " + " en ".join(str(s) for s in self.steps)


def _moment(prompt: str) -> NoteField:
    """Every note starts with when it happened (seed 002: "vermeld altijd datum")."""
    return NoteField("moment", "Wanneer", prompt, type=DATETIME)


NOTE_KINDS: Dict[str, NoteKind] = {
    kind.id: kind
    for kind in (
        NoteKind(
            id="signaal",
            label="Signaal",
            steps=(1,),
            source="protocol Onze Wijs, stap 1 (wat u vastlegt in het leerlingdossier)",
            fields=(
                _moment("Wanneer was dit? Bijvoorbeeld 'vanochtend om half negen' of '12-11 om 10:15'."),
                NoteField("plaats", "Waar", "Waar was dit? Bijvoorbeeld in de klas, op het plein of bij het ophalen."),
                NoteField("situatie", "Situatie", "In welke situatie was dit? Bijvoorbeeld tijdens de gymles of bij het brengen.",
                          factual=True),
                NoteField("aanwezigen", "Aanwezig",
                          "Wie waren er nog meer bij? Noem rollen, geen namen (bijvoorbeeld 'een collega').",
                          roles=True),
                NoteField("waarnemingen", "Waarnemingen",
                          "Wat heeft u gezien of gehoord? Beschrijf alleen feiten.", factual=True),
                NoteField("hypothese", "Hypothese of veronderstelling",
                          "Heeft u een vermoeden of interpretatie? Die leg ik apart vast als hypothese. "
                          "Typ 'nee' als u die niet heeft.", required=False),
                NoteField("bron", "Bron (informatie van derden)",
                          "Komt een deel van deze informatie van iemand anders? Noem dan de rol, bijvoorbeeld "
                          "'de buurvrouw'. Typ 'nee' als u alles zelf heeft waargenomen.", required=False,
                          roles=True),
                NoteField("toestemming_bron", "Toestemming van de bron om vast te leggen",
                          "Heeft deze persoon toestemming gegeven om de informatie in het dossier vast te leggen?",
                          type=YES_NO, required=False, required_if="bron"),
            ),
        ),
        NoteKind(
            id="consultatie",
            label="Collegiale consultatie",
            steps=(2,),
            source="protocol Onze Wijs, stap 2 (collegiale consultatie en advies)",
            contact_field="met_wie",
            fields=(
                _moment("Wanneer was het overleg?"),
                NoteField("met_wie", "Met wie",
                          "Met wie heeft u overlegd? Noem de functie of organisatie, bijvoorbeeld de intern "
                          "begeleider of Veilig Thuis.", roles=True),
                NoteField("anoniem", "Leerling anoniem besproken", "Heeft u de leerling anoniem besproken?",
                          type=YES_NO),
                NoteField("advies", "Advies", "Welk advies kreeg u?"),
                NoteField("afspraken", "Afspraken",
                          "Is afgesproken wie wat doet en wie de zorg coördineert? Typ 'nee' als er niets is "
                          "afgesproken.", required=False),
            ),
        ),
        NoteKind(
            id="gesprek",
            label="Gesprek met ouder of leerling",
            steps=(3,),
            source="protocol Onze Wijs, stap 3 (gesprek met de ouder, punt 1-5)",
            contact_field="met_wie",
            fields=(
                _moment("Wanneer was het gesprek?"),
                NoteField("met_wie", "Met wie",
                          "Met wie heeft u gesproken, en wie waren er verder bij? Noem rollen, bijvoorbeeld "
                          "'moeder en de intern begeleider'.", roles=True),
                NoteField("doel", "Doel van het gesprek", "Welk doel van het gesprek heeft u uitgelegd?"),
                NoteField("feiten", "Gedeelde feiten", "Welke feiten en waarnemingen heeft u besproken?",
                          factual=True),
                NoteField("reactie", "Reactie", "Hoe reageerde de ouder of de leerling daarop?"),
                NoteField("afspraken", "Afspraken", "Welke afspraken zijn gemaakt? Typ 'geen' als er geen zijn."),
                NoteField("ondertekend", "Verslag ondertekend",
                          "Is het verslag door de betrokkenen ondertekend? Typ 'nee' als dat (nog) niet zo is.",
                          type=YES_NO, required=False),
            ),
        ),
        NoteKind(
            id="weging",
            label="Weging en besluit",
            steps=(4, 5),
            source="protocol Stichting Consent, stap 4 en 5 (afwegingskader, twee beslissingen)",
            fields=(
                _moment("Wanneer is de weging gemaakt?"),
                NoteField("betrokkenen", "Gewogen door",
                          "Wie hebben samen gewogen? Noem functies, bijvoorbeeld 'intern begeleider en "
                          "aandachtsfunctionaris'.", roles=True),
                NoteField("veilig_thuis_geraadpleegd", "Veilig Thuis geraadpleegd",
                          "Is Veilig Thuis bij de weging geraadpleegd?", type=YES_NO),
                NoteField("besluit", "Besluit en toelichting",
                          "Wat is besloten, en waarom? De antwoorden op de afwegingsvragen staan al in het dossier."),
            ),
        ),
        NoteKind(
            id="melding",
            label="Melding bij Veilig Thuis",
            steps=(5,),
            source="protocol Luc Stevensschool, melden ('Leg de gegevens over uw melding bij Veilig Thuis vast')",
            contact_field="door_wie",
            fields=(
                _moment("Wanneer is de melding gedaan?"),
                NoteField("door_wie", "Gemeld door", "Wie heeft de melding gedaan? Noem de functie.", roles=True),
                NoteField("besproken_met_ouder", "Vooraf besproken met ouder",
                          "Is de melding vooraf met de ouder besproken?", type=YES_NO),
                NoteField("kenmerk", "Kenmerk Veilig Thuis",
                          "Welk kenmerk of registratienummer gaf Veilig Thuis? Typ 'nee' als u dat niet heeft.",
                          required=False),
                NoteField("afspraken", "Afspraken met Veilig Thuis",
                          "Wat is met Veilig Thuis afgesproken over wat de school na de melding zelf nog doet?"),
            ),
        ),
        NoteKind(
            id="vervolg",
            label="Vervolg",
            steps=(5,),
            source="protocol Onze Wijs, stap 1 ('vervolg aantekeningen over het verloop') en stap 5a",
            fields=(
                _moment("Wanneer was dit?"),
                NoteField("verloop", "Verloop", "Hoe gaat het nu met de leerling? Beschrijf wat u ziet en hoort.",
                          factual=True),
                NoteField("hulp_ontvangen", "Hulp loopt",
                          "Krijgen ouder en leerling de afgesproken hulp? Typ 'weet niet' als u dat niet weet.",
                          type=YES_NO, required=False),
                NoteField("volgende_stap", "Volgende stap", "Wat is de volgende stap of afspraak? Typ 'nee' als er geen is.",
                          required=False),
            ),
        ),
    )
}


def note_kind(kind: str) -> NoteKind:
    """The kind by id; an unknown id is a programming error, so it raises KeyError with the known ids."""
    if kind not in NOTE_KINDS:
        raise KeyError(f"unknown note kind '{kind}'; known: {sorted(NOTE_KINDS)}")
    return NOTE_KINDS[kind]


# --- answers -----------------------------------------------------------------------------------

_SKIP = re.compile(r"^\s*(nee|neen|geen|niets|nvt|n\.v\.t\.?|-|weet (ik )?niet|onbekend)\s*[.!]?\s*$", re.I)
_YES = re.compile(r"^\s*(ja|jazeker|jawel|klopt|zeker|yes|j)\b", re.I)
_NO = re.compile(r"^\s*(nee|neen|niet|geen|no|n)\b", re.I)


def is_skip(text: str) -> bool:
    """True for 'nee', 'geen', 'n.v.t.', 'weet niet': the answer to an optional question that has none."""
    return bool(_SKIP.match(text))


def parse_yes_no(text: str) -> Optional[bool]:
    """'ja'/'nee' and their common variants; None when the answer is neither (then ask again)."""
    if _YES.match(text):
        return True
    if _NO.match(text):
        return False
    return None


def _answered(value: Optional[FieldValue]) -> bool:
    return value is not None and value != ""


def missing_fields(kind: str, filled: Mapping[str, Optional[FieldValue]]) -> List[str]:
    """Names of the fields still to ask, in asking order.

    A required field is missing until it has a non-empty answer. An optional field counts as asked once
    its key is present, even with an empty answer ("nee" to "Heeft u een hypothese?"), so the bot never
    asks it twice. A ``required_if`` field is needed only when its trigger field has a real answer.
    """
    missing = []
    for f in note_kind(kind).fields:
        if f.required_if is not None:
            needed = _answered(filled.get(f.required_if))
            if needed and not _answered(filled.get(f.name)):
                missing.append(f.name)
        elif f.required:
            if not _answered(filled.get(f.name)):
                missing.append(f.name)
        elif f.name not in filled:
            missing.append(f.name)
    return missing


# --- hypotheses --------------------------------------------------------------------------------

# Words that turn a sentence into an interpretation.
_HYPOTHESIS = re.compile(
    r"\b(ik denk|denk ik|ik dacht|dacht ik|volgens mij|ik vermoed|vermoed ik|vermoedelijk|waarschijnlijk|"
    r"wellicht|misschien|blijkbaar|kennelijk|ik heb het idee|ik heb het gevoel|mijns inziens|"
    r"ik ga ervan uit|ik neem aan|het zou kunnen|zou kunnen|lijkt|lijken|leek|leken|mogelijk|ik schat in)\b",
    re.I,
)
# "mogelijk" is no guess in "zo snel mogelijk", "indien mogelijk", "niet mogelijk", "mogelijk te maken".
_MOGELIJK_NOT_A_GUESS = re.compile(r"\b(zo|zoveel|indien|waar|als|niet)\s+(\w+\s+)?$", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
HYPOTHESIS_TAG = "[hypothese]"


def hypothesis_markers(text: str) -> List[str]:
    """The interpretation words in ``text``, lower-cased, in order of appearance."""
    return [m.group(0).lower() for m in _HYPOTHESIS.finditer(text) if not _is_plain_mogelijk(text, m)]


def _is_plain_mogelijk(text: str, match: "re.Match[str]") -> bool:
    if match.group(0).lower() != "mogelijk":
        return False
    return bool(_MOGELIJK_NOT_A_GUESS.search(text[: match.start()])) or text[match.end():].lstrip().startswith("te ")


def split_sentences(text: str) -> List[str]:
    return [s for s in (part.strip() for part in _SENTENCE_END.split(text.strip())) if s]


def split_hypotheses(text: str) -> Tuple[List[str], List[str]]:
    """(fact sentences, hypothesis sentences): seed 002 wants both, but never mixed up."""
    facts, hypotheses = [], []
    for sentence in split_sentences(text):
        (hypotheses if hypothesis_markers(sentence) else facts).append(sentence)
    return facts, hypotheses


def mark_hypotheses(text: str) -> str:
    """``text`` with every interpretation sentence prefixed by ``[hypothese]``, facts untouched."""
    return " ".join(
        f"{HYPOTHESIS_TAG} {s}" if hypothesis_markers(s) else s for s in split_sentences(text)
    )


# --- dates ---------------------------------------------------------------------------------------

OK, UNCLEAR, FUTURE = "ok", "unclear", "future"
MINUTE, DAYPART, DAY, WEEK = "minute", "daypart", "day", "week"

WEEKDAYS = ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag")
MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september",
          "oktober", "november", "december")
# Start hour of each part of the day; the value of a daypart moment is its start.
DAYPARTS: Dict[str, int] = {"nacht": 0, "ochtend": 6, "middag": 12, "avond": 18}
_DAYPART_WORDS = {"ochtend": "ochtend", "morgen": "ochtend", "middag": "middag", "avond": "avond",
                  "nacht": "nacht"}
_NUMBERS = {"een": 1, "één": 1, "twee": 2, "drie": 3, "vier": 4, "vijf": 5, "zes": 6, "zeven": 7,
            "acht": 8, "negen": 9, "tien": 10, "elf": 11, "twaalf": 12, "dertien": 13, "veertien": 14}


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


def _word_number(word: str) -> Optional[int]:
    return int(word) if word.isdigit() else _NUMBERS.get(word)


_HOUR = r"(\d{1,2}|een|één|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf)"
_MIN = r"(\d{1,2}|een|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf|dertien|veertien)"
_SPOKEN_TIMES = (
    # "tien over half negen" (08:40), "vijf voor half drie" (14:25)
    (re.compile(rf"\b{_MIN} (over|voor) half {_HOUR}\b"),
     lambda m: (_word_number(m.group(3)) - 1, 30 + (1 if m.group(2) == "over" else -1) * _word_number(m.group(1)))),
    (re.compile(rf"\bhalf {_HOUR}\b"), lambda m: (_word_number(m.group(1)) - 1, 30)),
    (re.compile(rf"\bkwart over {_HOUR}\b"), lambda m: (_word_number(m.group(1)), 15)),
    (re.compile(rf"\bkwart voor {_HOUR}\b"), lambda m: (_word_number(m.group(1)) - 1, 45)),
    (re.compile(rf"\b{_MIN} (over|voor) {_HOUR}\b(?! (dagen|weken|uur|minuten))"),
     lambda m: (_word_number(m.group(3)) - (m.group(2) == "voor"),
                _word_number(m.group(1)) if m.group(2) == "over" else 60 - _word_number(m.group(1)))),
    (re.compile(r"\b(\d{1,2})[.:u](\d{2})\b(?:\s*uur)?(?![-./]\d)"), lambda m: (int(m.group(1)), int(m.group(2)))),
    (re.compile(rf"\b{_HOUR} uur\b(?! geleden)"), lambda m: (_word_number(m.group(1)), 0)),
)


def _extract_time(text: str) -> Tuple[str, Optional[Tuple[int, int]]]:
    """Find one spoken or written clock time, cut it out and return (rest, (hour as said, minute)).
    Runs before the date rules, so "10.15" is never mistaken for a date."""
    for pattern, to_hm in _SPOKEN_TIMES:
        match = pattern.search(text)
        if match:
            return text[: match.start()] + text[match.end():], to_hm(match)
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
_DAYPART_PHRASE = re.compile(r"(?:'s|des|in de) ?(ochtends|morgens|middags|avonds|nachts|ochtend|morgen|middag|avond|nacht)\b")
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
        return text[: match.start()] + text[match.end():], day, _DAYPART_WORDS.get(match.group("part") or ""), None
    match = _WEEKDAY_PART.search(text)
    if match:
        weekday = WEEKDAYS.index(match.group(2))
        part = _DAYPART_WORDS.get(match.group(3) or "")
        rest = text[: match.start()] + text[match.end():]
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
        text = text[: daypart_match.start()] + text[daypart_match.end():]
    text, clock = _extract_time(text)
    text, day, relative_part, weekday = _relative_date(text, today)
    daypart = relative_part or daypart
    if _JUST_NOW.search(text):
        text, day, clock = _JUST_NOW.sub(" ", text), today, (now.hour, now.minute)
    elif clock is not None:
        clock = (_hour_for(clock[0], daypart), clock[1])
    week = bool(re.search(r"\bvorige week\b", text)) and day is None
    text = re.sub(rf"\b({'|'.join(_NUMBERS)})\b(?= (dagen|dag|weken|week|uur|minuten) geleden)",
                  lambda m: str(_NUMBERS[m.group(1)]), text)
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


def moment_of(fields: Mapping[str, FieldValue], fallback: datetime) -> ParsedWhen:
    """The note's own moment with the precision the teacher gave; else ``fallback`` (e.g. when it was
    written down) to the minute."""
    stored = fields.get("moment")
    if isinstance(stored, str) and stored:
        return from_field(stored)
    return ParsedWhen(OK, fallback.astimezone(AMSTERDAM), MINUTE)


def occurred_at(kind: str, fields: Mapping[str, FieldValue]) -> Optional[datetime]:
    """The start of the note's ``moment`` (what the store keeps as occurred_at), or None if not given."""
    for f in note_kind(kind).fields:
        if f.type == DATETIME and isinstance(fields.get(f.name), str) and fields[f.name]:
            return from_field(str(fields[f.name])).value
    return None


# --- summary -------------------------------------------------------------------------------------


def format_value(f: NoteField, value: FieldValue) -> str:
    """One field's answer as a teacher reads it back."""
    if f.type == YES_NO:
        return "ja" if value is True else "nee" if value is False else "weet niet"
    if f.type == DATETIME:
        return describe_when(from_field(str(value)))
    return str(value)


def summary_lines(kind: str, fields: Mapping[str, FieldValue]) -> List[Tuple[str, str]]:
    """(label, text) pairs in field order; factual fields are split into facts and hypotheses so
    an interpretation never passes as an observation (seed 002, stap 1)."""
    lines: List[Tuple[str, str]] = []
    for f in note_kind(kind).fields:
        value = fields.get(f.name)
        if value is None or value == "":
            continue
        if f.factual and isinstance(value, str):
            facts, hypotheses = split_hypotheses(value)
            if facts:
                lines.append((f"{f.label} (feiten)", " ".join(facts)))
            if hypotheses:
                lines.append(("Hypothese of veronderstelling", " ".join(hypotheses)))
        else:
            lines.append((f.label, format_value(f, value)))
    return lines


def summary(kind: str, fields: Mapping[str, FieldValue]) -> str:
    """The note in Dutch for the teacher to confirm before it is saved."""
    k = note_kind(kind)
    body = "\n".join(f"- {label}: {text}" for label, text in summary_lines(kind, fields))
    return f"{k.label} ({k.step_label})\n{body}"


def save_key(case_id: str, kind: str, fields: Mapping[str, object]) -> str:
    """The key a note is saved under: fixed by what the summary showed (case, kind, every field).

    Why derived, not random: a retry after a lost reply, or the same confirmation reaching a second
    replica, carries the same summary and so the same key, and the store keeps one note. Two notes with
    exactly the same fields in one case are the same note."""
    canonical = json.dumps({"case": case_id, "kind": kind, "fields": fields}, sort_keys=True, ensure_ascii=False,
                           default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
