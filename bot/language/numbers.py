"""Dutch number words as teachers type them ("twee weken", "half drie", "stap vier").

Why one table: the notes, the weighing terms and the step buttons each had their own copy, and the
copies had started to differ in how far they counted.
"""

from __future__ import annotations

from typing import Dict, Optional

NUMBER_WORDS: Dict[str, int] = {
    "een": 1,
    "één": 1,
    "twee": 2,
    "drie": 3,
    "vier": 4,
    "vijf": 5,
    "zes": 6,
    "zeven": 7,
    "acht": 8,
    "negen": 9,
    "tien": 10,
    "elf": 11,
    "twaalf": 12,
    "dertien": 13,
    "veertien": 14,
}


def words_up_to(highest: int) -> Dict[str, int]:
    """The number words for 1..``highest``: a caller that only knows five steps gets only those."""
    return {word: value for word, value in NUMBER_WORDS.items() if value <= highest}


def number_value(token: str) -> Optional[int]:
    """'3' -> 3, 'drie' -> 3; None when the token is neither digits nor a known number word."""
    token = token.strip().lower()
    return int(token) if token.isdigit() else NUMBER_WORDS.get(token)
