"""Name masking: no person's name reaches the dossier store.

Why: dossier notes are the most sensitive data a school has. The case is known by a pseudonym; the
people around the pupil are recorded by their role ("[moeder]", "[leerkracht]"), which is what the
meldcode needs ("overige aanwezigen", "de bron", seed 002 stap 1), not who they are. Teachers type
names anyway, so every note field passes through ``mask_names`` before it is stored.

Detection combines three signals, because each alone misses too much:
- a role word right before a name ("moeder Fatma", "juf Anna", "zijn vader Mehmet"): whatever follows
  is a name, and the role is what we write instead;
- a first-names list (``resources/first_names.txt``, ~1150 names of the origins in Dutch schools);
- spaCy NER (``nl_core_news_sm``: label PER; the official model's PERSON too). The stand-in model
  misses names and tags "Veilig Thuis" as a person, so NER never decides alone at a sentence start and
  known organisations and places (``resources/not_names.txt``, ``resources/places_nl.txt``) are never
  masked.
A detected first name is extended over following capitalised words and particles (van, de, el, ben ...)
so surnames go too ("Juf Anna Kowalski" -> "[leerkracht]").
Known limitation: a lower-case name without a role word before it ("fatma huilde") is not found.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Dict, FrozenSet, List, Mapping, Optional, Pattern, Tuple

RESOURCES = Path(__file__).resolve().parent / "resources"

PERSON = "[persoon]"
PERSON_LABELS = frozenset({"PER", "PERSON"})

# Words right before a name that tell the person's role; the value is what replaces role + name.
# PUPIL is replaced by the case pseudonym.
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
    **dict.fromkeys(("juf", "juffrouw", "meester", "leerkracht", "groepsleerkracht", "docent", "docente",
                     "mentor", "mentrix"), "[leerkracht]"),
    **dict.fromkeys(("collega", "stagiair", "stagiaire", "conciërge", "overblijfkracht"), "[collega]"),
    **dict.fromkeys(("ib-er", "ib'er", "iber", "ib", "begeleider"), "[intern begeleider]"),
    **dict.fromkeys(("directeur", "directrice", "schoolleider", "locatieleider"), "[schoolleider]"),
    **dict.fromkeys(("klasgenoot", "klasgenootje", "vriendje", "vriendinnetje"), "[klasgenoot]"),
    **dict.fromkeys(("buurvrouw", "buurman"), "[buur]"),
    **dict.fromkeys(("meneer", "mevrouw", "dhr", "mw", "mevr"), PERSON),
    **dict.fromkeys(("leerling", "leerlinge", "pupil"), PUPIL),
}
# Words before a role word that belong to it and go with it: "zijn vader Mehmet" -> "[vader]".
DETERMINERS = frozenset({"de", "het", "zijn", "haar", "hun", "mijn", "onze", "ons", "diens", "z'n", "d'r",
                         "m'n", "een", "die", "deze"})
ROLE_PREFIXES = {"begeleider": "intern"}
# Lower-case words inside a full name: "Jan van der Berg", "Mohammed el Amrani", "Samir ben Ali".
PARTICLES = frozenset({"van", "de", "der", "den", "te", "ter", "ten", "het", "'t", "in", "op", "el", "al",
                       "ben", "bin", "bint", "ibn", "abu", "da", "di", "do", "dos", "du", "la", "le", "von",
                       "zu", "y"})
# First names that are ordinary Dutch words: at a sentence start only NER or the tagger can say so.
AMBIGUOUS_NAMES = frozenset({"ben", "wil", "job", "roos", "bas", "jet", "max", "ad", "lama", "nada", "mark",
                             "floor", "amber", "iris", "luna", "nova", "fleur", "lieve", "nine", "jade",
                             "sterre", "mees", "roman", "can", "aman", "eden"})
# After a sentence-initial "Ben"/"Wil" these make it a verb ("Ben je ...", "Wil u ...").
PRONOUNS = frozenset({"je", "jij", "u", "ik", "we", "wij", "ze", "zij", "hij", "het", "jullie", "men"})
# A particle glued to a surname: "al-Hassan", "el-Amrani", "d'Souza", "ben-Ali".
JOINED_PARTICLE = re.compile(r"^(?:al|el|ben|bin|abu|ibn|van|de|d|o)[-'’]\w", re.I)
SENTENCE_PUNCT = frozenset({".", "!", "?", ":", ";", '"', "“", "”", "(", "-", "–", "—", "•", "*"})


@dataclass(frozen=True)
class MaskResult:
    """The masked text and what was replaced: (name as written, replacement), in text order.

    ``replaced`` holds real names: keep it in the conversation only (e.g. as ``known`` for the next
    field), never store it.
    """

    text: str
    replaced: Tuple[Tuple[str, str], ...]


def _key(word: str) -> str:
    """Compare names without case and accents that decompose ("Ayşe" = "ayse")."""
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def _read_list(name: str) -> List[str]:
    lines = (RESOURCES / name).read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


@lru_cache(maxsize=1)
def first_names() -> FrozenSet[str]:
    return frozenset(_key(name) for name in _read_list("first_names.txt"))


@lru_cache(maxsize=1)
def _not_name_pattern() -> Pattern[str]:
    """Organisations, places, weekdays ...: matched case-sensitively as whole words, longest first."""
    phrases = sorted(set(_read_list("not_names.txt") + _read_list("places_nl.txt")), key=len, reverse=True)
    return re.compile(r"(?<![\w-])(?:" + "|".join(re.escape(p) for p in phrases) + r")(?![\w-])")


@lru_cache(maxsize=1)
def _nlp():  # type: ignore[no-untyped-def]
    """The Dutch pipeline without the parts masking does not use (loaded once per process)."""
    import spacy  # local: importing spaCy costs seconds, only masking needs it

    return spacy.load("nl_core_news_sm", exclude=["parser", "lemmatizer", "trainable_lemmatizer"])


# --- detection -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Name:
    """A detected name: tokens [first, last], and where the replacement starts (role words included)."""

    first: int
    last: int
    cut_start: int
    role: Optional[str]


def _is_sentence_start(doc, i: int) -> bool:  # type: ignore[no-untyped-def]
    return i == 0 or doc[i - 1].text in SENTENCE_PUNCT or "\n" in doc[i - 1].text + doc[i - 1].whitespace_


def _is_capitalised(text: str) -> bool:
    return text[:1].isupper() and any(c.isalpha() for c in text)


def _in_first_names(text: str) -> bool:
    return _key(text) in first_names() or any(_key(part) in first_names() for part in text.split("-") if part)


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
    return ROLE_WORDS.get(doc[j].lower_) if j < len(doc) else None


class _Detector:
    """Decides per token whether it starts, continues or cannot be a name."""

    def __init__(self, doc, protected: List[Tuple[int, int]]):  # type: ignore[no-untyped-def]
        self.doc = doc
        self.protected = protected

    def is_protected(self, i: int) -> bool:
        tok = self.doc[i]
        return any(start <= tok.idx < end for start, end in self.protected)

    def can_be_name(self, i: int) -> bool:
        tok = self.doc[i]
        return (any(c.isalpha() for c in tok.text) and not self.is_protected(i)
                and tok.lower_ not in ROLE_WORDS and tok.lower_ not in DETERMINERS)

    def starts_name(self, i: int) -> bool:
        tok = self.doc[i]
        if not self.can_be_name(i):
            return False
        if _role_before(self.doc, i):
            return _is_capitalised(tok.text) or _in_first_names(tok.text)
        if not _is_capitalised(tok.text):
            return False
        sentence_start = _is_sentence_start(self.doc, i)
        ner_person = tok.ent_type_ in PERSON_LABELS
        if _in_first_names(tok.text):
            if sentence_start and _key(tok.text) in AMBIGUOUS_NAMES:
                followed_by_pronoun = i + 1 < len(self.doc) and self.doc[i + 1].lower_ in PRONOUNS
                return not followed_by_pronoun and (ner_person or tok.pos_ == "PROPN")
            return True
        return ner_person and (not sentence_start or tok.pos_ == "PROPN")

    def continues_name(self, i: int) -> int:
        """How many tokens from i continue a name: a capitalised word, or particles then one."""
        j = i
        while j < len(self.doc) and self.doc[j].lower_ in PARTICLES and not self.doc[j].text[:1].isupper():
            j += 1
        if j < len(self.doc) and (_is_capitalised(self.doc[j].text) or JOINED_PARTICLE.match(self.doc[j].text)) \
                and self.can_be_name(j) and not _is_sentence_start(self.doc, j):
            return j - i + 1
        return 0

    def names(self) -> List[_Name]:
        found: List[_Name] = []
        i = 0
        while i < len(self.doc):
            if not self.starts_name(i):
                i += 1
                continue
            last = i
            step = self.continues_name(last + 1)
            while step:
                last += step
                step = self.continues_name(last + 1)
            role = _role_before(self.doc, i)
            found.append(_Name(i, last, role[1] if role else self.doc[i].idx,
                               role[0] if role else _role_after(self.doc, last)))
            i = last + 1
        return found


def _protected_ranges(text: str, pseudonym: str) -> List[Tuple[int, int]]:
    """Character ranges that are never a name: organisations, places, the pseudonym, earlier tags."""
    ranges = [m.span() for m in _not_name_pattern().finditer(text)]
    ranges += [m.span() for m in re.finditer(r"\[[^\[\]]{1,40}\]", text)]
    if pseudonym:
        ranges += [m.span() for m in re.finditer(re.escape(pseudonym), text)]
    return ranges


def _known_spans(text: str, known: Mapping[str, str]) -> List[Tuple[int, int, str]]:
    """Names the conversation already knows, found even when nothing else would detect them."""
    spans = []
    for name in sorted(known, key=len, reverse=True):
        for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text, re.I):
            spans.append((m.start(), m.end(), known[name]))
    return spans


# --- masking -------------------------------------------------------------------------------------


def _replacement(name: _Name, text: str, doc, pseudonym: str, known: Mapping[str, str],  # type: ignore[no-untyped-def]
                 learned: Mapping[str, str]) -> str:
    """Own role word > what the conversation knows > the role this text gave the name > [persoon]."""
    if name.role:
        return pseudonym if name.role == PUPIL else name.role
    full = _key(text[doc[name.first].idx: doc[name.last].idx + len(doc[name.last].text)])
    first = _key(doc[name.first].text)
    known_keys = {_key(k): v for k, v in known.items()}
    for key in (full, first):
        if key in known_keys:
            return known_keys[key]
    for key in (full, first):
        if key in learned:
            return learned[key]
    return PERSON


def _learned_roles(names: List[_Name], doc, pseudonym: str) -> Dict[str, str]:  # type: ignore[no-untyped-def]
    """Roles this text gives: after "moeder Fatma", a later bare "Fatma" is [moeder] too."""
    learned: Dict[str, str] = {}
    for name in names:
        if name.role:
            value = pseudonym if name.role == PUPIL else name.role
            learned.setdefault(_key(doc[name.first].text), value)
    return learned


def mask_names(text: str, pseudonym: str, known: Mapping[str, str] = {}) -> MaskResult:  # noqa: B006
    """Replace every person name in ``text`` by the pupil's pseudonym or a role tag.

    ``known`` maps names met earlier in the conversation to their replacement ({"Sara": pseudonym});
    a role word in the text itself wins over it. Masking is idempotent: tags and the pseudonym are
    left alone.
    """
    if not text.strip():
        return MaskResult(text, ())
    doc = _nlp()(text)
    names = _Detector(doc, _protected_ranges(text, pseudonym)).names()
    learned = _learned_roles(names, doc, pseudonym)
    cuts: List[Tuple[int, int, str, str]] = []
    for name in names:
        end = doc[name.last].idx + len(doc[name.last].text)
        original = text[doc[name.first].idx: end]
        cuts.append((name.cut_start, end, original, _replacement(name, text, doc, pseudonym, known, learned)))
    for start, end, replacement in _known_spans(text, known):
        if not any(s < end and start < e for s, e, _, _ in cuts):
            cuts.append((start, end, text[start:end], replacement))
    masked, replaced = text, []
    for start, end, original, replacement in sorted(cuts, reverse=True):
        masked = masked[:start] + replacement + masked[end:]
        replaced.append((original, replacement))
    return MaskResult(masked, tuple(reversed(replaced)))


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
    noun = "naam" if count == 1 else "namen"
    return (f"Ik heb {count} {noun} vervangen door {_join_dutch(targets)}, "
            "zodat er geen namen in het dossier komen.")
