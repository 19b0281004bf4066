"""How a message is read before the dialogue acts on it: question or report, worry or described concern,
Dutch or English, a clarification already asked.

Why this module exists: the intent classifier says *what* a message is about, not *how* it is said.
"We hebben besloten te melden. Hoe doe ik dat?" is about a melding, but it is a question; recording it
as "Melding gedaan" puts a false fact in a case file the inspectie may read. A message that describes
striemen deserves the step-1 guidance at once, not a role question first. These are small, reviewable
text rules over the user's own words; no Rasa import, so they are unit-tested in milliseconds.
"""

from __future__ import annotations

import re
import unicodedata
from typing import FrozenSet, List, Optional, Sequence

from bot.profiles import ROLE_WORDS

# How a progress message is handled (see ``read_progress``).
RECORD, CONFIRM, QUESTION = "record", "confirm", "question"

# Below this intent confidence a typed progress report is confirmed with a button before it is stored.
# Measured on two trained models (2026-12-01): ten plain past-tense reports ("we hebben met de ouders
# gesproken", "de melding is gedaan") scored 0.76-0.98, and the score of one phrasing moved by up to
# 0.16 between retrainings; the FallbackClassifier already turns anything below 0.45 into a fallback.
# 0.6 keeps clear reports one message while a message the model is torn about gets a button.
PROGRESS_MIN_CONFIDENCE = 0.6

_WORD = re.compile(r"[a-z0-9']+")
_SENTENCE_SPLIT = re.compile(r"[.!;:\n]+|,\s*(?=\w+\s)")

# A sentence that opens with a question word asks something; so does one that opens with a verb
# followed by its subject ("Moet ik ...", "Kunnen we ...": Dutch questions invert subject and verb).
_QUESTION_WORDS: FrozenSet[str] = frozenset(
    {
        "hoe",
        "wat",
        "wanneer",
        "waar",
        "wie",
        "welke",
        "welk",
        "waarom",
        "waarmee",
        "waarover",
        "hoelang",
        "hoeveel",
        "wiens",
    }
)
_INVERTED_VERBS: FrozenSet[str] = frozenset(
    {
        "moet",
        "moeten",
        "mag",
        "mogen",
        "kan",
        "kun",
        "kunt",
        "kunnen",
        "zal",
        "zullen",
        "zou",
        "zouden",
        "wil",
        "wilt",
        "is",
        "zijn",
        "ben",
        "heb",
        "hebben",
        "heeft",
        "hoort",
        "hoeft",
        "hoeven",
        "klopt",
        "bestaat",
        "geldt",
        "weet",
        "weten",
        "doe",
        "doen",
        "krijgt",
        "krijgen",
        "gaat",
        "gaan",
    }
)
_SUBJECTS: FrozenSet[str] = frozenset(
    {
        "ik",
        "we",
        "wij",
        "je",
        "jij",
        "u",
        "het",
        "er",
        "de",
        "dat",
        "dit",
        "ze",
        "zij",
        "hij",
        "men",
        "iemand",
        "een",
        "school",
        "ouders",
    }
)
# Inside a sentence these start an embedded question ("ik weet niet hoe ik dat doe").
_EMBEDDED_QUESTION = re.compile(
    r"\b(weet niet (hoe|wat|of|wanneer|wie)|vraag me af|vraag mij af|hoe (doe|moet|kan|pak) ik|"
    r"wat (moet|kan|doe) ik|moet ik (ook|nog|nu|eerst|dan)|wat als|hoe verder|wat nu)\b"
)
# Said before it happened: a plan, an intention or a duty, not a report of something done.
_INTENTION = re.compile(
    r"\b(ga|gaan|gaat|wil|willen|wilt|zal|zullen|van plan|besloten te|besloten om|overwegen|"
    r"moet|moeten|morgen|straks|binnenkort|volgende week|nog niet)\b"
)
_DONE = re.compile(r"\b(gebeurd|gedaan|geweest|inmiddels|afgerond|al gemeld|al gesproken)\b")

# Words of a generic worry ("ik maak me zorgen over een leerling uit mijn klas"): a message made only of
# these (and short function words) describes no concern yet. Anything else is taken as a description.
_GENERIC_WORDS: FrozenSet[str] = frozenset(
    """
    ik me mij mijn mn m'n we wij ons onze je jij u uw zich maak maken maakt zorg zorgen zorgje bezorgd
    over om van uit in op bij met voor aan een n de het die dat dit deze er
    leerling leerlingen kind kinderen kindje jongen meisje jongere scholier pupil klas groep mentorklas
    school casus casussen meldcode stappen starten start beginnen begin doorlopen openen nieuwe nieuw
    wil wilt willen graag help helpen hulp kan kun kunt je hoe nu verder wat moet doen doe
    heb hebben heeft echt heel erg beetje wat iets
    en of maar ook even eens toch al nog
    ben bent is zijn werk als leerkracht juf meester docent mentor leraar gymdocent groepsleerkracht
    ib'er ib intern begeleider aandachtsfunctionaris zorgcoordinator directeur schoolleider teamleider
    directie onderwijsassistent concierge stagiair
""".split()
)

# Function words that tell English from Dutch (words both languages share, such as "is", "in",
# "me", "school" or "help", are in neither list).
_ENGLISH: FrozenSet[str] = frozenset(
    """
    i i'm am the a an about what should do does did my your you are were how can could would
    please pupil pupils student students child children kid worried worry abuse report
    have has told tell touches her his him she he they them with to and or not don't
    hello hi there this that which who when where why is there any
""".split()
) - {"is", "in", "me", "school", "help"}
_DUTCH: FrozenSet[str] = frozenset(
    """
    ik je jij u de het een en van wat hoe mijn zijn haar hij zij ze we wij niet met voor op aan bij
    over om maak maken zorgen leerling leerlingen kind moet mag kan heb heeft hebben ben bent wordt
    dat die dit deze er ook nog al nu wel geen naar uit
""".split()
)
_MIN_ENGLISH_WORDS = 2
_CLAUSE_SPLIT = re.compile(r"[,;.!?\n]+|\s(?:en|maar)\s")
_ROLE_CLAUSE = re.compile(r"^(ik ben|ik werk|ben|als|hier)\b")
_MIN_CLAUSE_WORDS = 3
_WORRY = re.compile(r"\b(zorg|zorgen|bezorgd|niet pluis|vermoeden|vermoed|casus|meldcode)\b")


def normalise(text: str) -> str:
    """Lower-case without diacritics ('conciërge' = 'concierge') and with one kind of apostrophe."""
    decomposed = unicodedata.normalize("NFKD", text.lower().replace("’", "'"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _words(text: str) -> List[str]:
    return _WORD.findall(normalise(text))


def is_button(text: str) -> bool:
    """A button payload (``/intent{...}``): the channel guard only lets through the bot's own buttons."""
    return text.strip().startswith("/")


def is_question(text: str) -> bool:
    """True when the message asks something: a question mark, a sentence opening with a question word
    or inverted modal ("Moet ik ...", "Hoe doe ik ..."), or an embedded question ("wat nu").

    Why a text rule: the intent of "We hebben besloten te melden. Hoe doe ik dat?" is a melding, and the
    classifier has no notion of mood; a question must never be stored as progress."""
    if is_button(text):
        return False
    if "?" in text:
        return True
    plain = normalise(text)
    if _EMBEDDED_QUESTION.search(plain):
        return True
    for sentence in _SENTENCE_SPLIT.split(plain):
        words = _WORD.findall(sentence)
        if words and (
            words[0] in _QUESTION_WORDS or (words[0] in _INVERTED_VERBS and len(words) > 1 and words[1] in _SUBJECTS)
        ):
            return True
    return False


def read_progress(text: str, intent_confidence: float) -> str:
    """How to treat a message the NLU read as progress: RECORD it, CONFIRM it with a button first, or
    treat it as a QUESTION (nothing is stored, the question is answered).

    A button records at once (the user chose the milestone). A question never records. A plan or an
    intention ("we gaan melden", "besloten te melden") and an unsure classification are confirmed."""
    if is_button(text):
        return RECORD
    if is_question(text):
        return QUESTION
    plain = normalise(text)
    if _INTENTION.search(plain) and not _DONE.search(plain):
        return CONFIRM
    if intent_confidence < PROGRESS_MIN_CONFIDENCE:
        return CONFIRM
    return RECORD


def describes_concern(text: str) -> bool:
    """True when a worried message says *what* is going on (striemen, a disclosure, neglect, absence),
    not only that the user is worried. Such a message gets the step-1 guidance in its first reply;
    a bare "ik maak me zorgen over een leerling" may first ask the role, because there is nothing yet
    to answer. Erring towards True only costs a role question asked after the guidance instead of before."""
    if is_button(text):
        return False
    return any(len(word) > 2 and not word.isdigit() and word not in _GENERIC_WORDS for word in _words(text))


_SELF_STATEMENT = re.compile(r"^(?:ik ben|ik werk als|ben|als)\s+(?:hier\s+)?(?:de\s+|een\s+)?(.+)$")


def stated_role(text: str) -> Optional[str]:
    """The role (a key of bot.profiles.USER_ROLES) the writer states about themselves in the first
    clause ("Ik ben gymdocent en ik zag ...", "als mentor wil ik ..."), or None.

    Why besides the classifier's ``role`` entity: a missed entity makes the bot ask a role that was just
    told; a first clause that says "ik ben <functie>" is unambiguous, and other people's functions
    ("de mentor zei ...") are never read as the writer's."""
    clauses = _CLAUSE_SPLIT.split(normalise(text))
    match = _SELF_STATEMENT.match(clauses[0].strip()) if clauses else None
    if match is None:
        return None
    words = match.group(1).split()
    longest = max(len(name.split()) for name in ROLE_WORDS)
    return next(
        (ROLE_WORDS[" ".join(words[:n])] for n in range(longest, 0, -1) if " ".join(words[:n]) in ROLE_WORDS), None
    )


def concern_beside_role(text: str) -> bool:
    """True when a message that states the user's role also tells a worry or a concern in another clause
    ("Ik ben gymdocent en ik zag striemen"): then the case starts as well. The role clause itself is
    not read ("ik ben coördinator huiselijk geweld" names a function, not a concern), nor are clauses
    too short to say what is going on."""
    clauses = [c.strip() for c in _CLAUSE_SPLIT.split(normalise(text)) if c.strip()]
    if clauses and _ROLE_CLAUSE.match(clauses[0]):
        clauses = clauses[1:]
    return any(
        len(_WORD.findall(c)) >= _MIN_CLAUSE_WORDS and (describes_concern(c) or _WORRY.search(c)) for c in clauses
    )


def is_english(text: str) -> bool:
    """True for a message written in English ("I am worried about a pupil, what should I do?").

    Why: Meldwijzer's knowledge is Dutch; an English message deserves a clear Dutch answer that says so,
    with the danger numbers, rather than a fallback that reads as "not understood"."""
    if is_button(text):
        return False
    words = _words(text)
    english = sum(1 for w in words if w in _ENGLISH)
    dutch = sum(1 for w in words if w in _DUTCH)
    return english >= _MIN_ENGLISH_WORDS and english > 2 * dutch


def asked_just_now(question: str, bot_texts: Sequence[str]) -> bool:
    """True when the bot's last message was this very question: asking it again would loop (the user
    answered in words the classifier reads as the same start, e.g. "hij past vanavond weer op")."""
    return bool(bot_texts) and bot_texts[-1] == question
