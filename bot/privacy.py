"""Masking: no person's name or identifier reaches the dossier store.

Why: dossier notes are the most sensitive data a school has. The case is known by a pseudonym; the
people around the pupil are recorded by their role ("[moeder]", "[leerkracht]"), which is what the
meldcode needs ("overige aanwezigen", "de bron", seed 002 stap 1), not who they are. Teachers type
names and numbers anyway, so every free-text field passes through a ``CaseMasker`` before it is stored.

A masked dossier must still say who did what, so one person keeps one placeholder within a case:
"[persoon 1] en [persoon 2] pestten hem", and later "[persoon 2] deed het weer". The masker's state
(``known``: name key -> placeholder) carries that across the fields of a note, the notes of a case and
the help plan; it holds real names, so whoever keeps it keeps it encrypted (tracker store, case store).

Identifiers are found by pattern, every time: BSN (9 digits that pass the 11-proef, or any 8-9 digits
after "BSN"), Dutch phone numbers, e-mail addresses, postcodes, street + house number, and dates of
birth (a date after "geboren", "geb.", "geboortedatum"). Other dates stay: a note needs them.

Names are found by four signals, because each alone misses too much:
- a role word right before a name ("moeder Fatma", "juf Anna", "zijn vader Mehmet"): whatever follows
  is a name, and the role is what we write instead; a title ("Dhr. Öztürk", "mevr. van den Berg")
  likewise, with a numbered placeholder;
- a first-names list (``resources/first_names.txt``, ~1200 names of the origins in Dutch schools) and a
  surnames list (``resources/surnames.txt``, ~400), also in lower case ("fatma huilde") when the name is not an
  ordinary Dutch word, and with a possessive ("Julia's" -> "[persoon 1]'s");
- spaCy NER (``nl_core_news_sm``: label PER; the official model's PERSON too). The small model misses
  names and tags "Veilig Thuis" as a person, so NER never decides alone at a sentence start, and known
  organisations, places, languages and school words (``resources/not_names.txt``,
  ``resources/places_nl.txt``) are never masked;
- the names already seen in the case (``known``), found wherever they occur again.
A detected name is extended over following capitalised words, listed surnames and particles (van, de,
el, ben ...) so surnames go too ("Juf Anna Kowalski" -> "[leerkracht]").

The Dutch de-identification package ``deduce`` was considered: 3.0.5+ needs regex>=2024.11.6 (Rasa 3.6
pins regex<2022.11) and 2.0-3.0.4 need rapidfuzz<3 (this project pins rapidfuzz 3.14.5), so it is not
used; its rules for the same identifiers are simple enough to own here.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, List, Mapping, Optional, Pattern, Sequence, Tuple

RESOURCES = Path(__file__).resolve().parent / "resources"

PERSON = "[persoon]"
PERSON_TAG = "[persoon {n}]"
PERSON_LABELS = frozenset({"PER", "PERSON"})

# Identifier placeholders: what an identifier is replaced by (never numbered: the kind is what matters).
BSN, PHONE, EMAIL, ADDRESS, BIRTH_DATE = "[bsn]", "[telefoonnummer]", "[e-mailadres]", "[adres]", "[geboortedatum]"
IDENTIFIER_TAGS = frozenset({BSN, PHONE, EMAIL, ADDRESS, BIRTH_DATE})

# Words right before a name that tell the person's role; the value is what replaces role + name.
# PUPIL is replaced by the case pseudonym; PERSON (a title) by the person's numbered placeholder.
PUPIL = "<pupil>"
ROLE_WORDS: Dict[str, str] = {
    **dict.fromkeys(("moeder", "mama", "mam", "moeke"), "[moeder]"),
    **dict.fromkeys(("vader", "papa", "pap"), "[vader]"),
    **dict.fromkeys(("stiefmoeder",), "[stiefmoeder]"),
    **dict.fromkeys(("stiefvader",), "[stiefvader]"),
    **dict.fromkeys(("ouder", "ouders", "verzorger", "pleegmoeder", "pleegvader", "pleegouder"), "[ouder]"),
    **dict.fromkeys(("broer", "broertje", "halfbroer"), "[broer]"),
    **dict.fromkeys(("zus", "zusje", "halfzus"), "[zus]"),
    **dict.fromkeys(("oma", "opa", "grootmoeder", "grootvader"), "[grootouder]"),
    **dict.fromkeys(("oom", "tante", "neef", "nicht"), "[familielid]"),
    **dict.fromkeys(
        ("juf", "juffrouw", "meester", "leerkracht", "groepsleerkracht", "docent", "docente", "mentor", "mentrix"),
        "[leerkracht]",
    ),
    **dict.fromkeys(("collega", "stagiair", "stagiaire", "conciërge", "overblijfkracht"), "[collega]"),
    **dict.fromkeys(("ib-er", "ib'er", "iber", "ib", "begeleider"), "[intern begeleider]"),
    **dict.fromkeys(("directeur", "directrice", "schoolleider", "locatieleider"), "[schoolleider]"),
    **dict.fromkeys(("klasgenoot", "klasgenootje", "vriendje", "vriendinnetje"), "[klasgenoot]"),
    **dict.fromkeys(("buurvrouw", "buurman"), "[buur]"),
    **dict.fromkeys(("meneer", "mevrouw", "dhr", "mw", "mevr"), PERSON),
    **dict.fromkeys(("leerling", "leerlinge", "pupil"), PUPIL),
}
# Roles after which "van X" says whose relative it is ("de moeder van Amir"), not a surname ("juf van Dijk").
FAMILY_ROLES = frozenset(
    {
        "[moeder]",
        "[vader]",
        "[stiefmoeder]",
        "[stiefvader]",
        "[ouder]",
        "[broer]",
        "[zus]",
        "[grootouder]",
        "[familielid]",
        "[klasgenoot]",
        PUPIL,
    }
)
# Words before a role word that belong to it and go with it: "zijn vader Mehmet" -> "[vader]".
DETERMINERS = frozenset(
    {"de", "het", "zijn", "haar", "hun", "mijn", "onze", "ons", "diens", "z'n", "d'r", "m'n", "een", "die", "deze"}
)
ROLE_PREFIXES = {"begeleider": "intern"}
# Lower-case words inside a full name: "Jan van der Berg", "Mohammed el Amrani", "Samir ben Ali".
PARTICLES = frozenset(
    {
        "van",
        "de",
        "der",
        "den",
        "te",
        "ter",
        "ten",
        "het",
        "'t",
        "in",
        "op",
        "el",
        "al",
        "ben",
        "bin",
        "bint",
        "ibn",
        "abu",
        "da",
        "di",
        "do",
        "dos",
        "du",
        "la",
        "le",
        "von",
        "zu",
        "y",
    }
)
# First names that are ordinary Dutch words (checked against a Dutch word list): at a sentence start
# only NER or the tagger can say so, and in lower case they are never taken for a name on their own.
AMBIGUOUS_NAMES = frozenset(
    {
        "ben",
        "wil",
        "job",
        "roos",
        "bas",
        "jet",
        "max",
        "ad",
        "lama",
        "nada",
        "mark",
        "floor",
        "amber",
        "iris",
        "luna",
        "nova",
        "fleur",
        "lieve",
        "nine",
        "jade",
        "sterre",
        "mees",
        "roman",
        "can",
        "aman",
        "eden",
        "els",
        "eren",
        "mais",
        "merel",
        "rob",
        "wei",
        "tuba",
        "hoop",
    }
)
# Surnames that are ordinary Dutch words ("Bakker", "de Vries", "van den Berg"): a name only with a
# first name, title or particle before it, never alone.
SURNAME_WORDS = frozenset(
    "akkerman bakker beek berg beukers blom boer boom bos brink broek brouwer bruin dam dekker dijk evers "
    "graaf groot haan haas heuvel hoek huisman jong jonker kamp kok koning koster kramer krol kroon kuiper "
    "kuipers laan lange leeuwen linden maas mehari molenaar mulder pauw peters pinas pols post prins "
    "ridder rietveld rijn ruiter schipper schouten staal stam steen tol veen verhagen vink visser vliet "
    "vonk vos vries wal wang wijk winkel wit wolf wouters zwart kara baran lie tran issa martina".split()
)
# After a sentence-initial "Ben"/"Wil"/"Mark" these make it a verb ("Ben je ...", "Mark dit als ...").
PRONOUNS = frozenset({"je", "jij", "u", "ik", "we", "wij", "ze", "zij", "hij", "het", "jullie", "men"})
VERB_FOLLOWERS = PRONOUNS | frozenset(
    {
        "dit",
        "dat",
        "de",
        "deze",
        "die",
        "even",
        "alstublieft",
        "aub",
        "graag",
        "mij",
        "me",
        "ons",
        "hem",
        "haar",
        "als",
        "maar",
        "zelf",
    }
)
# A particle glued to a surname: "al-Hassan", "el-Amrani", "d'Souza", "ben-Ali".
JOINED_PARTICLE = re.compile(r"^(?:al|el|ben|bin|abu|ibn|van|de|d|o)[-'’]\w", re.I)
SENTENCE_PUNCT = frozenset({".", "!", "?", ":", ";", '"', "“", "”", "(", "-", "–", "—", "•", "*"})
POSSESSIVE = re.compile(r"(?:['’]s|['’])$")


@dataclass(frozen=True)
class MaskResult:
    """The masked text and what was replaced: (text as written, replacement), in text order.

    ``replaced`` holds real names: keep it in the conversation only, never store it.
    """

    text: str
    replaced: Tuple[Tuple[str, str], ...]


def _key(word: str) -> str:
    """Compare names without case, accents that decompose ("Ayşe" = "ayse"), possessive and spacing."""
    decomposed = unicodedata.normalize("NFKD", POSSESSIVE.sub("", word.strip()))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    return re.sub(r"\s+", " ", plain.replace("’", "'"))


def _read_list(name: str) -> List[str]:
    lines = (RESOURCES / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


@lru_cache(maxsize=1)
def first_names() -> FrozenSet[str]:
    return frozenset(_key(name) for name in _read_list("first_names.txt"))


@lru_cache(maxsize=1)
def surnames() -> FrozenSet[str]:
    return frozenset(_key(name) for name in _read_list("surnames.txt"))


@lru_cache(maxsize=1)
def _stop_words() -> FrozenSet[str]:
    from spacy.lang.nl.stop_words import STOP_WORDS  # local: see _nlp

    return frozenset(STOP_WORDS)


@lru_cache(maxsize=1)
def _not_name_pattern() -> Pattern[str]:
    """Organisations, places, languages, weekdays ...: matched case-sensitively as whole words, longest first."""
    phrases = sorted(set(_read_list("not_names.txt") + _read_list("places_nl.txt")), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(p) for p in phrases) + r")(?![\w-])")


@lru_cache(maxsize=1)
def _nlp():  # type: ignore[no-untyped-def]
    """The Dutch pipeline without the parts masking does not use (loaded once per process)."""
    import spacy  # local: importing spaCy costs seconds, only masking needs it

    return spacy.load("nl_core_news_sm", exclude=["parser", "lemmatizer", "trainable_lemmatizer"])


# --- identifiers ---------------------------------------------------------------------------------

_EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# 10 digits from a leading 0, or +31/0031 and 9 digits; separators ' ', '-', '.', '(0)' and '(020)'.
_PHONE = re.compile(
    r"(?<![\w+])(?:(?:\+31|0031)[\s.-]?(?:\(0\)[\s.-]?)?[1-9]|\(?0[1-9])"
    r"(?:[\s.)/-]{0,3}\d){8}(?![\d:]|[.,]\d)"
)
# 9 digits as "123456782", "123 45 67 82", "1234.56.782", or 8 with the leading zero dropped.
_BSN_CANDIDATE = re.compile(
    r"(?<![\w.,/-])(?:\d{3}[\s.]?\d{2}[\s.]?\d{2}[\s.]?\d{2}|\d{4}[\s.]\d{2}[\s.]\d{3}|\d{8})"
    r"(?![\w/-]|[.,]\d)"
)
_BSN_CONTEXT = re.compile(
    r"(?i)\b(?:bsn|burgerservicenummer|sofinummer|sofi-nummer|sofi)\b\W{0,3}"
    r"(?:nummer\W{0,3}|is\W{0,3}|van\W+\w+\W{0,3})?(\d[\d\s.]{6,11}\d)"
)
_POSTCODE = re.compile(
    r"(?<![\w-])[1-9]\d{3}(?:\s?[A-Z]{2}|[a-z]{2}|"
    r"\s(?!(?:en|op|in|is|om|te|of|al|ja|nu|zo|er|ik|je|ze|we|na|af|ga|de|da|bij|uu)\b)[a-z]{2})"
    r"(?![\w-])"
)
_STREET_SUFFIX = (
    r"straat|laan|weg|plein|gracht|kade|singel|dijk|dreef|steeg|plantsoen|boulevard|allee|"
    r"pad|hof|park|markt|baan|wal|ring|veld|erf|dam|haven|hoven|weide|oord|zoom|kamp|burg"
)
_STREET = re.compile(
    r"(?<![\w-])(?:(?:[A-Z][\w'’.-]*|van|de|der|den|ter|ten|te|'t)\s+){0,3}"
    rf"[A-Z][\w'’-]*(?:{_STREET_SUFFIX})(?:\s+\d{{1,5}}(?:\s?[a-zA-Z](?![\w])|-\d{{1,4}}|\s?(?:hs|bis))?)?(?![\w-])"
)
_PLACE_WORD = re.compile(rf"\w\w(?:{_STREET_SUFFIX})$")
_STRICT_STREET = re.compile(r"(?:straat|laan|weg|gracht|kade|singel|dreef|steeg)$")  # a home street, also alone
_ADDRESS_LEADERS = frozenset(
    {
        "in",
        "op",
        "aan",
        "bij",
        "naar",
        "uit",
        "over",
        "langs",
        "via",
        "voor",
        "achter",
        "tegenover",
        "de",
        "het",
        "'t",
        "een",
        "woont",
        "wonen",
        "adres",
        "is",
    }
)
_MONTH_NAMES = (
    r"januari|februari|maart|april|mei|juni|juli|augustus|september|oktober|november|december|"
    r"jan|feb|mrt|apr|jun|jul|aug|sep|sept|okt|nov|dec"
)
_DATE = (
    r"(?:\d{1,2}[-/.]\d{1,2}(?:[-/.](?:19|20)?\d{2})?|(?:19|20)\d{2}-\d{1,2}-\d{1,2}|"
    rf"\d{{1,2}}\s+(?:{_MONTH_NAMES})\.?(?:\s+(?:19|20)\d{{2}})?)"
)
_BIRTH_WORDS = r"(?:geboren|geb\.?|geboortedatum|geb\.?\s?datum|geboortedag|verjaardag|jarig|dob|d\.o\.b\.)"
# A date after a birth word, at most three words between ("Geboortedatum moeder 01-02-1988"), or
# right before "geboren" ("op 30 september 2013 geboren").
_BIRTH_DATE = re.compile(
    rf"(?i)\b{_BIRTH_WORDS}(?:[\s:,(-]+(?!\d)\w+){{0,3}}?[\s:,(-]+\(?({_DATE})(?![\d])"
    rf"|(?<![\w-])({_DATE})(?:\s+\w+){{0,2}}\s+geboren\b"
)


def elfproef(digits: str) -> bool:
    """The BSN 11-proef: 9 digits (8 with a leading zero dropped), weights 9..2 and -1, sum divisible by 11."""
    digits = digits.zfill(9)
    if len(digits) != 9 or not digits.isdigit() or int(digits) == 0:
        return False
    total = sum(int(d) * w for d, w in zip(digits, (9, 8, 7, 6, 5, 4, 3, 2, -1)))
    return total % 11 == 0


def _street_spans(text: str) -> List[Tuple[int, int]]:
    """Street names with a house number ("Kerkstraat 12a"); a clear street word also alone ("Dorpsstraat")."""
    spans = []
    for m in _STREET.finditer(text):
        start, chunk = m.start(), m.group(0)
        words = chunk.split()
        while len(words) > 1 and (words[0].lower() in _ADDRESS_LEADERS or _key(words[0]) in _stop_words()):
            start = text.index(words[1], start + len(words[0]))
            words = words[1:]
        street = re.sub(r"\s+\d.*$", "", " ".join(words))
        has_number = bool(re.search(r"\s\d", " ".join(words)))
        if has_number or _STRICT_STREET.search(street):
            spans.append((start, m.end()))
    return spans


def identifier_spans(text: str) -> List[Tuple[int, int, str]]:
    """(start, end, tag) of every identifier in ``text``, not overlapping, in text order."""
    found: List[Tuple[int, int, str]] = [(m.start(), m.end(), EMAIL) for m in _EMAIL.finditer(text)]
    found += [(m.start(g), m.end(g), BIRTH_DATE) for m in _BIRTH_DATE.finditer(text) for g in (1, 2) if m.group(g)]
    found += [
        (m.start(1), m.end(1), BSN) for m in _BSN_CONTEXT.finditer(text) if 8 <= len(re.sub(r"\D", "", m.group(1))) <= 9
    ]
    found += [
        (m.start(), m.end(), PHONE)
        for m in _PHONE.finditer(text)
        if not re.fullmatch(r"\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}(?:\s+\d{1,2})?", m.group(0))
    ]
    found += [
        (m.start(), m.end(), BSN) for m in _BSN_CANDIDATE.finditer(text) if elfproef(re.sub(r"\D", "", m.group(0)))
    ]
    found += [(m.start(), m.end(), ADDRESS) for m in _POSTCODE.finditer(text)]
    found += [(start, end, ADDRESS) for start, end in _street_spans(text)]
    kept: List[Tuple[int, int, str]] = []
    for span in sorted(found, key=lambda s: (s[0], -s[1])):
        if not any(s < span[1] and span[0] < e for s, e, _ in kept):
            kept.append(span)
    return kept


# --- names ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Found:
    """A detected name: what is cut (role words or title included), the name itself, and its role."""

    cut_start: int
    cut_end: int
    name: str
    role: Optional[str]


def _is_sentence_start(doc, i: int) -> bool:  # type: ignore[no-untyped-def]
    return i == 0 or doc[i - 1].text in SENTENCE_PUNCT or "\n" in doc[i - 1].text + doc[i - 1].whitespace_


def _is_capitalised(text: str) -> bool:
    return text[:1].isupper() and any(c.isalpha() for c in text)


def _parts(text: str) -> List[str]:
    return [part for part in re.split(r"[-'’]", POSSESSIVE.sub("", text)) if part]


def _in_first_names(text: str) -> bool:
    key = _key(text)
    return key in first_names() or any(_key(part) in first_names() for part in _parts(text) if len(part) > 2)


def _in_surnames(text: str) -> bool:
    key = _key(text)
    return key in surnames() or any(_key(part) in surnames() for part in _parts(text) if len(part) > 2)


def _is_lower_name(text: str) -> bool:
    """A lower-case first name or surname that is no ordinary Dutch word: "fatma", "kowalski"."""
    key = _key(text)
    return (
        len(key) > 2
        and key not in AMBIGUOUS_NAMES
        and key not in SURNAME_WORDS
        and key not in _stop_words()
        and key not in ROLE_WORDS
        and (_in_first_names(text) or _in_surnames(text))
    )


def _role_before(doc, i: int) -> Optional[Tuple[str, int]]:  # type: ignore[no-untyped-def]
    """(role, char offset where role words start) when a role word directly precedes token i."""
    if i == 0 or doc[i - 1].lower_ not in ROLE_WORDS:
        return None
    k = i - 1
    prefix = ROLE_PREFIXES.get(doc[k].lower_)
    if prefix and k > 0 and doc[k - 1].lower_ == prefix:
        k -= 1
    if k > 0 and doc[k - 1].lower_ in DETERMINERS:
        k -= 1
    return ROLE_WORDS[doc[i - 1].lower_], doc[k].idx


def _role_after(doc, last: int) -> Optional[str]:  # type: ignore[no-untyped-def]
    """The role in an apposition: "Mehmet, de vader van ..., zei" -> [vader]."""
    j = last + 1
    if j >= len(doc) or doc[j].text != ",":
        return None
    j += 1
    if j < len(doc) and doc[j].lower_ in DETERMINERS:
        j += 1
    role = ROLE_WORDS.get(doc[j].lower_) if j < len(doc) else None
    return None if role == PERSON else role


class _Detector:
    """Decides per token whether it starts, continues or cannot be a name."""

    def __init__(self, doc, protected: Sequence[Tuple[int, int]]):  # type: ignore[no-untyped-def]
        self.doc = doc
        self.protected = protected

    def is_protected(self, i: int) -> bool:
        tok = self.doc[i]
        return any(start <= tok.idx < end for start, end in self.protected)

    def can_be_name(self, i: int) -> bool:
        tok = self.doc[i]
        return (
            any(c.isalpha() for c in tok.text)
            and not self.is_protected(i)
            and tok.lower_ not in ROLE_WORDS
            and tok.lower_ not in DETERMINERS
        )

    def _ambiguous_start(self, i: int) -> bool:
        """A sentence-initial "Roos"/"Mark"/"Max": a name when a surname follows ("Fleur van der Meer"), or
        when the tagger says so and a verb follows ("Roos kwam"), not "Mark dit", "Roos en tulpen"."""
        tok = self.doc[i]
        if self.continues_name(i + 1):
            return True
        if i + 1 >= len(self.doc) or self.doc[i + 1].lower_ in VERB_FOLLOWERS:
            return False
        verb = self.doc[i + 1]  # a name takes a finite singular verb: not "Ben benieuwd", "Wil weten"
        finite_singular = "Fin" in verb.morph.get("VerbForm") and "Plur" not in verb.morph.get("Number")
        return (
            verb.pos_ in ("VERB", "AUX") and finite_singular and (tok.ent_type_ in PERSON_LABELS or tok.pos_ == "PROPN")
        )

    def starts_name(self, i: int) -> bool:
        tok = self.doc[i]
        if not self.can_be_name(i):
            return False
        if _role_before(self.doc, i):
            if tok.lower_ in PARTICLES:
                return self._surname_after_particles(i)
            return _is_capitalised(tok.text) or _is_lower_name(tok.text)  # not "de moeder wil ..."
        if not _is_capitalised(tok.text):
            return tok.lower_ not in PARTICLES and _is_lower_name(tok.text)
        sentence_start = _is_sentence_start(self.doc, i)
        ner_person = tok.ent_type_ in PERSON_LABELS
        key = _key(tok.text)
        if _in_first_names(tok.text) or (_in_surnames(tok.text) and key not in SURNAME_WORDS):
            return not (sentence_start and key in AMBIGUOUS_NAMES) or self._ambiguous_start(i)
        if key in SURNAME_WORDS and i > 0 and self.doc[i - 1].lower_ in PARTICLES and not sentence_start:
            return True
        if _PLACE_WORD.search(key):
            return False  # "het Stationsplein": NER alone never makes a street or square a person
        return ner_person and (not sentence_start or tok.pos_ == "PROPN")

    def _surname_after_particles(self, i: int) -> bool:
        """ "juf van Dijk", "meester de Boer": particles then a surname; not "vader van Tess" (a first name
        after "van" is whose father it is)."""
        j = i
        while j < len(self.doc) and self.doc[j].lower_ in PARTICLES:
            j += 1
        if j >= len(self.doc) or j == i or not _is_capitalised(self.doc[j].text) or not self.can_be_name(j):
            return False
        role = _role_before(self.doc, i)
        if j == i + 1 and self.doc[i].lower_ == "van" and role and role[0] in FAMILY_ROLES:
            return False  # "de pleegvader van Amir": whose father, not a surname
        return _in_surnames(self.doc[j].text) or not _in_first_names(self.doc[j].text)

    def continues_name(self, i: int) -> int:
        """How many tokens from i continue a name: a capitalised word or listed surname, maybe after particles."""
        j = i
        while j < len(self.doc) and self.doc[j].lower_ in PARTICLES and not self.doc[j].text[:1].isupper():
            j += 1
        if j >= len(self.doc) or not self.can_be_name(j) or _is_sentence_start(self.doc, j):
            return 0
        text = self.doc[j].text
        if (
            _is_capitalised(text)
            or JOINED_PARTICLE.match(text)
            or (j == i and _is_lower_name(text) and _in_surnames(text))
        ):
            return j - i + 1
        return 0

    def names(self) -> List[_Found]:
        doc, found, i = self.doc, [], 0
        while i < len(doc):
            if not self.starts_name(i):
                i += 1
                continue
            first, last = i, i
            while (
                first > 0
                and doc[first - 1].lower_ in PARTICLES
                and not self.is_protected(first - 1)
                and _key(doc[i].text) in SURNAME_WORDS
                and not _role_before(doc, first)
            ):
                first -= 1  # "de Vries": the particle belongs to the surname
            step = self.continues_name(last + 1)
            while step:
                last += step
                step = self.continues_name(last + 1)
            role = _role_before(doc, first)
            end = doc[last].idx + len(doc[last].text)
            name = doc.text[doc[first].idx : end]
            found.append(
                _Found(role[1] if role else doc[first].idx, end, name, role[0] if role else _role_after(doc, last))
            )
            i = last + 1
        return found


_PARTICLE_RE = "|".join(sorted((re.escape(p) for p in PARTICLES), key=len, reverse=True))
_NAME_REST = r"[\w'’-]*"
_NAME_WORD = r"[^\W\d_]" + _NAME_REST
# A title with a full stop is always followed by a name; "meneer"/"mevrouw" only by a capitalised one.
_TITLE = re.compile(
    rf"(?<![\w])(?:(?P<dotted>(?i:dhr|mw|mevr|mr|dr|drs|ir|ing|hr|fam|mej)\.)\s*"
    rf"(?P<dname>(?:(?i:{_PARTICLE_RE})\s+)*{_NAME_WORD}(?:\s+(?:(?:{_PARTICLE_RE})\s+)*[A-ZÀ-Þ]{_NAME_REST})*)"
    rf"|(?P<plain>(?i:meneer|mevrouw|mevr|dhr|mw|familie|fam|de heer|mejuffrouw))\s+"
    rf"(?P<pname>(?:(?i:{_PARTICLE_RE})\s+)*[A-ZÀ-Þ]{_NAME_REST}(?:\s+(?:(?:{_PARTICLE_RE})\s+)*[A-ZÀ-Þ]{_NAME_REST})*))"
)


def _title_names(text: str, protected: Sequence[Tuple[int, int]]) -> List[_Found]:
    """Names after a title: "Dhr. Öztürk", "Mw. De Graaf", "mevr. van den berg", "mevrouw Jansen"."""
    found = []
    for m in _TITLE.finditer(text):
        group = "dname" if m.group("dname") else "pname"
        name = POSSESSIVE.sub("", m.group(group))
        words = [w for w in re.finditer(r"\S+", name) if w.group(0).lower() not in PARTICLES]
        head = m.start(group) + (words[0].start() if words else 0)
        if not words or any(s <= head < e for s, e in protected) or _key(words[0].group(0)) in _stop_words():
            continue
        for word in words[1:]:  # "mevrouw Jansen van het CJG": the name ends before a protected word
            if any(s <= m.start(group) + word.start() < e for s, e in protected):
                name = re.sub(rf"(?:\s+(?:{_PARTICLE_RE}))*\s*$", "", name[: word.start()])
                break
        found.append(_Found(m.start(), m.start(group) + len(name), name, None))
    return found


def _protected_ranges(text: str, pseudonym: str) -> List[Tuple[int, int]]:
    """Character ranges that are never a name: organisations, places, the pseudonym, earlier tags, groups."""
    ranges = [m.span() for m in _not_name_pattern().finditer(text)]
    ranges += [m.span() for m in re.finditer(r"\[[^\[\]]{1,40}\]", text)]
    ranges += [m.span() for m in re.finditer(r"(?i)\b(?:groep|klas|leerjaar)\s+\d+[a-z]?\b", text)]
    if pseudonym:
        ranges += [m.span() for m in re.finditer(re.escape(pseudonym), text)]
    return ranges


def _words(text: str) -> List[Tuple[int, int, str]]:
    """(start, end, key) of each word, the possessive left outside the span."""
    out = []
    for m in re.finditer(r"\w+(?:[-'’]\w+)*", text):
        word = m.group(0)
        end = m.end() - (len(word) - len(POSSESSIVE.sub("", word)) if re.search(r"['’]s$", word) else 0)
        out.append((m.start(), end, _key(word)))
    return out


def _known_spans(text: str, known: Mapping[str, str]) -> List[Tuple[int, int, str]]:
    """Names the case already knows, found even when nothing else would detect them."""
    words = _words(text)
    spans = []
    for name in sorted(known, key=lambda k: len(k.split()), reverse=True):
        parts = name.split()
        for i in range(len(words) - len(parts) + 1):
            if all(words[i + k][2] == part for k, part in enumerate(parts)):
                spans.append((words[i][0], words[i + len(parts) - 1][1], known[name]))
    return spans


def _trim_possessive(found: _Found, text: str) -> _Found:
    """ "Julia's" -> cut "Julia", keep "'s": the possessive is grammar, not the name."""
    match = re.search(r"['’]s?$", text[found.cut_start : found.cut_end])
    if not match or found.cut_end - found.cut_start <= len(match.group(0)):
        return found
    cut = len(match.group(0))
    return _Found(found.cut_start, found.cut_end - cut, POSSESSIVE.sub("", found.name), found.role)


# --- the case masker -----------------------------------------------------------------------------


def _next_number(known: Mapping[str, str]) -> int:
    numbers = [int(m.group(1)) for v in known.values() for m in [re.fullmatch(r"\[persoon (\d+)\]", v)] if m]
    return max(numbers, default=0) + 1


def _name_keys(name: str) -> List[str]:
    """Keys a name is known by afterwards: the full name, its first word and its last word."""
    words = [w for w in _key(name).split() if w not in PARTICLES]
    return list(dict.fromkeys([_key(name)] + words[:1] + words[-1:]))


@dataclass(frozen=True)
class CaseMasker:
    """Masks the free text of one case so that one person keeps one placeholder in every field.

    ``known`` maps name keys (lower case, no accents: see ``_key``) to their placeholder; pass the
    ``known`` that the previous ``mask`` returned (stored encrypted with the case or conversation) to
    the next. Pure: no store, no Rasa.
    """

    pseudonym: str
    known: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "known", {_key(k): v for k, v in self.known.items()})

    def mask(self, text: str) -> Tuple[MaskResult, Dict[str, str]]:
        """(masked text with what was replaced, the updated ``known``). Idempotent: tags and the
        pseudonym are left alone. A role word in the text wins over what is known."""
        known: Dict[str, str] = dict(self.known)
        if not text.strip():
            return MaskResult(text, ()), known
        identifiers = identifier_spans(text)
        never = _protected_ranges(text, self.pseudonym)
        protected = never + [(s, e) for s, e, _ in identifiers]
        titles = _title_names(text, protected)
        doc = _nlp()(text)
        detected = _Detector(doc, protected + [(f.cut_start, f.cut_end) for f in titles]).names()
        names = sorted((_trim_possessive(f, text) for f in titles + detected), key=lambda f: f.cut_start)
        for found in names:  # roles given in this text first: "Fatma ... moeder Fatma" -> both [moeder]
            if found.role and found.role != PERSON:
                value = self.pseudonym if found.role == PUPIL else found.role
                keys = _name_keys(found.name)
                for key in keys[:2]:
                    known[key] = value
                for key in keys[2:]:
                    known.setdefault(key, value)
        cuts: List[Tuple[int, int, str, str]] = [(s, e, text[s:e], tag) for s, e, tag in identifiers]
        for found in names:
            cuts.append((found.cut_start, found.cut_end, found.name, self._placeholder(found, known)))
        for start, end, replacement in _known_spans(text, known):
            if not any(s < end and start < e for s, e, _, _ in cuts) and not any(s <= start < e for s, e in never):
                cuts.append((start, end, text[start:end], replacement))
        masked, replaced = text, []
        for start, end, original, replacement in sorted(cuts, reverse=True):
            replaced.append((original, replacement))
            masked = masked[:start] + replacement + masked[end:]
        return MaskResult(masked, tuple(reversed(replaced))), known

    def _placeholder(self, found: _Found, known: Dict[str, str]) -> str:
        """Own role word > what the case knows > a new numbered person; the choice is remembered."""
        if found.role and found.role != PERSON:
            return self.pseudonym if found.role == PUPIL else found.role
        keys = _name_keys(found.name)
        value = next((known[k] for k in keys if k in known), None)
        if value is None:
            value = PERSON_TAG.format(n=_next_number(known))
        for key in keys:
            known.setdefault(key, value)
        return value


def mask_names(text: str, pseudonym: str, known: Mapping[str, str] = {}) -> MaskResult:  # noqa: B006
    """One text on its own (``CaseMasker`` without keeping the state): names and identifiers masked.

    ``known`` maps names met earlier ({"Sara": pseudonym}); a role word in the text itself wins over it.
    """
    return CaseMasker(pseudonym, known).mask(text)[0]


# --- carrying the state in a conversation --------------------------------------------------------


def masker_for(state: object, case_id: Optional[str], pseudonym: str) -> CaseMasker:
    """The case's masker from its kept state ({"case": id, "known": {...}}); a state of another case
    (or none) starts empty, so names never travel between cases."""
    if (
        isinstance(state, Mapping)
        and case_id is not None
        and state.get("case") == str(case_id)
        and isinstance(state.get("known"), Mapping)
    ):
        return CaseMasker(pseudonym, {str(k): str(v) for k, v in state["known"].items()})
    return CaseMasker(pseudonym)


def masker_state(case_id: Optional[str], known: Mapping[str, str]) -> Dict[str, object]:
    """What to keep (encrypted) after ``mask``, for :func:`masker_for`."""
    return {"case": None if case_id is None else str(case_id), "known": dict(known)}


def _join_dutch(items: List[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " en " + items[-1]


def describe_replacements(result: MaskResult) -> str:
    """What the teacher is told, in Dutch; empty when nothing was replaced.

    It names the replacements but not the names: the bot's own messages are logged in the tracker
    store, and repeating the names there would undo the masking.
    """
    if not result.replaced:
        return ""
    count = len(result.replaced)
    targets = list(dict.fromkeys(replacement for _, replacement in result.replaced))
    if all(replacement not in IDENTIFIER_TAGS for _, replacement in result.replaced):
        noun = "naam" if count == 1 else "namen"
        return f"Ik heb {count} {noun} vervangen door {_join_dutch(targets)}, zodat er geen namen in het dossier komen."
    noun = "gegeven" if count == 1 else "gegevens"
    return (
        f"Ik heb {count} {noun} vervangen door {_join_dutch(targets)}, "
        "zodat er geen namen of persoonsgegevens in het dossier komen."
    )
