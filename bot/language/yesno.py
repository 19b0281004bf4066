"""Dutch yes and no as teachers type them: "ja hoor", "jaaa", "neuh", "klopt niet", "j".

Why one place: the note form's yes/no questions and the weighing questions read the same words; two
word lists had drifted apart (the note form read "klopt niet" as yes). ``bot.weighing.parse_answer``
adds doubt ("twijfel") and longer phrases on top of these leads.
"""

from __future__ import annotations

import re
from typing import FrozenSet, Optional

YES_WORDS: FrozenSet[str] = frozenset(
    {
        "ja",
        "jazeker",
        "jawel",
        "jep",
        "jup",
        "yes",
        "yep",
        "klopt",
        "zeker",
        "inderdaad",
        "absoluut",
        "natuurlijk",
        "uiteraard",
        "correct",
        "juist",
        "precies",
    }
)
NO_WORDS: FrozenSet[str] = frozenset({"nee", "neen", "neuh", "nope", "nah", "no", "geenszins", "allerminst"})
# One-letter and bare-negation answers: fine as the whole answer to a yes/no button question, too
# terse to read as a lead inside a longer weighing reply.
_SHORT_YES = frozenset({"j"})
_SHORT_NO = frozenset({"n", "niet", "geen"})

_STRETCHED = {r"ja+": "ja", r"ne+": "nee", r"neu+h": "neuh", r"ne+j": "nee"}


def normalise_reply(text: str) -> str:
    """Lower-case words without punctuation, stretched words folded ("jaaa" -> "ja", "neee" -> "nee")."""
    words = re.sub(r"[^\w\s]", " ", text.lower()).split()
    return " ".join(next((v for k, v in _STRETCHED.items() if re.fullmatch(k, w)), w) for w in words)


def lead_answer(reply: str) -> Optional[bool]:
    """The yes or no a normalised reply starts with; "klopt niet", "zeker niet" are no. None otherwise."""
    words = reply.split()
    if not words:
        return None
    negated = len(words) > 1 and words[1] == "niet"
    if words[0] in NO_WORDS or (words[0] in YES_WORDS and negated):
        return False
    if words[0] in YES_WORDS:
        return True
    return None


def parse_yes_no(text: str) -> Optional[bool]:
    """'ja'/'nee' and their common variants; None when the answer is neither (then ask again)."""
    reply = normalise_reply(text)
    answer = lead_answer(reply)
    if answer is not None:
        return answer
    first = reply.split()[0] if reply else ""
    return True if first in _SHORT_YES else False if first in _SHORT_NO else None
