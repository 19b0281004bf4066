"""Organisation profiles: each school organisation's own words for roles, bodies and partners.

Why: the five seed protocols follow the same national meldcode but name things differently (SCP-er,
coördinator huiselijk geweld en kindermishandeling, zorgcoördinator; SOT, CvB, ZAT...). A teacher must
read the words of their own school. A profile only overrides *words and contacts*; it never changes a
national rule. Texts in knowledge/ use placeholders like ``{attention_officer}``; ``render`` fills them.
"""
from __future__ import annotations

import os
from typing import Dict, List, Optional

from pydantic import validator

from bot.knowledge import PLACEHOLDER, KnowledgeBase, Model, SourceRef, Statement, iter_models, knowledge, location

NATIONAL_PROFILE = "national"

# Every placeholder a knowledge text may use. The national profile must define all of them;
# organisation profiles override a subset. Keys are English, values are the Dutch words shown.
TERM_KEYS = (
    "teacher",            # leerkracht / docent / mentor
    "first_contact",      # whom a teacher consults first in step 2
    "attention_officer",  # aandachtsfunctionaris (SCP-er, coördinator HG&KM, zorgcoördinator ...)
    "ib",                 # intern begeleider
    "school_leader",      # directie / schoolleider
    "board",              # bevoegd gezag (e.g. College van Bestuur)
    "care_team",          # SOT, CvB, MDO, ZAT/diepteteam, zorgteam
    "municipal_team",     # zorgloket, Buurtteam, CJG, wijkteam
    "social_work",        # schoolmaatschappelijk werk
    "youth_health",       # jeugdarts / jeugdverpleegkundige (JGZ/GGD)
    "veilig_thuis",       # "Veilig Thuis", or the regional name ("Veilig Thuis Twente")
)

# The roles a user can have; used to tailor "who does what" in each step.
USER_ROLES: Dict[str, str] = {
    "teacher": "leerkracht of docent",
    "ib": "intern begeleider",
    "attention_officer": "aandachtsfunctionaris",
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
    address: Optional[str] = None
    email: Optional[str] = None
    website: Optional[str] = None
    note: Optional[str] = None
    replaced_by: Optional[str] = None  # id of a current contact when the seed entry is outdated (AMK)
    steps: List[int] = []
    source: SourceRef


class Organisation(Model):
    """One organisation profile (knowledge/organisations/<id>.yml)."""

    id: str
    name: str
    school_types: List[str]
    gemeente: Optional[str] = None
    source_doc: Optional[str] = None
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
                        problems.append(f"{location(loaded, loc)}: {'.'.join(map(str, loc))}: unknown placeholder {bad}")
                elif isinstance(value, Statement):
                    bad_roles = sorted(set(value.roles) - set(USER_ROLES))
                    if bad_roles:
                        problems.append(f"{location(loaded, loc + ('roles',))}: unknown user roles {bad_roles}")
    return problems


def user_role_label(role: str) -> str:
    return USER_ROLES.get(role, role)
