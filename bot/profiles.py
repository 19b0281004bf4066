"""Organisation profiles: each school organisation's own words for roles, bodies and partners.

Why: the five seed protocols follow the same national meldcode but name things differently (SCP-er,
coördinator huiselijk geweld en kindermishandeling, zorgcoördinator; SOT, CvB, ZAT...). A teacher must
read the words of their own school. A profile only overrides *words and contacts*; it never changes a
national rule. Texts in knowledge/ use placeholders like ``{attention_officer}``; ``render`` fills them.
"""

from __future__ import annotations

import os
import re
from datetime import date
from typing import Dict, List, Optional

from pydantic import validator

from bot.knowledge import (
    PLACEHOLDER,
    KnowledgeBase,
    Model,
    SourceRef,
    Statement,
    check,
    iter_models,
    knowledge,
    location,
)

NATIONAL_PROFILE = "national"

# Every placeholder a knowledge text may use. The national profile must define all of them;
# organisation profiles override a subset. Keys are English, values are the Dutch words shown.
TERM_KEYS = (
    "teacher",  # leerkracht / docent / mentor
    "first_contact",  # whom a teacher consults first in step 2
    "attention_officer",  # aandachtsfunctionaris (SCP-er, coördinator HG&KM, zorgcoördinator ...)
    "ib",  # intern begeleider
    "school_leader",  # directie / schoolleider
    "board",  # bevoegd gezag (e.g. College van Bestuur)
    "care_team",  # SOT, CvB, MDO, ZAT/diepteteam, zorgteam
    "municipal_team",  # zorgloket, Buurtteam, CJG, wijkteam
    "social_work",  # schoolmaatschappelijk werk
    "youth_health",  # jeugdarts / jeugdverpleegkundige (JGZ/GGD)
    "veilig_thuis",  # "Veilig Thuis", or the regional name ("Veilig Thuis Twente")
)

# One Dutch phone number as the protocols write it: digits with spaces or hyphens, optionally an area code
# in parentheses ("(0118) 751400"). A second number, a menu choice or words are separate fields (``note``),
# so a call button never dials "0900-8844 of 112".
PHONE_NUMBER = re.compile(r"(?:\(0\d{2,3}\)\s*-?\s*)?\d[\d\s-]*\d|\d{3}")
# Digit counts: numbers with a leading 0 have 8 (0800-2000) to 11 (0900-111 3 111) digits; short numbers
# (112, 113, 14 + area code) have 3 to 6.
LONG_DIGITS, SHORT_DIGITS = (8, 11), (3, 6)


def is_one_phone_number(value: str) -> bool:
    """True when ``value`` is exactly one phone number (112, 14074, 0800-2000, (0118) 751400)."""
    digits = re.sub(r"\D", "", value)
    low, high = LONG_DIGITS if digits.startswith("0") else SHORT_DIGITS
    return bool(PHONE_NUMBER.fullmatch(value.strip())) and low <= len(digits) <= high


def one_phone_number(value: Optional[str]) -> Optional[str]:
    """Validator body shared by every phone field of the knowledge (profiles and national contacts)."""
    if value is not None and not is_one_phone_number(value):
        raise ValueError(
            f"'{value}': a phone field holds one phone number; put a second number in its own "
            "field or entry and words in `note`"
        )
    return value


# The roles a user can have; used to tailor "who does what" in each step.
# How staff name their own function in a sentence about themselves ("Ik ben gymdocent en ..."), folded
# (lower case, no diacritics), per role of USER_ROLES. Used only for such a self-statement.
ROLE_WORDS: Dict[str, str] = {
    **dict.fromkeys(
        (
            "leerkracht",
            "docent",
            "gymdocent",
            "vakleerkracht",
            "vakdocent",
            "groepsleerkracht",
            "mentor",
            "juf",
            "meester",
            "leraar",
            "lerares",
        ),
        "teacher",
    ),
    **dict.fromkeys(("ib'er", "ib-er", "iber", "ib", "intern begeleider"), "ib"),
    **dict.fromkeys(
        (
            "aandachtsfunctionaris",
            "scp-er",
            "coordinator huiselijk geweld",
            "coordinator huiselijk geweld en kindermishandeling",
        ),
        "attention_officer",
    ),
    **dict.fromkeys(("zorgcoordinator", "zoco"), "care_coordinator"),
    **dict.fromkeys(("directeur", "directie", "schoolleider", "teamleider", "locatieleider"), "school_leader"),
    **dict.fromkeys(
        (
            "concierge",
            "onderwijsassistent",
            "klassenassistent",
            "administratief medewerker",
            "stagiair",
            "onderwijsondersteunend personeel",
        ),
        "support_staff",
    ),
}
# The NLU's role synonyms (data/nlu/steps.yml) use only these words (tests/test_registries.py).
# The one role that authorises more than the user's own cases (every case of the organisation), when the
# school grants it (``python -m bot roles grant`` or its identity provider); saying it grants nothing.
ATTENTION_OFFICER = "attention_officer"
USER_ROLES: Dict[str, str] = {
    "teacher": "leerkracht of docent",
    "ib": "intern begeleider",
    ATTENTION_OFFICER: "aandachtsfunctionaris",
    "care_coordinator": "zorgcoördinator",
    "school_leader": "schoolleider of directie",
    "support_staff": "onderwijsondersteunend personeel",
}


class SocialMapEntry(Model):
    """A partner on the organisation's sociale kaart, as its protocol lists it."""

    id: str
    name: str
    kind: str
    phone: Optional[str] = None
    phone_note: Optional[str] = None  # what the protocol writes beside the number ("Keuze 1", "gratis nummer")
    address: Optional[str] = None
    email: Optional[str] = None
    website: Optional[str] = None
    note: Optional[str] = None
    # An organisation that no longer exists: the id of its record in contacts.yml `successors`, and the
    # current contacts to show instead (ids on this sociale kaart or national contacts; empty = the record's).
    successor: Optional[str] = None
    replaced_by: List[str] = []
    steps: List[int] = []
    source: SourceRef

    _phone = validator("phone", allow_reuse=True)(one_phone_number)


class Organisation(Model):
    """One organisation profile (knowledge/organisations/<id>.yml)."""

    id: str
    name: str
    school_types: List[str]
    gemeente: Optional[str] = None
    source_doc: Optional[str] = None
    checked: date  # when someone last checked that the partners on the sociale kaart still exist
    terms: Dict[str, str]
    social_map: List[SocialMapEntry] = []
    notes: List[str] = []

    @validator("terms")
    def _known_terms(cls, value: Dict[str, str]) -> Dict[str, str]:
        unknown = sorted(set(value) - set(TERM_KEYS))
        if unknown:
            raise ValueError(f"unknown term keys: {unknown}; allowed: {list(TERM_KEYS)}")
        return value

    @validator("school_types", each_item=True)
    def _known_school_type(cls, value: str) -> str:
        if value not in {"PO", "SO", "SBO", "VO"}:
            raise ValueError("school type must be PO, SO, SBO or VO")
        return value


def organisations(kb: Optional[KnowledgeBase] = None) -> Dict[str, Organisation]:
    return {o.id: o for o in (kb or knowledge()).many("organisations/")}


def profile(profile_id: Optional[str] = None, kb: Optional[KnowledgeBase] = None) -> Organisation:
    """The deployment's profile (env ``MELDWIJZER_PROFILE``), falling back to the national default."""
    orgs = organisations(kb)
    wanted = profile_id or os.environ.get("MELDWIJZER_PROFILE") or NATIONAL_PROFILE
    if wanted not in orgs:
        raise KeyError(f"unknown organisation profile '{wanted}'; known: {sorted(orgs)}")
    return orgs[wanted]


def terms(org: Organisation, kb: Optional[KnowledgeBase] = None) -> Dict[str, str]:
    """The organisation's words, completed with the national default for keys it does not override."""
    merged = dict(organisations(kb)[NATIONAL_PROFILE].terms)
    merged.update(org.terms)
    return merged


def render(text: str, org: Organisation, kb: Optional[KnowledgeBase] = None) -> str:
    """Fill ``{placeholders}`` with the organisation's words; unknown placeholders are a data bug."""
    words = terms(org, kb)
    return PLACEHOLDER.sub(lambda m: words[m.group(1)], text)


def placeholders_in(text: str) -> List[str]:
    return PLACEHOLDER.findall(text)


@check("profiles")
def check_profiles(kb: KnowledgeBase) -> List[str]:
    """National profile complete; every placeholder and statement role used in knowledge/ is known."""
    problems: List[str] = []
    orgs = organisations(kb)
    national = orgs.get(NATIONAL_PROFILE)
    if national is None:
        return ["knowledge/organisations/national.yml: the national default profile is missing"]
    missing = [k for k in TERM_KEYS if k not in national.terms]
    if missing:
        problems.append(f"knowledge/organisations/national.yml: terms missing {missing}")
    for loaded_files in kb.files.values():
        for loaded in loaded_files:
            for loc, value in iter_models(loaded.model):
                if isinstance(value, str):
                    bad = [p for p in placeholders_in(value) if p not in TERM_KEYS]
                    if bad:
                        where = f"{location(loaded, loc)}: {'.'.join(map(str, loc))}"
                        problems.append(f"{where}: unknown placeholder {bad}")
                elif isinstance(value, Statement):
                    bad_roles = sorted(set(value.roles) - set(USER_ROLES))
                    if bad_roles:
                        problems.append(f"{location(loaded, loc + ('roles',))}: unknown user roles {bad_roles}")
    return problems


def checked_lines(kb: Optional[KnowledgeBase] = None) -> List[str]:
    """One line per profile with the date its partners were checked, for ``python -m bot check``.

    Why: partners merge and disappear (Bureau Jeugdzorg, Intervence, Porthos); the date tells a reviewer
    which sociale kaart is due for another look.
    """
    return [
        f"profile {o.id} ({o.name}): partners checked {o.checked.isoformat()}"
        for o in sorted(organisations(kb).values(), key=lambda o: o.id)
    ]


def user_role_label(role: str) -> str:
    return USER_ROLES.get(role, role)
