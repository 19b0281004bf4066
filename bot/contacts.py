"""Regional contacts: which Veilig Thuis and which local partners belong to a school, and whom to call.

Why this module exists: a teacher in doubt must reach the right people at once. Veilig Thuis is one
national number (0800-2000) that routes to 25 regional organisations; which region a school belongs to
follows the CBS division of 342 gemeenten (``knowledge/regions/``). Teachers type place names as they
speak them (Den Bosch, Sudwest Fryslan, "enschde"), so matching tolerates spelling, but it must never
answer with a wrong region: when in doubt it asks, with suggestions. Local partners come from each
school's own sociale kaart (``knowledge/organisations/``); organisations that no longer exist (AMK,
Steunpunt Huiselijk Geweld) are never shown as current, only their successor.

No Rasa import: ``actions/contacts.py`` calls these pure functions and turns suggestions into buttons.
"""
from __future__ import annotations

import os
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, Dict, FrozenSet, Iterable, List, Literal, Optional, Sequence, Tuple, TypeVar

from pydantic import root_validator, validator
from rapidfuzz import fuzz, process

from bot.knowledge import KnowledgeBase, Model, SourceRef, Statement, knowledge, source_label
from bot.profiles import Organisation, SocialMapEntry, organisations, placeholders_in, render, terms

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
# Words that introduce a place in a Dutch sentence ("voor enschede", "bij Hengelo", "gemeente Oss").
# "Veilig Thuis Zwolle" / "VT Zwolle" name the place right after the organisation.
PLACE_CUES = frozenset({"in", "bij", "voor", "uit", "vanuit", "te", "van", "rond", "naar", "nabij", "buurt",
                        "gemeente", "regio", "omgeving", "plaats", "woonplaats", "thuis", "vt"})
# Leading words of a place answer that are not part of the name ("gemeente Hengelo").
LEADING_FILLER = re.compile(r"^(?:de |het )?(?:gemeente|regio|veilig thuis|vt|plaats) ")
SENTENCE_END = frozenset({"?", "!", ";", ":"})
NER_PLACE_LABELS = frozenset({"LOC", "GPE"})
SPACY_MODEL = "nl_core_news_sm"
MAX_PARTNERS = 4
CLEAR_MATCH = 0.5  # a lookup hit scoring under half the best one matched only a side word ("centrum")
MIN_QUERY_WORD = 3
# Words of a lookup question that never name a partner ("wat is het nummer van ...").
LOOKUP_NOISE = frozenset({"nummer", "telefoonnummer", "telefoon", "bellen", "contact", "adres", "email",
                          "mail", "website", "gemeente", "organisatie", "school", "welk", "welke"})


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


class Gemeente(Model):
    """A gemeente with its CBS code, its Veilig Thuis region and the other names people use for it."""

    code: str
    name: str
    vt_code: str
    aliases: List[str] = []

    @validator("code")
    def _cbs_code(cls, value: str) -> str:
        if not re.fullmatch(r"GM\d{4}", value):
            raise ValueError("gemeente code must look like GM0153")
        return value


class RegionFile(Model):
    """A file in knowledge/regions/: either the regions or the gemeenten, each with its provenance."""

    source: SourceRef
    data_date: str
    alias_note: Optional[str] = None
    regions: List[Region] = []
    gemeenten: List[Gemeente] = []

    @root_validator(skip_on_failure=True)
    def _one_kind(cls, values: Dict) -> Dict:
        if bool(values.get("regions")) == bool(values.get("gemeenten")):
            raise ValueError("a region file holds either `regions:` or `gemeenten:`, not both or neither")
        return values


class Contact(Model):
    """A national contact (number, chat) with when and for whom it is meant."""

    id: str
    name: str
    phone: Optional[str] = None
    availability: Optional[str] = None
    audience: Optional[str] = None
    caveat: Optional[str] = None
    urls: List[str] = []
    words: List[str] = []  # what teachers call it; set only for contacts the sociale-kaart lookup offers
    source: SourceRef


class Successor(Model):
    """An organisation older seeds still name, and the contact that replaced it."""

    id: str
    name: str
    names: List[str]
    old_phone: Optional[str] = None
    replaced_by: str
    since: int
    source: SourceRef


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
    """Gemeenten and regions by code, plus every normalised name/alias -> the gemeente codes using it."""

    regions: Dict[str, Region]
    gemeenten: Dict[str, Gemeente]
    names: Dict[str, FrozenSet[str]]
    region_names: Dict[str, str]
    keys: Tuple[str, ...]
    data_date: str
    sources: Tuple[SourceRef, ...]


def _build_index(kb: KnowledgeBase) -> RegionIndex:
    files: List[RegionFile] = kb.many("regions/")
    regions = {r.code: r for f in files for r in f.regions}
    gemeenten = {g.code: g for f in files for g in f.gemeenten}
    names: Dict[str, set] = {}
    for gemeente in gemeenten.values():
        for name in [gemeente.name] + gemeente.aliases:
            names.setdefault(normalise(name), set()).add(gemeente.code)
    region_names = {normalise(n): r.code for r in regions.values() for n in (r.cbs_name, r.organisation)}
    return RegionIndex(
        regions=regions, gemeenten=gemeenten, names={k: frozenset(v) for k, v in names.items()},
        region_names=region_names, keys=tuple(names), data_date=max(f.data_date for f in files),
        sources=tuple(f.source for f in files),
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
    return (kb or knowledge()).one("contacts.yml")


# --- resolving a place name ----------------------------------------------------------------------


@dataclass(frozen=True)
class Resolution:
    """The outcome of matching a place name. ``found`` may carry only a region (the user named one)."""

    status: str  # "found" | "ambiguous" | "unknown"
    gemeente: Optional[Gemeente]
    region: Optional[Region]
    suggestions: Tuple[str, ...] = ()


def _shared_region(codes: Iterable[str], index: RegionIndex) -> Optional[Region]:
    """The region all these gemeenten belong to, or None when they differ."""
    vt_codes = {index.gemeenten[c].vt_code for c in codes}
    return index.regions[vt_codes.pop()] if len(vt_codes) == 1 else None


def _from_codes(codes: Sequence[str], index: RegionIndex) -> Resolution:
    if len(codes) == 1:
        gemeente = index.gemeenten[codes[0]]
        return Resolution("found", gemeente, index.regions[gemeente.vt_code])
    names = tuple(sorted(index.gemeenten[c].name for c in codes))[:MAX_SUGGESTIONS]
    return Resolution("ambiguous", None, _shared_region(codes, index), names)


def _exact(query: str, index: RegionIndex) -> Optional[Resolution]:
    for candidate in dict.fromkeys((query, LEADING_FILLER.sub("", query))):
        codes = index.names.get(candidate)
        if codes:
            return _from_codes(sorted(codes), index)
        region_code = index.region_names.get(candidate)
        if region_code:
            return Resolution("found", None, index.regions[region_code])
    return None


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

    Exact names and aliases win (a name two gemeenten share, Bergen, is ambiguous). Otherwise the
    closest names by edit similarity: found only when the best is clearly ahead of the runner-up.
    """
    index = region_index(kb)
    query = normalise(text)
    if not query:
        return Resolution("unknown", None, None)
    exact = _exact(query, index)
    if exact:
        return exact
    query = LEADING_FILLER.sub("", query)
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


@lru_cache(maxsize=1)
def _nlp():  # type: ignore[no-untyped-def]
    """The Dutch spaCy pipeline, loaded once per process (it takes about a second)."""
    import spacy  # local: only extraction needs it, and importing spaCy is slow

    return spacy.load(SPACY_MODEL, disable=["lemmatizer"])


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
    calls: Tuple[Tuple[str, str], ...]
    sources: Tuple[str, ...]
    suggestions: Tuple[str, ...] = ()


def _labels(refs: Iterable[SourceRef], kb: Optional[KnowledgeBase]) -> Tuple[str, ...]:
    return tuple(dict.fromkeys(source_label(r, kb) for r in refs))


def _contact_line(name: str, contact: Contact) -> str:
    """'Veilig Thuis Twente: 0800-2000 (gratis, ...).' for a national contact under a local name."""
    details = "; ".join(p for p in (contact.availability, contact.audience) if p)
    return f"{name}: {contact.phone}" + (f" ({details})." if details else ".")


def _entry_line(entry: SocialMapEntry) -> str:
    parts = [p for p in (entry.phone, entry.email, entry.website, entry.address) if p]
    return f"{entry.name}: {', '.join(parts)}." if parts else f"{entry.name}."


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
    sources = _labels(list(index.sources) + [vt.source], kb)
    region = resolution.region
    if resolution.status != "found" or region is None:
        question = ("Welke gemeente bedoelt u?" if resolution.suggestions
                    else "Ik herken deze plaats niet als Nederlandse gemeente. Noemt u de gemeente van de school?")
        lines = [question]
        if region is not None:  # ambiguous, but every candidate lies in one region
            lines += _vt_lines(region, org, kb)
        else:
            lines.append(_fallback_line(kb))
        return ContactAnswer(tuple(lines), ((vt.name, vt.phone),), sources, resolution.suggestions)
    where = resolution.gemeente.name if resolution.gemeente else region.cbs_name
    lines = [f"{where} hoort bij Veilig Thuis-regio {region.cbs_name}: {region.organisation}."]
    lines += _vt_lines(region, org, kb) + _region_detail_lines(region)
    lines.append(f"Indeling volgens CBS {index.data_date}.")
    return ContactAnswer(tuple(lines), ((region.organisation, vt.phone),), sources)


# --- whom to call ----------------------------------------------------------------------------------


def _successor_for(entry: SocialMapEntry, kb: Optional[KnowledgeBase]) -> Optional[Successor]:
    """The successor record of an outdated entry: by ``replaced_by`` or, as a safety net, by its name."""
    name = normalise(entry.name)
    for successor in _national(kb).successors:
        if any(re.search(rf"\b{re.escape(normalise(n))}\b", name) for n in successor.names):
            return successor
    return None


def _outdated(entry: SocialMapEntry, kb: Optional[KnowledgeBase]) -> bool:
    return entry.replaced_by is not None or _successor_for(entry, kb) is not None


def _replacement(entry: SocialMapEntry, kb: Optional[KnowledgeBase]) -> Contact:
    """The current national contact that replaced an outdated entry."""
    successor = _successor_for(entry, kb)
    return _national(kb).contact(entry.replaced_by or successor.replaced_by)  # type: ignore[union-attr]


def _successor_line(entry: SocialMapEntry, kb: Optional[KnowledgeBase]) -> str:
    successor = _successor_for(entry, kb)
    target = _replacement(entry, kb)
    since = f"sinds {successor.since} " if successor else ""
    return f"Uw protocol noemt nog '{entry.name}'; dat heet {since}{target.name} ({target.phone})."


def _step_entries(org: Organisation, step: Optional[int]) -> List[SocialMapEntry]:
    """Partners the sociale kaart links to this step (any linked step when no step is known)."""
    return [e for e in org.social_map if (step in e.steps if step is not None else e.steps)]


def _guidance(topic: str, user_role: Optional[str], kb: Optional[KnowledgeBase]) -> List[GuidanceLine]:
    role = user_role or DEFAULT_ROLE
    return [g for g in _national(kb).guidance if g.topic == topic and (not g.roles or role in g.roles)]


def _internal_lines(lines: Sequence[GuidanceLine], org: Organisation, kb: Optional[KnowledgeBase]
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


def who_to_call(step: Optional[int], org: Organisation, region: Optional[Region], user_role: Optional[str],
                kb: Optional[KnowledgeBase] = None) -> ContactAnswer:
    """Whom to call now: 112 in danger, the internal contact, Veilig Thuis, the step's local partners.

    Outdated partners (AMK, Steunpunt Huiselijk Geweld) are replaced by a line naming their
    successor, so a teacher whose protocol still says AMK learns the number that works today.
    """
    national = _national(kb)
    emergency, vt = national.contact("emergency"), national.contact("veilig_thuis")
    internal = _internal_lines(_guidance("internal", user_role, kb), org, kb)
    vt_notes = _guidance("veilig_thuis", user_role, kb)
    entries = _step_entries(org, step)
    current = [e for e in entries if not _outdated(e, kb) and e.kind != "veilig_thuis"][:MAX_PARTNERS]
    lines = [f"Direct gevaar? Bel {emergency.phone}."] + [render(g.text, org, kb) for g in internal]
    lines += _vt_lines(region, org, kb) + [render(g.text, org, kb) for g in vt_notes]
    lines += [_entry_line(e) for e in current]
    lines += list(dict.fromkeys(_successor_line(e, kb) for e in entries if _outdated(e, kb)))
    vt_name = region.organisation if region else vt.name
    calls = ((emergency.name, emergency.phone), (vt_name, vt.phone)) + tuple(
        (e.name, e.phone) for e in current if e.phone)
    refs = [emergency.source, vt.source] + [g.source for g in internal + vt_notes] + [e.source for e in entries]
    return ContactAnswer(tuple(lines), calls, _labels(refs, kb))


# --- the sociale kaart ---------------------------------------------------------------------------


def _query_words(query: str) -> List[str]:
    from spacy.lang.nl.stop_words import STOP_WORDS  # local: the stop list is all we need from spaCy

    return [w for w in normalise(query).split()
            if len(w) >= MIN_QUERY_WORD and w not in STOP_WORDS and w not in LOOKUP_NOISE]


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


def _scored_entries(words: Sequence[str], org: Organisation, kb: Optional[KnowledgeBase]
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
    lines = [_successor_line(e, kb) if _outdated(e, kb) else _entry_line(e) for e in entries]
    calls = [(c.name, c.phone) for c in (_replacement(e, kb) for e in entries if _outdated(e, kb))]
    calls += [(e.name, e.phone) for e in entries if e.phone and not _outdated(e, kb)]
    known = {_digits(phone) for _, phone in calls}
    extra = [c for score, c in national if score >= best * CLEAR_MATCH and _digits(c.phone) not in known]
    extra = extra[:MAX_PARTNERS - len(entries)]
    if not entries and not extra:
        line = f"Dat staat niet op de sociale kaart van {org.name}. {_fallback_line(kb)}"
        vt = _national(kb).contact("veilig_thuis")
        return ContactAnswer((line,), ((vt.name, vt.phone),), _labels([vt.source], kb))
    lines += [_national_line(c) for c in extra]
    calls += [(c.name, c.phone) for c in extra if c.phone]
    refs = [e.source for e in entries] + [c.source for c in extra]
    return ContactAnswer(tuple(dict.fromkeys(lines)), tuple(dict.fromkeys(calls)),  # type: ignore[arg-type]
                         _labels(refs, kb))


# --- the school's region ---------------------------------------------------------------------------


# Asked when no region is known; the user's next message naming a place answers it (actions/contacts.py).
# The example steers to a phrasing the NLU reads well; a bare name works too.
SCHOOL_QUESTION = ("In welke gemeente staat uw school? Dan noem ik de Veilig Thuis van uw regio. "
                   "Typ bijvoorbeeld: school in Hengelo.")


def school_place(org: Organisation, user_gemeente: Optional[str], kb: Optional[KnowledgeBase] = None
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


def default_region(org: Organisation, user_gemeente: Optional[str], kb: Optional[KnowledgeBase] = None
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
    problems += [f"{where}/gemeenten.yml: {g.name}: unknown region {g.vt_code}"
                 for g in index.gemeenten.values() if g.vt_code not in index.regions]
    for region in index.regions.values():
        count = sum(1 for g in index.gemeenten.values() if g.vt_code == region.code)
        if count == 0 or count != region.gemeente_count:
            problems.append(f"{where}/regions.yml: {region.code} has {count} gemeenten, "
                            f"gemeente_count says {region.gemeente_count}")
    return problems


def _check_national(national: NationalContacts) -> List[str]:
    ids = {c.id for c in national.contacts}
    problems = [f"knowledge/contacts.yml: successor {s.id}: unknown replaced_by '{s.replaced_by}'"
                for s in national.successors if s.replaced_by not in ids]
    problems += [f"knowledge/contacts.yml: {c.id}: the quote must contain the phone number {c.phone}"
                 for c in national.contacts if c.phone and c.phone not in (c.source.quote or "")]
    return problems


def _check_social_maps(kb: KnowledgeBase, national: NationalContacts) -> List[str]:
    contact_ids = {c.id for c in national.contacts}
    kinds = {k.id for k in national.kinds}
    problems = []
    for org in organisations(kb).values():
        where = f"knowledge/organisations/{org.id}.yml"
        if org.gemeente and resolve_gemeente(org.gemeente, kb).status != "found":
            problems.append(f"{where}: gemeente '{org.gemeente}' does not resolve to one gemeente")
        for entry in org.social_map:
            if entry.replaced_by and entry.replaced_by not in contact_ids:
                problems.append(f"{where}: {entry.id}: unknown replaced_by '{entry.replaced_by}'")
            if entry.kind not in kinds:
                problems.append(f"{where}: {entry.id}: unknown kind '{entry.kind}' (kinds in contacts.yml)")
            if entry.replaced_by is None and _successor_for(entry, kb):
                problems.append(f"{where}: {entry.id}: names an organisation that no longer exists; "
                                "set replaced_by")
    return problems


def check_contacts(kb: KnowledgeBase) -> List[str]:
    """Counts and links the schemas cannot see: 342 gemeenten in 25 regions, every code and id known."""
    national = _national(kb)
    return _check_regions(region_index(kb)) + _check_national(national) + _check_social_maps(kb, national)
