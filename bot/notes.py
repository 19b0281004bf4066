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

Dates are asked in free Dutch ("gistermiddag", "12-11 om half negen") and parsed by
``bot.language.dates.parse_when``. Anything unclear is asked again, never guessed.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Dict, List, Mapping, Optional, Tuple, Union

from bot.language.dates import AMSTERDAM, FUTURE, MINUTE, MONTHS, OK, ParsedWhen, describe_when, from_field, parse_when

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
                NoteField(
                    "situatie",
                    "Situatie",
                    "In welke situatie was dit? Bijvoorbeeld tijdens de gymles of bij het brengen.",
                    factual=True,
                ),
                NoteField(
                    "aanwezigen",
                    "Aanwezig",
                    "Wie waren er nog meer bij? Noem rollen, geen namen (bijvoorbeeld 'een collega').",
                    roles=True,
                ),
                NoteField(
                    "waarnemingen",
                    "Waarnemingen",
                    "Wat heeft u gezien of gehoord? Beschrijf alleen feiten.",
                    factual=True,
                ),
                NoteField(
                    "hypothese",
                    "Hypothese of veronderstelling",
                    "Heeft u een vermoeden of interpretatie? Die leg ik apart vast als hypothese. "
                    "Typ 'nee' als u die niet heeft.",
                    required=False,
                ),
                NoteField(
                    "bron",
                    "Bron (informatie van derden)",
                    "Komt een deel van deze informatie van iemand anders? Noem dan de rol, bijvoorbeeld "
                    "'de buurvrouw'. Typ 'nee' als u alles zelf heeft waargenomen.",
                    required=False,
                    roles=True,
                ),
                NoteField(
                    "toestemming_bron",
                    "Toestemming van de bron om vast te leggen",
                    "Heeft deze persoon toestemming gegeven om de informatie in het dossier vast te leggen?",
                    type=YES_NO,
                    required=False,
                    required_if="bron",
                ),
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
                NoteField(
                    "met_wie",
                    "Met wie",
                    "Met wie heeft u overlegd? Noem de functie of organisatie, bijvoorbeeld de intern "
                    "begeleider of Veilig Thuis.",
                    roles=True,
                ),
                NoteField(
                    "anoniem", "Leerling anoniem besproken", "Heeft u de leerling anoniem besproken?", type=YES_NO
                ),
                NoteField("advies", "Advies", "Welk advies kreeg u?"),
                NoteField(
                    "afspraken",
                    "Afspraken",
                    "Is afgesproken wie wat doet en wie de zorg coördineert? Typ 'nee' als er niets is afgesproken.",
                    required=False,
                ),
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
                NoteField(
                    "met_wie",
                    "Met wie",
                    "Met wie heeft u gesproken, en wie waren er verder bij? Noem rollen, bijvoorbeeld "
                    "'moeder en de intern begeleider'.",
                    roles=True,
                ),
                NoteField("doel", "Doel van het gesprek", "Welk doel van het gesprek heeft u uitgelegd?"),
                NoteField("feiten", "Gedeelde feiten", "Welke feiten en waarnemingen heeft u besproken?", factual=True),
                NoteField("reactie", "Reactie", "Hoe reageerde de ouder of de leerling daarop?"),
                NoteField("afspraken", "Afspraken", "Welke afspraken zijn gemaakt? Typ 'geen' als er geen zijn."),
                NoteField(
                    "ondertekend",
                    "Verslag ondertekend",
                    "Is het verslag door de betrokkenen ondertekend? Typ 'nee' als dat (nog) niet zo is.",
                    type=YES_NO,
                    required=False,
                ),
            ),
        ),
        NoteKind(
            id="weging",
            label="Weging en besluit",
            steps=(4, 5),
            source="protocol Stichting Consent, stap 4 en 5 (afwegingskader, twee beslissingen)",
            fields=(
                _moment("Wanneer is de weging gemaakt?"),
                NoteField(
                    "betrokkenen",
                    "Gewogen door",
                    "Wie hebben samen gewogen? Noem functies, bijvoorbeeld 'intern begeleider en "
                    "aandachtsfunctionaris'.",
                    roles=True,
                ),
                NoteField(
                    "veilig_thuis_geraadpleegd",
                    "Veilig Thuis geraadpleegd",
                    "Is Veilig Thuis bij de weging geraadpleegd?",
                    type=YES_NO,
                ),
                NoteField(
                    "besluit",
                    "Besluit en toelichting",
                    "Wat is besloten, en waarom? De antwoorden op de afwegingsvragen staan al in het dossier.",
                ),
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
                NoteField(
                    "besproken_met_ouder",
                    "Vooraf besproken met ouder",
                    "Is de melding vooraf met de ouder besproken?",
                    type=YES_NO,
                ),
                NoteField(
                    "kenmerk",
                    "Kenmerk Veilig Thuis",
                    "Welk kenmerk of registratienummer gaf Veilig Thuis? Typ 'nee' als u dat niet heeft.",
                    required=False,
                ),
                NoteField(
                    "afspraken",
                    "Afspraken met Veilig Thuis",
                    "Wat is met Veilig Thuis afgesproken over wat de school na de melding zelf nog doet?",
                ),
            ),
        ),
        NoteKind(
            id="vervolg",
            label="Vervolg",
            steps=(5,),
            source="protocol Onze Wijs, stap 1 ('vervolg aantekeningen over het verloop') en stap 5a",
            fields=(
                _moment("Wanneer was dit?"),
                NoteField(
                    "verloop",
                    "Verloop",
                    "Hoe gaat het nu met de leerling? Beschrijf wat u ziet en hoort.",
                    factual=True,
                ),
                NoteField(
                    "hulp_ontvangen",
                    "Hulp loopt",
                    "Krijgen ouder en leerling de afgesproken hulp? Typ 'weet niet' als u dat niet weet.",
                    type=YES_NO,
                    required=False,
                ),
                NoteField(
                    "volgende_stap",
                    "Volgende stap",
                    "Wat is de volgende stap of afspraak? Typ 'nee' als er geen is.",
                    required=False,
                ),
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


def is_skip(text: str) -> bool:
    """True for 'nee', 'geen', 'n.v.t.', 'weet niet': the answer to an optional question that has none."""
    return bool(_SKIP.match(text))


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


def _is_plain_mogelijk(text: str, match: re.Match[str]) -> bool:
    if match.group(0).lower() != "mogelijk":
        return False
    return bool(_MOGELIJK_NOT_A_GUESS.search(text[: match.start()])) or text[match.end() :].lstrip().startswith("te ")


def split_sentences(text: str) -> List[str]:
    return [s for s in (part.strip() for part in _SENTENCE_END.split(text.strip())) if s]


def split_hypotheses(text: str) -> Tuple[List[str], List[str]]:
    """(fact sentences, hypothesis sentences): seed 002 wants both, but never mixed up."""
    facts: List[str] = []
    hypotheses: List[str] = []
    for sentence in split_sentences(text):
        (hypotheses if hypothesis_markers(sentence) else facts).append(sentence)
    return facts, hypotheses


def mark_hypotheses(text: str) -> str:
    """``text`` with every interpretation sentence prefixed by ``[hypothese]``, facts untouched."""
    return " ".join(f"{HYPOTHESIS_TAG} {s}" if hypothesis_markers(s) else s for s in split_sentences(text))


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


# --- one message, many fields ------------------------------------------------------------------
#
# Why: a teacher types "Vandaag om 10 uur zag ik op het plein dat de leerling blauwe plekken op beide
# armen had" in one go. Asking eight questions after that makes her type it all again. The extractor
# reads only what the text clearly says (a known place after a preposition, "samen met ...", "volgens
# ..."), never guesses, and keeps the whole text as the observation; the summary shows the result and
# every field can be changed before anything is stored.

# People are named by role ("de gymdocent", "twee collega's") or, after masking, by placeholder ("[moeder]").
_ROLE_NOUNS = (
    "collega",
    "collega's",
    "gymdocent",
    "docent",
    "leerkracht",
    "leerkrachten",
    "juf",
    "meester",
    "mentor",
    "ib'er",
    "ib-er",
    "intern begeleider",
    "zorgcoördinator",
    "aandachtsfunctionaris",
    "conciërge",
    "directeur",
    "directrice",
    "schoolleider",
    "onderwijsassistent",
    "stagiair",
    "stagiaire",
    "overblijfmoeder",
    "overblijfkracht",
    "moeder",
    "vader",
    "ouder",
    "ouders",
    "oma",
    "opa",
    "broer",
    "broertje",
    "zus",
    "zusje",
    "leerling",
    "leerlingen",
    "klasgenoot",
    "klasgenoten",
    "kinderen",
    "vriend",
    "vriendin",
    "buurvrouw",
    "buurman",
    "tante",
    "oom",
    "stiefvader",
    "stiefmoeder",
    "jeugdarts",
    "wijkagent",
    "politie",
)
_DETERMINER = r"(?:de|het|een|mijn|zijn|haar|hun|onze|ons|twee|drie|andere)"
_ROLE_NOUN = "(?:" + "|".join(sorted(_ROLE_NOUNS, key=len, reverse=True)) + ")"  # longest first: "collega's"
_ROLE = rf"(?:\[[\w ]+\]|(?:{_DETERMINER} )?(?:\w+ )??{_ROLE_NOUN}(?: van (?:de|het|een) {_ROLE_NOUN})?)"
_PEOPLE = rf"{_ROLE}(?:(?:, | en | of ){_ROLE})*"
_PLACE_NOUNS = (
    "plein",
    "schoolplein",
    "speelplein",
    "speelplaats",
    "klas",
    "klaslokaal",
    "lokaal",
    "gang",
    "hal",
    "hek",
    "schoolhek",
    "poort",
    "ingang",
    "uitgang",
    "gymzaal",
    "gymlokaal",
    "speellokaal",
    "sporthal",
    "sportveld",
    "kantine",
    "aula",
    "toilet",
    "toiletten",
    "wc",
    "fietsenstalling",
    "parkeerplaats",
    "bibliotheek",
    "mediatheek",
    "kleedkamer",
    "kleedkamers",
    "personeelskamer",
    "teamkamer",
    "zorgkamer",
    "schoolbus",
    "bus",
    "zwembad",
    "trap",
    "trappenhuis",
    "garderobe",
    "kapstok",
    "zandbak",
    "schooltuin",
)
_PLACE_NOUN = "(?:" + "|".join(sorted(_PLACE_NOUNS, key=len, reverse=True)) + ")"
_PLACE = re.compile(
    rf"\b(?:(?:op|in|bij|naast|achter|buiten|rond) {_DETERMINER} (?:\w+ )?{_PLACE_NOUN}"
    r"|in groep \d{1,2}|bij (?:hem|haar|de leerling|het gezin) thuis|thuis bij (?:de leerling|het gezin))\b",
    re.I,
)
_SITUATION = re.compile(
    r"\b(?:tijdens (?:de|het|een) (?:kleine |grote )?\w+"
    r"|in de (?:kleine |grote )?(?:pauze|middagpauze|kring|overblijf|tussenschoolse opvang)"
    r"|bij (?:het )?(?:brengen|ophalen|binnenkomen|omkleden|overblijven|buitenspelen|naar huis gaan)"
    r"|bij binnenkomst|na (?:schooltijd|school|de les|de gymles)|voor schooltijd|onder (?:de les|schooltijd))\b",
    re.I,
)
_PRESENT = re.compile(rf"\b(?:samen met|in (?:het )?bijzijn van) (?P<who>{_PEOPLE})\b", re.I)
_PRESENT_AFTER = re.compile(rf"\b(?P<who>{_PEOPLE}) (?:was|waren|stond|stonden|zat|zaten) (?:er ?)?bij\b", re.I)
_NOBODY_PRESENT = re.compile(
    r"\b(?:er was niemand (?:anders )?bij|niemand (?:anders )?was (?:er ?)?bij|ik was alleen|"
    r"verder was er niemand)\b",
    re.I,
)
_TOLD = r"(?:vertelde|vertelt|zei|zegt|meldde|meldt|gaf aan|heeft (?:mij |me |ons )?(?:verteld|gezegd))"
_SOURCE = re.compile(
    rf"\bvolgens (?P<after>{_ROLE})\b"
    rf"|\b(?P<who>{_ROLE}) {_TOLD}(?: (?:mij|me|ons|aan mij))? (?:dat\b|:)"
    rf"|\b{_TOLD} (?:mij |me |ons )?(?P<inverted>{_ROLE}) (?:dat\b|:)",
    re.I,
)
# What someone reports ("ze vertelde dat ze vorige week ...") has its own time: not the note's moment.
_REPORTED = re.compile(rf"\b(?:{_TOLD}|vroeg|vertellen)\b[^.!?]*?\bdat\b", re.I)
_SELF_OBSERVED = re.compile(r"\b(?:zelf gezien|zelf gehoord|zelf waargenomen|met eigen ogen)\b", re.I)
# Words that make a text a report of something seen or heard, not only a time or a place.
_OBSERVED = re.compile(
    r"\b(?:zag|zagen|gezien|hoorde|hoorden|gehoord|vertelde|vertelden|verteld|zei|zeiden|gezegd|merkte|"
    r"merkten|gemerkt|viel(?: \w+)? op|opgevallen|rook|roken|huilde|huilden|schreeuwde|sloeg|schopte|had|hadden|"
    r"heeft|was|waren|kwam|droeg|plekken?|wonden?|striemen|letsel)\b",
    re.I,
)
# A request to record ("Ik wil een signaal noteren: ...") is not part of the note: only what follows.
_RECORD_REQUEST = re.compile(
    r"\b(?:noteren|noteer|vastleggen|opschrijven|aantekening|notitie|toevoegen aan het dossier|in het dossier)"
    r"\b[^.:!?]*?(?::|[.!?](?=\s|$)|\bdat\b|$)\s*",
    re.I,
)
_DATE_CUE = re.compile(
    r"\b(?:vandaag|(?:eer)?gister(?:en)?|(?:eer)?gister(?:ochtend|morgen|middag|avond|nacht)"
    r"|van(?:ochtend|morgen|middag|avond|nacht)|(?:maan|dins|woens|donder|vrij|zater|zon)dag\w*|vorige week"
    r"|geleden|zojuist|daarnet|zonet|\d{1,2}[-/]\d{1,2}(?:[-/]\d{2,4})?|" + "|".join(MONTHS) + r")\b",
    re.I,
)
_TIME_CUE = re.compile(r"\b(?:\d{1,2}[:.u]\d{2}|uur|half|kwart)\b", re.I)
_FUTURE_CUE = re.compile(r"^(?:morgen|overmorgen|straks|volgende|komende)\b", re.I)
_TIME_LEAD = re.compile(r"^(?:om|rond|omstreeks|tegen)\b", re.I)
_FILLER_WORDS = frozenset(
    {
        "het",
        "een",
        "dat",
        "was",
        "toen",
        "ook",
        "nog",
        "wel",
        "daar",
        "die",
        "dit",
        "wat",
        "maar",
        "even",
        "heel",
        "erg",
    }
)
MAX_DATE_WORDS = 8
# Concept -> the note field that holds it; a kind without that field simply does not get it.
_CONCEPT_FIELDS = ("plaats", "situatie", "aanwezigen", "waarnemingen", "hypothese", "bron")


# Asking to record now, in the infinitive or the imperative ("... vastleggen:", "noteer:", "leg vast dat"); a
# report that it is done ("ik heb het vastgelegd") has the participle and does not match.
_NOTE_REQUEST = re.compile(
    r"\b(?:noteren|noteer|vastleggen|leg\b[^.:!?]{0,40}\bvast|opschrijven|schrijf\b[^.:!?]{0,40}\bop"
    r"|(?:aantekening|notitie) (?:maken|toevoegen)|toevoegen aan het dossier|in het dossier zetten)\b",
    re.I,
)


def requests_note(text: str) -> bool:
    """The message asks to record a note (with or without the note itself after the request)."""
    return bool(_NOTE_REQUEST.search(text))


# A typed reply to "Wat wilt u vastleggen in het dossier?" is short ("een gesprek", "de melding"); a longer
# message without a request is the note itself, and its words ("het gesprek met vader") choose no kind.
MAX_KIND_REPLY_WORDS = 5
_WORD_RE = re.compile(r"\w+")
_KIND_NAMES = {
    k.id: re.compile(rf"\b(?:{re.escape(k.id)}|{re.escape(k.label.lower())})\b") for k in NOTE_KINDS.values()
}


def requested_kind(text: str) -> Optional[str]:
    """The note kind a message names where it asks for the note ("Signaal vastleggen: ...", "Ik wil een
    gesprek met moeder noteren: ..."), or a short reply that names one; None when it names none.

    Why: the intent model tags the kind as an entity, but not always ("signaal vastleggen: gisteren zag
    ik ..." came without it), and a teacher who named the kind must not be asked for it. Only the request
    part counts (up to the end of the request that ``note_content`` cuts off too): the note's own words
    after it ("het gesprek met vader ging slecht") never choose a kind."""
    match = _RECORD_REQUEST.search(text)
    if match:
        request = text[: match.end()]
    elif len(_WORD_RE.findall(text)) <= MAX_KIND_REPLY_WORDS:
        request = text
    else:
        return None
    named = [kind for kind, name in _KIND_NAMES.items() if name.search(request.lower())]
    return named[0] if len(named) == 1 else None


def note_content(text: str) -> str:
    """The part of a first message that is the note itself: after "Ik wil een signaal noteren:" (or
    "... vastleggen dat"); a bare request has no content, a message without a request is all content."""
    match = _RECORD_REQUEST.search(text)
    return text[match.end() :].strip() if match else text.strip()


def _date_span(text: str, now: datetime) -> Optional[Tuple[int, int, str]]:
    """The longest run of words that ``parse_when`` reads as a moment in the past, as (start, end, stored).

    Only runs with a day word or a date, or a time after "om"/"rond", count: "een uur lang" is no moment.
    A past moment inside a longer future one ("morgen om negen uur") is none, nor are two different
    moments in one text: then the teacher is asked."""
    words = [(m.start(), m.end()) for m in re.finditer(r"[^\s,;]+", text)]
    past: List[Tuple[int, int, str]] = []
    future: List[Tuple[int, int]] = []
    for i in range(len(words)):
        for j in range(i, min(i + MAX_DATE_WORDS, len(words))):
            start = words[i][0]
            window = text[start : words[j][1]].rstrip(".!?:")
            if not (
                _DATE_CUE.search(window)
                or (_TIME_LEAD.match(window) and _TIME_CUE.search(window))
                or _FUTURE_CUE.match(window)
            ):
                continue
            when = parse_when(window, now)
            if when.status == OK:
                past.append((start, start + len(window), when.to_field()))
            elif when.status == FUTURE:
                future.append((start, start + len(window)))
    widest = [p for p in past if not any(q[0] <= p[0] and p[1] <= q[1] and q != p for q in past)]
    if len({p[2] for p in widest}) != 1:
        return None  # no moment, or two different ones ("vandaag ..., en gisteren ..."): asked, not guessed
    best = max(widest, key=lambda span: span[1] - span[0])
    return None if any(s <= best[0] and best[1] <= e for s, e in future) else best


def _present(text: str) -> Optional[Tuple[int, int, str]]:
    """Who else was there: "niemand" when the text says so, else the roles after "samen met" /
    "in het bijzijn van" or before "was erbij"."""
    nobody = _NOBODY_PRESENT.search(text)
    if nobody:
        return nobody.start(), nobody.end(), "niemand"
    match = _PRESENT.search(text) or _PRESENT_AFTER.search(text)
    return (match.start(), match.end(), match.group("who")) if match else None


def _source(text: str) -> Optional[Tuple[int, int, str]]:
    match = _SOURCE.search(text)
    if match:
        return match.start(), match.end(), match.group("after") or match.group("who") or match.group("inverted")
    own = _SELF_OBSERVED.search(text)
    return (own.start(), own.end(), "") if own else None


def _leftover_words(text: str, spans: List[Tuple[int, int]]) -> int:
    """Words the recognised phrases did not cover: a real message beyond a date and a place."""
    kept = "".join(c if not any(s <= i < e for s, e in spans) else " " for i, c in enumerate(text))
    return sum(1 for w in re.findall(r"[\w\[\]']+", kept.lower()) if len(w) > 2 and w not in _FILLER_WORDS)


def only_a_moment(text: str, now: datetime) -> bool:
    """The text is a moment and nothing else ("gisteren om tien uur"): no answer to a question of what,
    where or who, however the form asked it."""
    moment = _date_span(text, now)
    return moment is not None and _leftover_words(text, [moment[:2]]) == 0


def extract_fields(kind: str, text: str, now: datetime, rest_is_observation: bool = True) -> Dict[str, FieldValue]:
    """What one free text clearly says for the fields of ``kind``: the moment (canonical, see
    ``ParsedWhen.to_field``), place, situation, people present, source, and the observation.

    The observation is the text itself (its fact sentences; the hypothesis sentences go to the hypothesis
    field), with the date and place phrases kept: nothing the teacher wrote is lost. It is filled when the
    text reports something seen or heard, or, with ``rest_is_observation``, when the text says more than
    the phrases recognised (so "gisteren op het plein, ik maak me zorgen" keeps its last words).
    """
    names = {f.name for f in note_kind(kind).fields}
    found: Dict[str, FieldValue] = {}
    spans: List[Tuple[int, int]] = []
    moment = _date_span(text, now)
    reported = _REPORTED.search(text)
    if moment is not None and reported is not None and reported.end() <= moment[0]:
        moment = None
    if moment is not None and "moment" in names:
        found["moment"] = moment[2]
        spans.append(moment[:2])
    for name, match in (("plaats", _PLACE.search(text)), ("situatie", _SITUATION.search(text))):
        if match and name in names:
            found[name] = match.group(0)
            spans.append(match.span())
    for name, hit in (("aanwezigen", _present(text)), ("bron", _source(text))):
        if hit is not None and name in names:
            found[name] = hit[2]
            spans.append(hit[:2])
    facts, hypotheses = split_hypotheses(text)
    observed = bool(_OBSERVED.search(" ".join(facts)))
    if facts and "waarnemingen" in names and (observed or (rest_is_observation and _leftover_words(text, spans) >= 2)):
        found["waarnemingen"] = " ".join(facts)
    if hypotheses and "hypothese" in names and ("waarnemingen" in found or rest_is_observation):
        found["hypothese"] = " ".join(hypotheses)
    return found


def fields_from_answer(kind: str, asked: str, text: str, now: datetime) -> Optional[Dict[str, FieldValue]]:
    """The fields an answer to the question for ``asked`` fills, or None when it does not answer it.

    An answer that only answers the question fills that field with the whole text (a date: its stored
    form). An answer that says more ("gisteren op het plein zag ik ...") also fills what it clearly says
    for other fields; the asked field then gets its own phrase when one was found. A date question
    answered without a readable date is None (asked again). Text fields only: yes/no answers are read by
    ``parse_yes_no``."""
    field = note_kind(kind).field(asked)
    if field.type == DATETIME:
        when = parse_when(text, now)
        if when.status == OK:
            return {asked: when.to_field()}
        if when.status == FUTURE:
            return None
        found = extract_fields(kind, text, now)
        return found if asked in found else None
    found = extract_fields(kind, text, now, rest_is_observation=False)
    if set(found) == {"moment"} and only_a_moment(text, now):
        return found  # "gisteren om 10 uur" where the place was asked: a moment, and the place asked again
    if not set(found) - {asked}:
        return {asked: text}
    if asked in found:
        return found
    others = {k: v for k, v in found.items() if k not in ("waarnemingen", "hypothese")}
    return {**others, asked: text}


def fields_to_ask_again(kind: str, name: str, filled: Mapping[str, FieldValue]) -> Dict[str, FieldValue]:
    """``filled`` without ``name`` and the fields that depend on it (the consent of a changed source), so
    the form asks exactly that again and then shows the summary again."""
    dependent = {f.name for f in note_kind(kind).fields if f.required_if == name}
    return {k: v for k, v in filled.items() if k != name and k not in dependent}


_QUESTION_START = re.compile(
    r"^(?:wat|waar|wanneer|hoe|wie|welke|welk|waarom|moet|mag|kan|kunt|kun|zal|zullen|is het|zijn er|heeft|"
    r"hebben|wil|wilt)\b",
    re.I,
)
_QUOTE = re.compile(r"[\"“”‘’']")


def asks_instead_of_answers(text: str, asked: str = "") -> bool:
    """True for a question to the bot typed where an answer was asked ("Moet ik dit ook melden?"), so it
    is never filed as what was seen. A quoted question inside an observation (hij vroeg: "mag ik bij u
    blijven?") is an answer, and so is a long text that happens to end in a question. Asked for the
    hypothesis, a guess put as a question ("Is het mogelijk dat ...?") is the answer."""
    plain = text.strip()
    if asked == "hypothese" and hypothesis_markers(plain):
        return False
    return (
        plain.endswith("?")
        and not _QUOTE.search(plain)
        and len(plain.split()) <= 20
        and bool(_QUESTION_START.match(plain))
    )


# --- undo ----------------------------------------------------------------------------------------

UNDO_MINUTES = 10
UNDO_WINDOW = timedelta(minutes=UNDO_MINUTES)


def undo_allowed(saved_at: datetime, now: datetime) -> bool:
    """A note may be undone by its author for ``UNDO_WINDOW`` after it was saved.

    Why a short window: right after saving, an undo corrects a slip (the wrong case, the same thing noted
    twice) before anyone relied on it; later the aandachtsfunctionaris may have read it, and a correction
    belongs in the dossier as a new note. A naive ``saved_at`` is UTC (how the store keeps it)."""
    saved = saved_at if saved_at.tzinfo else saved_at.replace(tzinfo=timezone.utc)
    return timedelta(0) <= now - saved <= UNDO_WINDOW


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
    canonical = json.dumps(
        {"case": case_id, "kind": kind, "fields": fields}, sort_keys=True, ensure_ascii=False, default=str
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
