"""Regional contacts: which Veilig Thuis and which local partners belong to a school, and whom to call.

Why this module exists: a teacher in doubt must reach the right people at once. Veilig Thuis is one
national number (0800-2000) that routes to 25 regional organisations; which region a school belongs to
follows the CBS division of 342 gemeenten (``knowledge/regions/``). Teachers type place names as they
speak them (Den Bosch, Sudwest Fryslan, "enschde"), so matching tolerates spelling, but it must never
answer with a wrong region: when in doubt it asks, with suggestions. Local partners come from each
school's own sociale kaart (``knowledge/organisations/``); organisations that no longer exist (AMK,
Steunpunt Huiselijk Geweld, Bureau Jeugdzorg, Intervence, Porthos) are never shown as current, only what
replaced them. Staff also name woonplaatsen ("Goor", "Sneek") rather than gemeenten: an exact woonplaats
name resolves to its gemeente; gemeente names always win over a village of the same name.

No Rasa import: ``actions/contacts.py`` calls these pure functions and turns suggestions into buttons.
"""

from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
import threading
from functools import lru_cache
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Literal, Optional, Sequence, Set, Tuple, TypeVar

from pydantic import root_validator, validator
from rapidfuzz import fuzz, process

from bot.knowledge import KnowledgeBase, Model, SourceRef, Statement, check, knowledge, source_label
from bot.profiles import Organisation, SocialMapEntry, one_phone_number, organisations, placeholders_in, render, terms

GEMEENTE_COUNT, REGION_COUNT = 342, 25
SCHOOL_GEMEENTE_ENV = "MELDWIJZER_SCHOOL_GEMEENTE"
REQUIRED_CONTACTS = ("veilig_thuis", "emergency")
DEFAULT_ROLE = "teacher"  # most users are teachers; also bot.steps' default
# Fuzzy thresholds (rapidfuzz ratio, 0-100). FOUND: a typo of one or two letters in a normal-length name
# still passes; MARGIN: a runner-up this close makes the answer ambiguous; SUGGEST: worth offering.
FOUND_SCORE, MARGIN, SUGGEST_SCORE = 80.0, 8.0, 60.0
# A query that is the first word(s) of a longer name ("Capelle" of Capelle aan den IJssel) competes
# with this score, so a similar other name (Kapelle) cannot win alone.
PREFIX_SCORE = 90.0
# Below this length one typo changes too much ("Eda": Ede or Edam?): fuzzy matches are only suggestions.
MIN_FUZZY_CHARS = 4
EXTRACT_SCORE = 85.0  # stricter: a whole message has many word groups that could match by chance
MAX_SUGGESTIONS, MAX_NGRAM, SHORT_MESSAGE = 4, 5, 4
# A woonplaats matches only exactly (2,500 village names would drown the fuzzy gemeente matching) and, inside
# a sentence, only from this length: short village names are everyday words ("Ee", "Nes", "Wel").
MIN_WOONPLAATS_CHARS = 4
# Woonplaats names that mean something else to a teacher: "Veilig Thuis in Nederland" is the country, not
# the village Nederland in Steenwijkerland.
NOT_A_WOONPLAATS = frozenset({"nederland"})
# Words that make a message a question about a place rather than a statement of where the school is
# ("En in Sneek?", "welk Veilig Thuis hoort bij Goor"): such a place is answered, never stored.
ASKING_WORDS = frozenset(
    {"welk", "welke", "wat", "hoe", "wie", "waar", "hoort", "horen", "geldt", "en", "ook", "anders"}
)
# A website as the region overview may show it: a bare domain, optionally with a path.
WEBSITE = re.compile(r"(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:/[\w/-]*)?")
# Words that introduce a place in a Dutch sentence ("voor enschede", "bij Hengelo", "gemeente Oss").
# "Veilig Thuis Zwolle" / "VT Zwolle" name the place right after the organisation.
PLACE_CUES = frozenset(
    {
        "in",
        "bij",
        "voor",
        "uit",
        "vanuit",
        "te",
        "van",
        "rond",
        "naar",
        "nabij",
        "buurt",
        "gemeente",
        "regio",
        "omgeving",
        "plaats",
        "woonplaats",
        "thuis",
        "vt",
    }
)
# Leading words of a place answer that are not part of the name ("gemeente Hengelo").
LEADING_FILLER = re.compile(r"^(?:de |het )?(?:gemeente|regio|veilig thuis|vt|plaats) ")
SENTENCE_END = frozenset({"?", "!", ";", ":"})
NER_PLACE_LABELS = frozenset({"LOC", "GPE"})
SPACY_MODEL = "nl_core_news_sm"
MAX_PARTNERS = 4
CLEAR_MATCH = 0.5  # a lookup hit scoring under half the best one matched only a side word ("centrum")
MIN_QUERY_WORD = 3
# Words of a lookup question that never name a partner ("wat is het nummer van ...").
LOOKUP_NOISE = frozenset(
    {
        "nummer",
        "telefoonnummer",
        "telefoon",
        "bellen",
        "contact",
        "adres",
        "email",
        "mail",
        "website",
        "gemeente",
        "organisatie",
        "school",
        "welk",
        "welke",
    }
)


# --- knowledge schema ----------------------------------------------------------------------------


class Region(Model):
    """One of the 25 Veilig Thuis regions (CBS 2025), with the organisation's public details."""

    code: str
    cbs_name: str
    organisation: str
    gemeente_count: int
    name_note: Optional[str] = None  # set when the organisation name is derived, not found in a source
    website: Optional[str] = None
    extra: Optional[str] = None
    source_url: str

    @validator("website")
    def _bare_domain(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and not WEBSITE.fullmatch(value):
            raise ValueError(f"website '{value}' must be a bare domain (no dates or remarks; those go nowhere)")
        return value


def cbs_code(value: str) -> str:
    if not re.fullmatch(r"GM\d{4}", value):
        raise ValueError("gemeente code must look like GM0153")
    return value


class Gemeente(Model):
    """A gemeente with its CBS code, its Veilig Thuis region and the other names people use for it."""

    code: str
    name: str
    vt_code: str
    aliases: List[str] = []

    _code = validator("code", allow_reuse=True)(cbs_code)


class Woonplaats(Model):
    """A woonplaats (BAG) and the gemeente it lies in; ``also`` holds its other official spelling
    (Frisian woonplaatsen have two: "Aalsum / Ealsum")."""

    name: str
    also: List[str] = []
    gemeente: str

    _gemeente_code = validator("gemeente", allow_reuse=True)(cbs_code)


REGION_FILE_KINDS = ("regions", "gemeenten", "woonplaatsen")


class RegionFile(Model):
    """A file in knowledge/regions/: the regions, the gemeenten or the woonplaatsen, each with its provenance."""

    source: SourceRef
    data_date: str
    alias_note: Optional[str] = None
    source_note: Optional[str] = None
    regions: List[Region] = []
    gemeenten: List[Gemeente] = []
    woonplaatsen: List[Woonplaats] = []

    @root_validator(skip_on_failure=True)
    def _one_kind(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        if sum(bool(values.get(kind)) for kind in REGION_FILE_KINDS) != 1:
            raise ValueError("a region file holds exactly one of `regions:`, `gemeenten:` or `woonplaatsen:`")
        return values


class Contact(Model):
    """A national contact (number, chat) with when and for whom it is meant."""

    id: str
    name: str
    phone: Optional[str] = None
    alt_phone: Optional[str] = None  # a second number for the same service (113 and 0800-0113)
    availability: Optional[str] = None
    availability_source: Optional[SourceRef] = None  # when the availability text rests on another document
    audience: Optional[str] = None
    caveat: Optional[str] = None
    urls: List[str] = []
    words: List[str] = []  # what teachers call it; set only for contacts the sociale-kaart lookup offers
    source: SourceRef

    _phones = validator("phone", "alt_phone", allow_reuse=True)(one_phone_number)

    @property
    def phones(self) -> Tuple[str, ...]:
        return tuple(p for p in (self.phone, self.alt_phone) if p)


class Successor(Model):
    """An organisation older seeds still name, and what replaced it.

    ``replaced_by`` lists national contacts that took over (AMK -> Veilig Thuis); a profile entry may name
    its own local successors instead (Bureau Jeugdzorg Utrecht -> Samen Veilig, Buurtteam). ``now`` says in
    words what happened when it was more than a new name ({placeholders} allowed); without it the line
    reads "dat heet sinds <since> <successor>".
    """

    id: str
    name: str
    names: List[str]
    old_phone: Optional[str] = None
    replaced_by: List[str] = []
    since: int
    now: Optional[str] = None
    urls: List[str] = []
    source: SourceRef

    @root_validator(skip_on_failure=True)
    def _says_what_replaced_it(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        if not values.get("now") and len(values.get("replaced_by") or []) != 1:
            raise ValueError("a successor without `now` must name exactly one contact in `replaced_by`")
        return values


class GuidanceLine(Statement):
    """A line ``who_to_call`` shows for some user roles (``roles``, empty = everyone).

    ``topic`` places it: ``internal`` lines name the school's own people and come before Veilig Thuis;
    ``veilig_thuis`` lines follow its number.
    """

    id: str
    topic: Literal["internal", "veilig_thuis"]


class PartnerKind(Model):
    """A kind of sociale-kaart partner and the Dutch words teachers use for it."""

    id: str
    label: str
    words: List[str]


class NationalContacts(Model):
    """knowledge/contacts.yml."""

    data_date: str
    contacts: List[Contact]
    successors: List[Successor]
    guidance: List[GuidanceLine]
    kinds: List[PartnerKind]

    @validator("contacts")
    def _required_unique(cls, value: List[Contact]) -> List[Contact]:
        ids = [c.id for c in value]
        missing = [i for i in REQUIRED_CONTACTS if i not in ids]
        if missing or len(set(ids)) != len(ids):
            raise ValueError(f"contact ids must be unique and include {list(REQUIRED_CONTACTS)}")
        return value

    def contact(self, contact_id: str) -> Contact:
        return next(c for c in self.contacts if c.id == contact_id)


# --- lookup tables -------------------------------------------------------------------------------


def normalise(text: str) -> str:
    """Lower case, no diacritics, punctuation as spaces: 'Súdwest-Fryslân' -> 'sudwest fryslan'."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^a-z0-9]+", " ", plain.lower()).split())


@dataclass(frozen=True)
class RegionIndex:
    """Gemeenten and regions by code, plus every normalised name/alias -> the gemeente codes using it.

    ``woonplaatsen`` maps a normalised woonplaats name to its gemeente codes, only for names that are not
    already a gemeente name or alias (those mean the gemeente); ``woonplaats_names`` keeps the spelling.
    """

    regions: Dict[str, Region]
    gemeenten: Dict[str, Gemeente]
    names: Dict[str, FrozenSet[str]]
    region_names: Dict[str, str]
    keys: Tuple[str, ...]
    data_date: str
    sources: Tuple[SourceRef, ...]
    woonplaatsen: Dict[str, FrozenSet[str]]
    woonplaats_names: Dict[str, str]
    woonplaats_sources: Tuple[SourceRef, ...]


def _build_index(kb: KnowledgeBase) -> RegionIndex:
    files: List[RegionFile] = kb.many("regions/")
    regions = {r.code: r for f in files for r in f.regions}
    gemeenten = {g.code: g for f in files for g in f.gemeenten}
    names: Dict[str, Set[str]] = {}
    for gemeente in gemeenten.values():
        for name in [gemeente.name] + gemeente.aliases:
            names.setdefault(normalise(name), set()).add(gemeente.code)
    region_names = {normalise(n): r.code for r in regions.values() for n in (r.cbs_name, r.organisation)}
    places: Dict[str, Set[str]] = {}
    spelling: Dict[str, str] = {}
    for place in (w for f in files for w in f.woonplaatsen):
        for name in [place.name] + place.also:
            key = normalise(name)
            if key and key not in names and key not in region_names and key not in NOT_A_WOONPLAATS:
                places.setdefault(key, set()).add(place.gemeente)
                spelling.setdefault(key, name)
    division = [f for f in files if not f.woonplaatsen]
    return RegionIndex(
        regions=regions,
        gemeenten=gemeenten,
        names={k: frozenset(v) for k, v in names.items()},
        region_names=region_names,
        keys=tuple(names),
        data_date=max(f.data_date for f in division),
        sources=tuple(f.source for f in division),
        woonplaatsen={k: frozenset(v) for k, v in places.items()},
        woonplaats_names=spelling,
        woonplaats_sources=tuple(f.source for f in files if f.woonplaatsen),
    )


_INDEXES: Dict[int, Tuple[KnowledgeBase, RegionIndex]] = {}


def region_index(kb: Optional[KnowledgeBase] = None) -> RegionIndex:
    """The lookup tables, built once per knowledge base (the base is immutable)."""
    base = kb or knowledge()
    cached = _INDEXES.get(id(base))
    if cached is None or cached[0] is not base:
        cached = (base, _build_index(base))
        _INDEXES[id(base)] = cached
    return cached[1]


def _national(kb: Optional[KnowledgeBase]) -> NationalContacts:
    national: NationalContacts = (kb or knowledge()).one("contacts.yml")
    return national


# --- resolving a place name ----------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    """The outcome of matching a place name. ``found`` may carry only a region (the user named one)."""

    status: str  # "found" | "ambiguous" | "unknown"
    gemeente: Optional[Gemeente]
    region: Optional[Region]
    suggestions: Tuple[str, ...] = ()
    woonplaats: Optional[str] = None  # set when the user named a woonplaats, not the gemeente itself


def _shared_region(codes: Iterable[str], index: RegionIndex) -> Optional[Region]:
    """The region all these gemeenten belong to, or None when they differ."""
    vt_codes = {index.gemeenten[c].vt_code for c in codes}
    return index.regions[vt_codes.pop()] if len(vt_codes) == 1 else None


def _from_codes(codes: Sequence[str], index: RegionIndex, woonplaats: Optional[str] = None) -> Resolution:
    """One gemeente: found. Several (Bergen; a village name in four gemeenten): ask, offering the gemeenten."""
    if len(codes) == 1:
        gemeente = index.gemeenten[codes[0]]
        return Resolution("found", gemeente, index.regions[gemeente.vt_code], woonplaats=woonplaats)
    names = tuple(sorted(index.gemeenten[c].name for c in codes))[:MAX_SUGGESTIONS]
    return Resolution("ambiguous", None, _shared_region(codes, index), names, woonplaats=woonplaats)


def _exact(query: str, index: RegionIndex) -> Optional[Resolution]:
    for candidate in dict.fromkeys((query, LEADING_FILLER.sub("", query))):
        codes = index.names.get(candidate)
        if codes:
            return _from_codes(sorted(codes), index)
        region_code = index.region_names.get(candidate)
        if region_code:
            return Resolution("found", None, index.regions[region_code])
    return None


def _woonplaats(query: str, index: RegionIndex) -> Optional[Resolution]:
    """An exact woonplaats name ("Goor"), unless it is also the first word of a gemeente name: "Alphen"
    then stays the question between Alphen aan den Rijn and Alphen-Chaam that staff usually mean."""
    places = index.woonplaatsen.get(query)
    if not places or any(key.startswith(query + " ") for key in index.keys):
        return None
    return _from_codes(sorted(places), index, index.woonplaats_names[query])


def _scored(query: str, index: RegionIndex, cutoff: float) -> List[Tuple[str, float]]:
    """Gemeente codes with their best fuzzy score over name and aliases, best first."""
    best: Dict[str, float] = {}
    matches = process.extract(query, index.keys, scorer=fuzz.ratio, limit=20, score_cutoff=cutoff)
    prefixed = [(key, PREFIX_SCORE) for key in index.keys if key.startswith(query + " ")]
    for key, score in [(m[0], m[1]) for m in matches] + prefixed:
        for code in index.names[key]:
            best[code] = max(best.get(code, 0.0), score)
    return sorted(best.items(), key=lambda item: (-item[1], index.gemeenten[item[0]].name))


def resolve_gemeente(text: str, kb: Optional[KnowledgeBase] = None) -> Resolution:
    """Match a place name to a gemeente and its Veilig Thuis region; ask rather than guess.

    Exact names and aliases win (a name two gemeenten share, Bergen, is ambiguous), then an exact
    woonplaats (a village in several gemeenten is ambiguous too). Otherwise the closest gemeente names by
    edit similarity: found only when the best is clearly ahead of the runner-up.
    """
    index = region_index(kb)
    query = normalise(text)
    if not query:
        return Resolution("unknown", None, None)
    exact = _exact(query, index)
    if exact:
        return exact
    query = LEADING_FILLER.sub("", query)
    place = _woonplaats(query, index)
    if place:
        return place
    scored = _scored(query, index, SUGGEST_SCORE)
    if not scored:
        return Resolution("unknown", None, None)
    top = scored[0][1]
    close = [code for code, score in scored if top - score < MARGIN]
    if top >= FOUND_SCORE and len(query) >= MIN_FUZZY_CHARS:
        return _from_codes(close[:MAX_SUGGESTIONS], index)
    names = tuple(index.gemeenten[code].name for code, _ in scored[:MAX_SUGGESTIONS])
    return Resolution("unknown", None, None, names)


# Gemeente names that are also everyday Dutch words ("is dit echt iets voor ..."): left out of the NLU's
# place lookup table so they do not make ordinary sentences look like place answers. Matching still knows them.
COMMON_WORD_PLACES = frozenset({"beek", "best", "buren", "duiven", "echt", "huizen", "leek", "putten", "sluis"})


def place_lookup_names(kb: Optional[KnowledgeBase] = None) -> List[str]:
    """Every gemeente name and alias, for the NLU lookup table ``place`` in data/nlu/contacts.yml.

    Why: a teacher answers "In welke gemeente staat uw school?" with a bare name ("Dinkelland") the
    classifier has never seen; the lookup gives DIET a feature that says "this is a place".
    """
    index = region_index(kb)
    names = {n for g in index.gemeenten.values() for n in [g.name] + g.aliases}
    return sorted((n for n in names if normalise(n) not in COMMON_WORD_PLACES), key=lambda n: (normalise(n), n))


# --- finding the place in a whole message --------------------------------------------------------


_NLP_LOCK = threading.Lock()


@lru_cache(maxsize=1)
def _load_nlp() -> Any:  # a spacy Language; spaCy's types are not checked here
    import spacy  # local: only extraction needs it, and importing spaCy is slow

    return spacy.load(SPACY_MODEL, disable=["lemmatizer"])


def _nlp() -> Any:
    """The Dutch spaCy pipeline, loaded once per process (import and load take a few seconds, which the
    first place lookup would otherwise spend on the action server's event loop); see ``warm_up``."""
    with _NLP_LOCK:
        return _load_nlp()


def warm_up() -> None:
    """Load the pipeline in the background when the action server loads the actions."""
    threading.Thread(target=_nlp, name="contacts-spacy-warm-up", daemon=True).start()


def _candidate_starts(doc) -> List[int]:  # type: ignore[no-untyped-def]
    """Token positions where a place name may begin: after a cue word, at a capital, in a NER place."""
    starts = {ent.start for ent in doc.ents if ent.label_ in NER_PLACE_LABELS}
    for token in doc:
        if token.lower_ in PLACE_CUES and token.i + 1 < len(doc):
            starts.add(token.i + 1)
        if token.text[:1].isupper() or token.text.startswith("'"):
            starts.add(token.i)
    words = [t for t in doc if not t.is_punct]
    if len(words) <= SHORT_MESSAGE:  # a bare answer like "den bosch": every word may start the name
        starts.update(t.i for t in words)
    return sorted(starts)


def _place_score(text: str, index: RegionIndex) -> float:
    query = normalise(text)
    if not query or query in index.region_names or query in index.names:
        return 100.0 if query else 0.0
    if query in index.woonplaatsen and len(query) >= MIN_WOONPLAATS_CHARS and query not in COMMON_WORD_PLACES:
        return 100.0
    match = process.extractOne(query, index.keys, scorer=fuzz.ratio, score_cutoff=EXTRACT_SCORE)
    return match[1] if match else 0.0


def extract_place(message: str, kb: Optional[KnowledgeBase] = None) -> Optional[str]:
    """The place name in a whole Dutch message, as the user wrote it, or None.

    spaCy's NER finds capitalised places; lower-case and misspelt names ("voor enschde") it misses,
    so word groups after a place cue, at a capital, or a very short message as a whole, are matched
    against the gemeente names. The best match wins; on a tie the longer group ("Bergen op Zoom").
    """
    index = region_index(kb)
    doc = _nlp()(message)
    best: Tuple[float, int, Optional[str]] = (0.0, 0, None)
    for start in _candidate_starts(doc):
        for end in range(start + 1, min(start + MAX_NGRAM, len(doc)) + 1):
            span = doc[start:end]
            if span[-1].text in SENTENCE_END:
                break
            if span[-1].is_punct and span[-1].text not in {".", ")"}:
                continue  # "Nuenen, Gerwen en Nederwetten": a comma may sit inside a name
            score = _place_score(span.text, index)
            if score and (score, len(span.text)) > best[:2]:
                best = (score, len(span.text), span.text)
    return best[2]


# --- answers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ContactAnswer:
    """Dutch lines to show, numbers to offer as call buttons, suggestions to offer as choice buttons."""

    lines: Tuple[str, ...]
    calls: Tuple[Tuple[str, Optional[str]], ...]  # (name, phone); a national contact's phone is optional data
    sources: Tuple[str, ...]
    suggestions: Tuple[str, ...] = ()


def _labels(refs: Iterable[SourceRef], kb: Optional[KnowledgeBase]) -> Tuple[str, ...]:
    return tuple(dict.fromkeys(source_label(r, kb) for r in refs))


def phone_text(phone: str) -> str:
    """A phone number as shown and dialled: the seeds' stray spaces around hyphens dropped ("0900 -8844")."""
    return re.sub(r"\s*-\s*", "-", phone.strip())


def _contact_line(name: str, contact: Contact) -> str:
    """'Veilig Thuis Twente: 0800-2000 (gratis, ...).' for a national contact under a local name."""
    details = "; ".join(p for p in (contact.availability, contact.audience) if p)
    numbers = " of ".join(phone_text(p) for p in contact.phones)
    return f"{name}: {numbers}" + (f" ({details})." if details else ".")


def _contact_calls(name: str, contact: Contact) -> List[Tuple[str, str]]:
    return [(name, phone_text(p)) for p in contact.phones]


def _entry_phone(entry: SocialMapEntry) -> Optional[str]:
    if not entry.phone:
        return None
    return phone_text(entry.phone) + (f" ({entry.phone_note})" if entry.phone_note else "")


def _entry_line(entry: SocialMapEntry) -> str:
    parts = [p for p in (_entry_phone(entry), entry.email, entry.website, entry.address) if p]
    return f"{entry.name}: {', '.join(parts)}." if parts else f"{entry.name}."


def _entry_call(entry: SocialMapEntry) -> Tuple[str, str]:
    return entry.name, phone_text(entry.phone or "")


def _availability_refs(contact: Contact) -> List[SourceRef]:
    return [contact.source] + ([contact.availability_source] if contact.availability_source else [])


def _region_of(org: Organisation, kb: Optional[KnowledgeBase]) -> Optional[Region]:
    return resolve_gemeente(org.gemeente, kb).region if org.gemeente else None


def _own_vt_entry(org: Organisation, region: Region, kb: Optional[KnowledgeBase]) -> Optional[SocialMapEntry]:
    """The school's own (current) Veilig Thuis entry, when the region asked about is the school's."""
    own = _region_of(org, kb)
    if own is None or own.code != region.code:
        return None
    return next((e for e in org.social_map if e.kind == "veilig_thuis" and not _outdated(e, kb)), None)


def _vt_lines(region: Optional[Region], org: Organisation, kb: Optional[KnowledgeBase]) -> List[str]:
    """The Veilig Thuis number under the region's name, plus the school's own details for it."""
    national = _national(kb)
    name = region.organisation if region else render("{veilig_thuis}", org, kb)
    lines = [_contact_line(name, national.contact("veilig_thuis"))]
    entry = _own_vt_entry(org, region, kb) if region else None
    details = [p for p in (entry.email, entry.address) if p] if entry else []
    if details:
        lines.append(f"Volgens de sociale kaart van {org.name}: {', '.join(details)}.")
    return lines


def _region_detail_lines(region: Region) -> List[str]:
    lines = [f"Website: {region.website}."] if region.website else []
    if region.extra:
        lines.append(f"Meer: {region.extra}.")
    if region.name_note:
        lines.append("Let op: de naam van deze organisatie is afgeleid van de CBS-regio.")
    return lines


def _fallback_line(kb: Optional[KnowledgeBase]) -> str:
    vt = _national(kb).contact("veilig_thuis")
    return f"U kunt altijd {vt.name} bellen: {vt.phone}; u spreekt de plaatsnaam in en wordt doorgeschakeld."


def region_answer(resolution: Resolution, org: Organisation, kb: Optional[KnowledgeBase] = None) -> ContactAnswer:
    """Which Veilig Thuis belongs to a place, how to reach it, and how current the data is.

    Ambiguous or unknown places get a question with suggestions, plus the national number, which
    always works: nobody is left without a way to call while the place is being sorted out.
    """
    index = region_index(kb)
    national = _national(kb)
    vt = national.contact("veilig_thuis")
    woonplaats_refs = list(index.woonplaats_sources) if resolution.woonplaats else []
    sources = _labels(list(index.sources) + woonplaats_refs + _availability_refs(vt), kb)
    region = resolution.region
    if resolution.status != "found" or region is None:
        question = (
            "Welke gemeente bedoelt u?"
            if resolution.suggestions
            else "Ik herken deze plaats niet als Nederlandse gemeente. Noemt u de gemeente van de school?"
        )
        lines = [question]
        if region is not None:  # ambiguous, but every candidate lies in one region
            lines += _vt_lines(region, org, kb)
        else:
            lines.append(_fallback_line(kb))
        return ContactAnswer(tuple(lines), ((vt.name, vt.phone),), sources, resolution.suggestions)
    where = resolution.gemeente.name if resolution.gemeente else region.cbs_name
    if resolution.woonplaats and resolution.gemeente:
        where = f"{resolution.woonplaats} (gemeente {resolution.gemeente.name})"
    lines = [f"{where} hoort bij Veilig Thuis-regio {region.cbs_name}: {region.organisation}."]
    lines += _vt_lines(region, org, kb) + _region_detail_lines(region)
    lines.append(f"Indeling volgens CBS {index.data_date}.")
    return ContactAnswer(tuple(lines), ((region.organisation, vt.phone),), sources)


# --- whom to call ----------------------------------------------------------------------------------


def _successor_for(entry: SocialMapEntry, kb: Optional[KnowledgeBase]) -> Optional[Successor]:
    """The successor record of an outdated entry: by its ``successor`` id or, as a safety net, by its name."""
    if entry.successor:
        return next((r for r in _national(kb).successors if r.id == entry.successor), None)
    return _successor_by_name(entry.name, kb)


def _successor_by_name(name: str, kb: Optional[KnowledgeBase]) -> Optional[Successor]:
    plain = normalise(name)
    return next(
        (
            r
            for r in _national(kb).successors
            if any(re.search(rf"\b{re.escape(normalise(n))}\b", plain) for n in r.names)
        ),
        None,
    )


def outdated_names(kb: Optional[KnowledgeBase] = None) -> List[str]:
    """Every normalised name of an organisation that no longer exists (for checks and tests)."""
    return sorted({normalise(n) for r in _national(kb).successors for n in r.names})


def _outdated(entry: SocialMapEntry, kb: Optional[KnowledgeBase]) -> bool:
    return _successor_for(entry, kb) is not None


@dataclass(frozen=True)
class Replacement:
    """A current contact shown instead of an outdated partner: a national contact or a sociale-kaart entry."""

    name: str
    kind_label: Optional[str]
    details: str  # phone(s), else website
    calls: Tuple[Tuple[str, str], ...]


def _replacements(entry: SocialMapEntry, org: Organisation, kb: Optional[KnowledgeBase]) -> List[Replacement]:
    """What to contact instead: the entry's own ``replaced_by`` (local successors first), else the record's."""
    successor = _successor_for(entry, kb)
    national = _national(kb)
    kinds = {k.id: k.label for k in national.kinds}
    local = {e.id: e for e in org.social_map}
    found: List[Replacement] = []
    for target in entry.replaced_by or (successor.replaced_by if successor else []):
        if target in local:
            item = local[target]
            details = ", ".join(p for p in (_entry_phone(item), item.website) if p)
            calls = (_entry_call(item),) if item.phone else ()
            label = kinds.get(item.kind)
            shown_label = label if label and normalise(label) not in normalise(item.name) else None
            found.append(Replacement(item.name, shown_label, details, calls))
        else:
            contact = national.contact(target)
            numbers = " of ".join(phone_text(p) for p in contact.phones)
            found.append(Replacement(contact.name, None, numbers, tuple(_contact_calls(contact.name, contact))))
    return found


def _successor_line(entry: SocialMapEntry, org: Organisation, kb: Optional[KnowledgeBase]) -> str:
    """'Uw protocol noemt nog X; dat heet sinds 2015 Veilig Thuis (0800-2000).' for a new name, or
    '...; dat bestaat sinds 2015 niet meer. <what happened>. Nu: A (kind): number.' for a dissolved body."""
    successor = _successor_for(entry, kb)
    targets = _replacements(entry, org, kb)
    opening = f"Uw protocol noemt nog '{entry.name}'; "
    if successor is None or successor.now is None:
        target = targets[0]
        since = f"sinds {successor.since} " if successor else ""
        return f"{opening}dat heet {since}{target.name} ({target.details})."
    line = f"{opening}dat bestaat sinds {successor.since} niet meer. {render(successor.now, org, kb)}"
    if targets:
        named = [
            f"{t.name}" + (f" ({t.kind_label})" if t.kind_label else "") + (f": {t.details}" if t.details else "")
            for t in targets
        ]
        line += f" Nu: {'; '.join(named)}."
    return line


def _successor_calls(entry: SocialMapEntry, org: Organisation, kb: Optional[KnowledgeBase]) -> List[Tuple[str, str]]:
    return [call for target in _replacements(entry, org, kb) for call in target.calls]


def _successor_refs(entry: SocialMapEntry, kb: Optional[KnowledgeBase]) -> List[SourceRef]:
    successor = _successor_for(entry, kb)
    return [successor.source] if successor else []


def _step_entries(org: Organisation, step: Optional[int]) -> List[SocialMapEntry]:
    """Partners the sociale kaart links to this step (any linked step when no step is known)."""
    return [e for e in org.social_map if (step in e.steps if step is not None else e.steps)]


def _guidance(topic: str, user_role: Optional[str], kb: Optional[KnowledgeBase]) -> List[GuidanceLine]:
    role = user_role or DEFAULT_ROLE
    return [g for g in _national(kb).guidance if g.topic == topic and (not g.roles or role in g.roles)]


def _internal_lines(
    lines: Sequence[GuidanceLine], org: Organisation, kb: Optional[KnowledgeBase]
) -> List[GuidanceLine]:
    """The internal lines worth showing: a line whose people an earlier line already named is dropped
    (when a school's first contact *is* its attention officer, one line says it all)."""
    words = terms(org, kb)
    kept: List[GuidanceLine] = []
    for line in lines:
        named = [words[p] for p in placeholders_in(line.text)]
        shown = [render(k.text, org, kb) for k in kept]
        if not kept or not all(any(n in earlier for earlier in shown) for n in named):
            kept.append(line)
    return kept


def who_to_call(
    step: Optional[int],
    org: Organisation,
    region: Optional[Region],
    user_role: Optional[str],
    kb: Optional[KnowledgeBase] = None,
) -> ContactAnswer:
    """Whom to call now: 112 in danger, the internal contact, Veilig Thuis, the step's local partners.

    Outdated partners (AMK, Bureau Jeugdzorg, Intervence ...) are replaced by a line naming what replaced
    them, so a teacher whose protocol still says AMK learns the number that works today.
    """
    national = _national(kb)
    emergency, vt = national.contact("emergency"), national.contact("veilig_thuis")
    internal = _internal_lines(_guidance("internal", user_role, kb), org, kb)
    vt_notes = _guidance("veilig_thuis", user_role, kb)
    entries = _step_entries(org, step)
    outdated = [e for e in entries if _outdated(e, kb)]
    current = [e for e in entries if not _outdated(e, kb) and e.kind != "veilig_thuis"][:MAX_PARTNERS]
    lines = [f"Direct gevaar? Bel {emergency.phone}."] + [render(g.text, org, kb) for g in internal]
    lines += _vt_lines(region, org, kb) + [render(g.text, org, kb) for g in vt_notes]
    lines += [_entry_line(e) for e in current]
    lines += list(dict.fromkeys(_successor_line(e, org, kb) for e in outdated))
    vt_name = region.organisation if region else vt.name
    calls = [(emergency.name, emergency.phone), (vt_name, vt.phone)] + [_entry_call(e) for e in current if e.phone]
    calls += [c for e in outdated for c in _successor_calls(e, org, kb)]
    refs = [emergency.source] + _availability_refs(vt) + [g.source for g in internal + vt_notes]
    refs += [e.source for e in entries] + [r for e in outdated for r in _successor_refs(e, kb)]
    return ContactAnswer(tuple(lines), _unique_calls(calls), _labels(refs, kb))


def _unique_calls(calls: Iterable[Tuple[str, Optional[str]]]) -> Tuple[Tuple[str, Optional[str]], ...]:
    """One button per number: Veilig Thuis named twice (its region and an AMK successor) is one call."""
    seen: Dict[str, Tuple[str, Optional[str]]] = {}
    for name, phone in calls:
        seen.setdefault(_digits(phone), (name, phone))
    return tuple(seen.values())


# --- the sociale kaart ---------------------------------------------------------------------------


def _query_words(query: str) -> List[str]:
    from spacy.lang.nl.stop_words import STOP_WORDS  # local: the stop list is all we need from spaCy

    return [
        w
        for w in normalise(query).split()
        if len(w) >= MIN_QUERY_WORD and w not in STOP_WORDS and w not in LOOKUP_NOISE
    ]


def _entry_terms(entry: SocialMapEntry, kinds: Dict[str, PartnerKind]) -> List[str]:
    """The words that name an entry: its own name's words and the words for its kind."""
    kind = kinds.get(entry.kind)
    return _name_terms(entry.name) + ([normalise(w) for w in kind.words] if kind else [])


def _name_terms(name: str) -> List[str]:
    return [w for w in normalise(name).split() if len(w) >= MIN_QUERY_WORD and w not in LOOKUP_NOISE]


def _lookup_score(words: Sequence[str], terms: Sequence[str]) -> float:
    """Sum of the best fuzzy match of each query word (or word pair) among an entry's terms."""
    phrases = list(words) + [" ".join(pair) for pair in zip(words, words[1:])]
    total = 0.0
    for phrase in phrases:
        match = process.extractOne(phrase, terms, scorer=fuzz.ratio, score_cutoff=EXTRACT_SCORE)
        total += match[1] if match else 0.0
    return total


T = TypeVar("T")


def _ranked(words: Sequence[str], items: Sequence[T], terms_of: Callable[[T], List[str]]) -> List[Tuple[float, T]]:
    """Items with a positive lookup score, best first (ties keep the order of the source list)."""
    scored = [(_lookup_score(words, terms_of(item)), i, item) for i, item in enumerate(items)]
    return [(score, item) for score, _, item in sorted(scored, key=lambda s: (-s[0], s[1])) if score > 0]


def social_map_lookup(query: str, org: Organisation, kb: Optional[KnowledgeBase] = None) -> List[SocialMapEntry]:
    """Entries of the school's sociale kaart a question names ("het nummer van het zorgloket"), best first."""
    return [entry for _, entry in _scored_entries(_query_words(query), org, kb)]


def _scored_entries(
    words: Sequence[str], org: Organisation, kb: Optional[KnowledgeBase]
) -> List[Tuple[float, SocialMapEntry]]:
    kinds = {k.id: k for k in _national(kb).kinds}
    return _ranked(words, org.social_map, lambda e: _entry_terms(e, kinds))


def _scored_contacts(words: Sequence[str], kb: Optional[KnowledgeBase]) -> List[Tuple[float, Contact]]:
    """National contacts a question names. Only contacts with ``words`` take part: Veilig Thuis and 112
    have their own routes (region, whom to call), so they never crowd out a local partner."""
    offered = [c for c in _national(kb).contacts if c.words]
    return _ranked(words, offered, lambda c: _name_terms(c.name) + [normalise(w) for w in c.words])


def _digits(phone: Optional[str]) -> str:
    return re.sub(r"\D", "", phone or "")


def _national_line(contact: Contact) -> str:
    line = _contact_line(contact.name, contact)
    return f"{line} Let op: {contact.caveat}." if contact.caveat else line


def social_map_answer(query: str, org: Organisation, kb: Optional[KnowledgeBase] = None) -> ContactAnswer:
    """The partners a question names, from the school's sociale kaart and the national contacts.

    Both lists are ranked together and only the clear matches are kept: "Centrum Seksueel Geweld"
    answers with the CSG, not with every partner whose name contains "centrum" or "geweld". An outdated
    partner is answered with its successor; a national number the kaart already gave is not repeated.
    """
    words = _query_words(query)
    local, national = _scored_entries(words, org, kb), _scored_contacts(words, kb)
    best = max([score for score, _ in local] + [score for score, _ in national], default=0.0)
    entries = [e for score, e in local if score >= best * CLEAR_MATCH][:MAX_PARTNERS]
    lines = [_successor_line(e, org, kb) if _outdated(e, kb) else _entry_line(e) for e in entries]
    calls = [c for e in entries if _outdated(e, kb) for c in _successor_calls(e, org, kb)]
    calls += [_entry_call(e) for e in entries if e.phone and not _outdated(e, kb)]
    known = {_digits(phone) for _, phone in calls}
    extra = [
        c for score, c in national if score >= best * CLEAR_MATCH and not any(_digits(p) in known for p in c.phones)
    ]
    extra = extra[: MAX_PARTNERS - len(entries)]
    if not entries and not extra:
        line = f"Dat staat niet op de sociale kaart van {org.name}. {_fallback_line(kb)}"
        vt = _national(kb).contact("veilig_thuis")
        return ContactAnswer((line,), ((vt.name, vt.phone),), _labels(_availability_refs(vt), kb))
    lines += [_national_line(c) for c in extra]
    calls += [call for c in extra for call in _contact_calls(c.name, c)]
    refs = [e.source for e in entries] + [r for e in entries for r in _successor_refs(e, kb)]
    refs += [r for c in extra for r in _availability_refs(c)]
    return ContactAnswer(tuple(dict.fromkeys(lines)), _unique_calls(calls), _labels(refs, kb))


# --- the school's region ---------------------------------------------------------------------------


# Asked when no region is known; the user's next message naming a place answers it (actions/contacts.py).
# The example steers to a phrasing the NLU reads well; a bare name works too.
SCHOOL_QUESTION = (
    "In welke gemeente staat uw school? Dan noem ik de Veilig Thuis van uw regio. Typ bijvoorbeeld: school in Hengelo."
)


def school_place(
    org: Organisation, user_gemeente: Optional[str], kb: Optional[KnowledgeBase] = None
) -> Optional[Resolution]:
    """Where the school is: the user's earlier answer, else the deployment (env), else the profile.

    Only a place that resolves to one region counts; an ambiguous setting falls through to the next.
    """
    for candidate in (user_gemeente, os.environ.get(SCHOOL_GEMEENTE_ENV), org.gemeente):
        if candidate:
            resolution = resolve_gemeente(candidate, kb)
            if resolution.status == "found":
                return resolution
    return None


def states_school_place(message: str) -> bool:
    """Whether a message that names a place says it is the school's ("Goor", "onze school staat in Sneek")
    rather than asks about another place ("En in Sneek?", "welk Veilig Thuis hoort bij Goor?").

    Why: only the user's statement may change the school's stored gemeente; a question about a place is
    answered and forgotten (issue 12: "En in Sneek?" overwrote the school's gemeente).
    """
    words = set(normalise(message).split())
    return "?" not in message and not words & ASKING_WORDS


def default_region(
    org: Organisation, user_gemeente: Optional[str], kb: Optional[KnowledgeBase] = None
) -> Optional[Region]:
    """The region to use when the user names none (see ``school_place``)."""
    resolution = school_place(org, user_gemeente, kb)
    return resolution.region if resolution else None


# --- cross-checks for `python -m bot check` --------------------------------------------------------


def _check_regions(index: RegionIndex) -> List[str]:
    where = "knowledge/regions"
    problems = []
    if len(index.gemeenten) != GEMEENTE_COUNT:
        problems.append(f"{where}: {len(index.gemeenten)} gemeenten, expected {GEMEENTE_COUNT}")
    if len(index.regions) != REGION_COUNT:
        problems.append(f"{where}: {len(index.regions)} regions, expected {REGION_COUNT}")
    problems += [
        f"{where}/gemeenten.yml: {g.name}: unknown region {g.vt_code}"
        for g in index.gemeenten.values()
        if g.vt_code not in index.regions
    ]
    for region in index.regions.values():
        count = sum(1 for g in index.gemeenten.values() if g.vt_code == region.code)
        if count == 0 or count != region.gemeente_count:
            problems.append(
                f"{where}/regions.yml: {region.code} has {count} gemeenten, gemeente_count says {region.gemeente_count}"
            )
        claims = [int(n) for n in re.findall(r"(\d+)\s+gemeenten", region.extra or "")]
        problems += [
            f"{where}/regions.yml: {region.code}: a note says {n} gemeenten, the mapping has {count}"
            for n in claims
            if n != count
        ]
    unknown = sorted({c for codes in index.woonplaatsen.values() for c in codes if c not in index.gemeenten})
    problems += [f"{where}/woonplaatsen.yml: unknown gemeente code {code}" for code in unknown]
    return problems


def _check_national(national: NationalContacts) -> List[str]:
    ids = {c.id for c in national.contacts}
    problems = [
        f"knowledge/contacts.yml: successor {s.id}: unknown replaced_by '{target}'"
        for s in national.successors
        for target in s.replaced_by
        if target not in ids
    ]
    problems += [
        f"knowledge/contacts.yml: {c.id}: the quote must contain the phone number {phone}"
        for c in national.contacts
        for phone in c.phones
        if phone not in (c.source.quote or "")
    ]
    return problems


def _check_social_maps(kb: KnowledgeBase, national: NationalContacts) -> List[str]:
    """Every outdated partner is marked with its successor record, and every replacement id is known."""
    contact_ids = {c.id for c in national.contacts}
    successor_ids = {s.id for s in national.successors}
    kinds = {k.id for k in national.kinds}
    problems = []
    for org in organisations(kb).values():
        where = f"knowledge/organisations/{org.id}.yml"
        local_ids = {e.id for e in org.social_map}
        if org.gemeente and resolve_gemeente(org.gemeente, kb).status != "found":
            problems.append(f"{where}: gemeente '{org.gemeente}' does not resolve to one gemeente")
        for entry in org.social_map:
            problems += [
                f"{where}: {entry.id}: unknown replaced_by '{target}'"
                for target in entry.replaced_by
                if target not in contact_ids | local_ids
            ]
            if entry.successor and entry.successor not in successor_ids:
                problems.append(f"{where}: {entry.id}: unknown successor '{entry.successor}'")
            if entry.replaced_by and not entry.successor:
                problems.append(f"{where}: {entry.id}: replaced_by without successor")
            if entry.kind not in kinds:
                problems.append(f"{where}: {entry.id}: unknown kind '{entry.kind}' (kinds in contacts.yml)")
            if entry.successor is None and _successor_by_name(entry.name, kb):
                problems.append(f"{where}: {entry.id}: names an organisation that no longer exists; set successor")
    return problems


@check("contacts")
def check_contacts(kb: KnowledgeBase) -> List[str]:
    """Counts and links the schemas cannot see: 342 gemeenten in 25 regions, every code and id known."""
    national = _national(kb)
    return _check_regions(region_index(kb)) + _check_national(national) + _check_social_maps(kb, national)
