"""Case guidance along the five steps of the meldcode, special situations and the FAQ.

Why this module exists: a teacher with a worried feeling about a pupil needs to know, for *this* case,
what to do now, who does it at their school, and what not to do. The protocol itself lives in
``knowledge/steps.yml``, ``situations.yml`` and ``faq/*.yml`` (every statement sourced); this module
only validates that data and turns it into short, role-tailored replies in the school's own words.
No Rasa import: the actions layer calls these pure functions and maps move ids to buttons.

Move ids returned in ``Guidance.next_moves`` (the Rasa layer maps them to buttons):
``progress:<milestone_id>``, ``step:<n>``, ``weighing:start``, ``note:<kind>`` (kinds in
``NOTE_KINDS``), ``contacts:who_to_call`` and ``faq:<faq_id>``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Pattern, Sequence, Tuple, TypeVar

from pydantic import validator

from bot.notes import NOTE_KINDS  # the one list of note kinds (seed 002)
from bot.knowledge import KnowledgeBase, Model, SourceRef, Statement, check, knowledge, source_label
from bot.profiles import USER_ROLES, Organisation, organisations, render

FIRST_STEP, LAST_STEP = 1, 5
FIXED_MOVES = ("weighing:start", "contacts:who_to_call")
# Whose view guidance takes when the user's role is unknown: most users are teachers.
DEFAULT_ROLE = "teacher"
MAX_ACTIONS = 3
MAX_LINES = 6
MAX_MOVES = 4
# Fewer phrasings than this and neither the classifier nor the retrieval index learns how staff ask it.
MIN_FAQ_VARIANTS = 5
REQUIRED_SITUATIONS = (
    "acute_danger",
    "sexual_violence",
    "suicide_risk",
    "honour_based",
    "staff_suspect",
    "pupil_violence",
)
ACUTE_DANGER = "acute_danger"
# Urgent pitfalls shown per step: more would push the actions out of the six lines.
MAX_URGENT_PITFALLS = 1
StatementT = TypeVar("StatementT", bound=Statement)
SNAKE_CASE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
# Fixed frames around the protocol statements (not protocol content themselves).
PITFALL_PREFIX = "Let op: "
OPEN_PREFIX = "Nog niet afgerond: stap "


# --- knowledge schema ----------------------------------------------------------------------------


def _snake_case_id(value: str) -> str:
    """Ids become move ids (``faq:<id>``), retrieval topics and button entities: snake_case keeps them
    valid in all three."""
    if not SNAKE_CASE.match(value):
        raise ValueError("id must be snake_case")
    return value


def _repeated(ids: Sequence[str]) -> List[str]:
    return sorted({i for i in ids if list(ids).count(i) > 1})


class Milestone(Model):
    """A concrete thing done in a step. ``core``: doing it completes the step (the case moves on)."""

    id: str
    label: str
    core: bool = False

    _snake_case = validator("id", allow_reuse=True)(lambda cls, value: _snake_case_id(value))


class Pitfall(Statement):
    """A common mistake in a step. ``school_types`` limits it to profiles all of whose school types it
    names (normvervaging in SO/SBO is no warning for a PO school, nor for the national profile that
    covers every type). ``urgent``: a mistake that can endanger the child (talking to the parents before
    calling Veilig Thuis about VGV); shown first whenever it fits, not only when it is first in the list."""

    school_types: List[str] = []
    urgent: bool = False


class Decision(Statement):
    """One of the two separate decisions of step 5 since 2019 (I: melden? II: hulp?)."""

    id: str


class LegacyNote(Statement):
    """Maps a pre-2019 wording (stap 5a/5b) to the current rule, shown to schools whose own
    protocol (``docs``: source document ids) still uses the old wording."""

    docs: List[str]


class Step(Model):
    number: int
    title: str
    purpose: Statement
    actions: List[Statement]
    pitfalls: List[Pitfall] = []
    milestones: List[Milestone]
    moves: List[str]
    decisions: List[Decision] = []
    legacy_note: Optional[LegacyNote] = None
    remind_acute: bool = False

    @validator("milestones")
    def _has_core(cls, value: List[Milestone]) -> List[Milestone]:
        if not any(m.core for m in value):
            raise ValueError("every step needs at least one core milestone")
        return value


class StepsKnowledge(Model):
    """knowledge/steps.yml: the five steps, plus the rule that their order is not mandatory."""

    order: Statement
    acute_reminder: Statement
    steps: List[Step]

    @validator("steps")
    def _five_steps_in_order(cls, value: List[Step]) -> List[Step]:
        if [s.number for s in value] != list(range(FIRST_STEP, LAST_STEP + 1)):
            raise ValueError("steps must be numbered 1..5, in order, each once")
        repeated = _repeated([m.id for s in value for m in s.milestones])
        if repeated:
            raise ValueError(f"milestone ids must be unique, repeated: {repeated}")
        return value


class Call(Model):
    """A number to call first in a special situation."""

    name: str
    phone: str
    when: str
    source: SourceRef


class TermPairs(Model):
    """Two word lists that signal something only together, in one message: a staff member ('de juf')
    and an act of harm ('trok aan zijn oor'); neither word alone says enough."""

    first: List[str]
    second: List[str]


class AcuteContext(Model):
    """What makes a conversation acute across turns (acute_danger only): after an earlier message that
    signals abuse, a message with an ``immediacy`` phrase, or with a ``soon`` and a ``contact`` word
    ('vanavond' + 'past op'), needs the acute route, though neither message alone says 'gevaar'."""

    immediacy: List[str]
    soon: List[str]
    contact: List[str]
    abuse_terms: List[str]


class Situation(Model):
    """A route that overrides the normal flow. ``first`` names whom to call, before anything else."""

    id: str
    title: str
    urgent: bool
    acute: bool = False  # an acute route: 112 first, its danger terms win whatever the classifier said
    call: List[Call] = []
    first: Statement
    reply: List[Statement]
    danger_terms: List[str] = []  # acute routes only
    danger_pairs: Optional[TermPairs] = None  # acute routes only: words that signal the route together
    signal_terms: List[str] = []  # other situations: route here when the classifier is unsure
    signal_pairs: Optional[TermPairs] = None  # the same, for words that only count together
    context: Optional[AcuteContext] = None  # acute_danger only

    @validator("first")
    def _names_every_number(cls, value: Statement, values: Dict[str, Any]) -> Statement:
        missing = [c.phone for c in values.get("call", []) if c.phone not in value.text]
        if missing:
            raise ValueError(f"the first line must name every number in call: {missing}")
        if value.source.local:
            raise ValueError("the first line is the national rule; a school's own addition goes in reply")
        return value


class SituationsKnowledge(Model):
    situations: List[Situation]

    @validator("situations")
    def _required_present(cls, value: List[Situation]) -> List[Situation]:
        ids = [s.id for s in value]
        missing = [i for i in REQUIRED_SITUATIONS if i not in ids]
        if missing or _repeated(ids):
            raise ValueError(f"situation ids must be unique and include {list(REQUIRED_SITUATIONS)}")
        acute = next(s for s in value if s.id == ACUTE_DANGER)
        if not acute.danger_terms or acute.context is None:
            raise ValueError("acute_danger needs danger_terms and context (the safety net must never miss it)")
        if any((s.danger_terms or s.danger_pairs) and not s.acute for s in value):
            raise ValueError("only acute routes (acute: true) have danger_terms; other situations use signal_terms")
        if any(s.context for s in value if s.id != ACUTE_DANGER):
            raise ValueError("only acute_danger has a context")
        if any(s.acute and not s.danger_terms for s in value):
            raise ValueError("every acute route needs danger_terms")
        return value


class FaqEntry(Model):
    """One question staff ask, answered short first (``answer``), then ``detail``, every sentence sourced.

    ``variants`` are other real ways to ask it: training examples of the intent ``faq`` and retrieval
    documents, generated into Rasa's data from here so the two never drift apart.
    """

    id: str
    question: str
    variants: List[str]
    answer: List[Statement]
    detail: List[Statement] = []
    asked_at: List[str] = []  # public pages where staff ask this question (why the entry exists)

    _snake_case = validator("id", allow_reuse=True)(lambda cls, value: _snake_case_id(value))

    @validator("answer")
    def _short_answer(cls, value: List[Statement]) -> List[Statement]:
        if not 1 <= len(value) <= 2:
            raise ValueError("the short answer is one or two statements; put the rest in 'detail'")
        return value

    @validator("variants")
    def _enough_variants(cls, value: List[str]) -> List[str]:
        if len(value) < MIN_FAQ_VARIANTS:
            raise ValueError(f"an entry needs at least {MIN_FAQ_VARIANTS} variants of its question")
        return value

    def statements(self) -> List[Statement]:
        return [*self.answer, *self.detail]


class FaqKnowledge(Model):
    """One file of ``knowledge/faq/``; ids are unique across all of them (see ``faq_entries``)."""

    faq: List[FaqEntry]


def _steps(kb: Optional[KnowledgeBase]) -> StepsKnowledge:
    steps: StepsKnowledge = (kb or knowledge()).one("steps.yml")
    return steps


def _situations(kb: Optional[KnowledgeBase]) -> SituationsKnowledge:
    situations: SituationsKnowledge = (kb or knowledge()).one("situations.yml")
    return situations


def faq_entries(kb: Optional[KnowledgeBase] = None) -> Tuple[FaqEntry, ...]:
    """Every FAQ entry of every file in ``knowledge/faq/``, in file order."""
    return tuple(entry for part in (kb or knowledge()).many("faq/") for entry in part.faq)


def _step(number: int, kb: Optional[KnowledgeBase]) -> Step:
    return _steps(kb).steps[number - FIRST_STEP]


def _milestone_step(milestone: str, kb: Optional[KnowledgeBase]) -> Tuple[Step, Milestone]:
    for step in _steps(kb).steps:
        for item in step.milestones:
            if item.id == milestone:
                return step, item
    raise ValueError(f"unknown milestone '{milestone}'")


# --- case state ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseState:
    """Where a case stands: the current step (None = no case yet) and the milestones done."""

    step: Optional[int]
    done: FrozenSet[str] = frozenset()


def start_case() -> CaseState:
    return CaseState(step=FIRST_STEP)


def record_progress(state: CaseState, milestone: str, kb: Optional[KnowledgeBase] = None) -> CaseState:
    """Mark a milestone done; a core milestone moves the case to the step after its own.

    Steps may be taken out of order and repeated (seed 003 §2, seed 004), so recording an earlier
    milestone again never moves the case back; recording progress without a case starts one.
    """
    step, item = _milestone_step(milestone, kb)
    current = state.step or FIRST_STEP
    if item.core:
        current = max(current, min(step.number + 1, LAST_STEP))
    return CaseState(step=current, done=state.done | {milestone})


def go_to_step(state: CaseState, step: int) -> CaseState:
    """Explicit jump (the user chose a step); milestones already done stay done."""
    if isinstance(step, bool) or not isinstance(step, int) or not FIRST_STEP <= step <= LAST_STEP:
        raise ValueError(f"step must be an integer from {FIRST_STEP} to {LAST_STEP}, got {step!r}")
    return replace(state, step=step)


# What a saved dossier note of each kind (``bot.notes.NOTE_KINDS``) says was done. The one place where
# a record moves the case: after a stap-3 conversation note, "wat moet ik nu doen?" shows stap 4.
NOTE_MILESTONES: Dict[str, Tuple[str, ...]] = {
    "signaal": ("signals_recorded",),
    "consultatie": ("colleague_consulted",),
    "gesprek": ("parents_talked",),
    "weging": ("weighing_done",),
    "melding": ("reported_to_vt",),
    "vervolg": ("effects_followed",),
}
_VEILIG_THUIS = re.compile(r"veilig\s*thuis|\bvt\b|0800.?2000", re.I)
_PARENT = re.compile(r"\b(ouders?|moeder|vader|mama|papa|verzorgers?|stiefvader|stiefmoeder|pleegouders?)\b", re.I)
_PUPIL = re.compile(r"\b(leerling|kind|jongere|jongen|meisje|zoon|dochter)\b", re.I)


def note_milestones(kind: str, fields: Mapping[str, object]) -> Tuple[str, ...]:
    """The milestones a saved note of ``kind`` records, read from its fields where the kind covers more
    than one: a consultation with Veilig Thuis is its advice, a conversation names parent and/or pupil,
    a melding discussed with the parent beforehand also records that."""
    if kind == "consultatie" and _VEILIG_THUIS.search(str(fields.get("met_wie") or "")):
        return ("vt_advice_asked",)
    if kind == "gesprek":
        who = str(fields.get("met_wie") or "")
        talked = (("parents_talked",) if _PARENT.search(who) or not _PUPIL.search(who) else ()) + (
            ("pupil_talked",) if _PUPIL.search(who) else ()
        )
        return talked
    if kind == "melding" and fields.get("besproken_met_ouder") is True:
        return ("reported_to_vt", "melding_discussed")
    return NOTE_MILESTONES.get(kind, ())


@dataclass(frozen=True)
class NoteProgress:
    """What saving one note recorded on its case: the milestones that were new then, and the step before
    and after. Kept with the note, so undoing the note takes back exactly this and nothing else."""

    milestones: Tuple[str, ...] = ()
    step_before: Optional[int] = None
    step_after: Optional[int] = None

    def as_json(self) -> Dict[str, Any]:
        return {"milestones": list(self.milestones), "step_before": self.step_before, "step_after": self.step_after}

    @classmethod
    def from_json(cls, data: Optional[Mapping[str, Any]]) -> NoteProgress:
        """Notes saved before progress was kept with them read as having recorded nothing."""
        if not data:
            return cls()
        return cls(tuple(data.get("milestones") or ()), data.get("step_before"), data.get("step_after"))


def record_note(
    state: CaseState, kind: str, fields: Mapping[str, object], kb: Optional[KnowledgeBase] = None
) -> Tuple[CaseState, NoteProgress]:
    """The case after a saved note of ``kind`` (``note_milestones``), and what the note changed."""
    new = tuple(m for m in note_milestones(kind, fields) if m not in state.done)
    after = state
    for milestone in new:
        after = record_progress(after, milestone, kb)
    return after, NoteProgress(new, state.step, after.step)


def undo_note(state: CaseState, progress: NoteProgress) -> CaseState:
    """The case after its note is undone: the note's milestones are no longer done, and the case goes
    back to the step before the note if nothing has moved it since (a later step stays where it is)."""
    step = progress.step_before if progress.milestones and state.step == progress.step_after else state.step
    return CaseState(step=step, done=state.done - set(progress.milestones))


# --- rendering -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Guidance:
    """What to do now in the case's step, for this user, in the organisation's words."""

    step: int
    title: str
    lines: Tuple[str, ...]
    next_moves: Tuple[str, ...]
    sources: Tuple[str, ...]


@dataclass(frozen=True)
class SituationReply:
    """The reply for a special situation. ``lines[0]`` names whom to call first; ``call`` holds
    (name, phone) pairs for buttons or tel: links."""

    id: str
    title: str
    urgent: bool
    lines: Tuple[str, ...]
    call: Tuple[Tuple[str, str], ...]
    sources: Tuple[str, ...]


def _labels(statements: Iterable[Statement], kb: Optional[KnowledgeBase]) -> Tuple[str, ...]:
    """Teacher-readable source labels, deduplicated, in the order the statements are shown."""
    return tuple(dict.fromkeys(source_label(s.source, kb) for s in statements))


def _for_role(statements: Sequence[StatementT], role: str) -> List[StatementT]:
    """The statements for this role: those written for it first, then those for everyone."""
    return [s for s in statements if role in s.roles] + [s for s in statements if not s.roles]


def shown_to(statement: Statement, org: Organisation) -> bool:
    """A school's own addition (``local``) is shown only in that school's profile: another school, or
    the national profile, would otherwise read a protocol that is not theirs as the rule."""
    return not statement.source.local or statement.source.doc == org.source_doc


def _shown(statements: Iterable[StatementT], org: Organisation) -> List[StatementT]:
    return [s for s in statements if shown_to(s, org)]


def _fits_school(item: Pitfall, org: Organisation) -> bool:
    """A pitfall for some school types fits only a profile all of whose types it names."""
    return not item.school_types or set(org.school_types) <= set(item.school_types)


def _pitfalls(step: Step, role: str, org: Organisation) -> List[Pitfall]:
    """The urgent pitfall that fits (first, whatever its place in the list), then the first other one."""
    fitting = [p for p in _for_role(_shown(step.pitfalls, org), role) if _fits_school(p, org)]
    urgent = [p for p in fitting if p.urgent][:MAX_URGENT_PITFALLS]
    return urgent + [p for p in fitting if not p.urgent][:1]


def _open_core_steps(state: CaseState, kb: Optional[KnowledgeBase]) -> List[Step]:
    """Earlier steps none of whose core milestones is done (the case jumped ahead)."""
    current = state.step or FIRST_STEP
    return [
        s
        for s in _steps(kb).steps[: current - FIRST_STEP]
        if not any(m.core and m.id in state.done for m in s.milestones)
    ]


def _open_line(open_steps: Sequence[Step]) -> str:
    numbers = [str(s.number) for s in open_steps]
    joined = numbers[0] if len(numbers) == 1 else f"{', '.join(numbers[:-1])} en {numbers[-1]}"
    return f"{OPEN_PREFIX}{joined}."


def _moves(step: Step, state: CaseState, open_steps: Sequence[Step]) -> Tuple[str, ...]:
    """The step's candidate moves minus milestones already done; a jump back to an open step last."""
    moves = [m for m in step.moves if not (m.startswith("progress:") and m.split(":", 1)[1] in state.done)]
    if open_steps:
        moves = moves[: MAX_MOVES - 1] + [f"step:{open_steps[0].number}"]
    return tuple(moves[:MAX_MOVES])


def _legacy(step: Step, org: Organisation) -> List[Statement]:
    note = step.legacy_note
    return [note] if note and org.source_doc in note.docs else []


def guidance(
    state: CaseState, org: Organisation, user_role: Optional[str], kb: Optional[KnowledgeBase] = None
) -> Guidance:
    """What to do now, in at most six lines: the step's decisions (step 5) and the role's actions
    first, then the pitfalls (an urgent one first), steps skipped so far, the legacy wording note and,
    where the step risks it, the acute route. The actions give way to the rest, so the safety lines are
    never cut. Only this organisation's own additions are shown next to the national rules, so the
    national profile cites national sources only. An unknown role gets the teacher's view."""
    number = state.step or FIRST_STEP
    step = _step(number, kb)
    role = user_role if user_role in USER_ROLES else DEFAULT_ROLE
    tail: List[Tuple[Statement, str]] = [
        (p, PITFALL_PREFIX + render(p.text, org, kb)) for p in _pitfalls(step, role, org)
    ]
    open_steps = _open_core_steps(state, kb)
    if open_steps:
        order = _steps(kb).order
        tail.append((order, f"{_open_line(open_steps)} {render(order.text, org, kb)}"))
    extras = _legacy(step, org) + ([_steps(kb).acute_reminder] if step.remind_acute else [])
    tail += [(s, render(s.text, org, kb)) for s in extras]
    budget = max(1, min(MAX_ACTIONS, MAX_LINES - len(step.decisions) - len(tail)))
    actions = _for_role(_shown(step.actions, org), role)[:budget]
    head = [(s, render(s.text, org, kb)) for s in list(step.decisions) + actions]
    shown = head + tail
    return Guidance(
        step=number,
        title=step.title,
        lines=tuple(line for _, line in shown),
        next_moves=_moves(step, state, open_steps),
        sources=_labels((s for s, _ in shown), kb),
    )


def situation(situation_id: str, org: Organisation, kb: Optional[KnowledgeBase] = None) -> SituationReply:
    """The special route: whom to call first, then what to do (and what not to do)."""
    item = next((s for s in _situations(kb).situations if s.id == situation_id), None)
    if item is None:
        raise ValueError(f"unknown situation '{situation_id}'")
    shown = [item.first] + _shown(item.reply, org)
    return SituationReply(
        id=item.id,
        title=render(item.title, org, kb),
        urgent=item.urgent,
        lines=tuple(render(s.text, org, kb) for s in shown),
        call=tuple((render(c.name, org, kb), c.phone) for c in item.call),
        sources=_labels(shown, kb),
    )


def _faq_entry(faq_id: str, kb: Optional[KnowledgeBase]) -> FaqEntry:
    entry = next((f for f in faq_entries(kb) if f.id == faq_id), None)
    if entry is None:
        raise ValueError(f"unknown faq '{faq_id}'")
    return entry


def faq_shown(entry: FaqEntry, org: Organisation) -> Tuple[List[Statement], List[Statement]]:
    """The short answer and the detail of an entry as this organisation reads them: only the statements
    ``shown_to`` it, so the national profile (and another school) never reads one school's protocol as
    the rule. When none of the short answer is shown, the first shown detail statement takes its place.
    (``check_steps`` makes sure every profile gets a short answer.)"""
    answer, detail = _shown(entry.answer, org), _shown(entry.detail, org)
    if not answer:
        answer, detail = detail[:1], detail[1:]
    return answer, detail


def faq_answer(faq_id: str, org: Organisation, kb: Optional[KnowledgeBase] = None) -> Tuple[str, Tuple[str, ...]]:
    """The answer to one FAQ in the organisation's words, with its source labels: the national rules and
    this organisation's own additions only (see ``faq_shown``)."""
    answer, detail = faq_shown(_faq_entry(faq_id, kb), org)
    statements = answer + detail
    return " ".join(render(s.text, org, kb) for s in statements), _labels(statements, kb)


def faq_question(faq_id: str, kb: Optional[KnowledgeBase] = None) -> str:
    """The canonical question of an FAQ (a button title when the FAQ is offered as a move)."""
    return _faq_entry(faq_id, kb).question


def faq_ids(kb: Optional[KnowledgeBase] = None) -> Tuple[str, ...]:
    return tuple(f.id for f in faq_entries(kb))


def situation_ids(kb: Optional[KnowledgeBase] = None) -> Tuple[str, ...]:
    """Every special situation; each is also the intent that routes to it."""
    return tuple(s.id for s in _situations(kb).situations)


def danger_terms(kb: Optional[KnowledgeBase] = None) -> Tuple[str, ...]:
    """Words that signal acute danger; the safety-net NLU component must never miss these."""
    acute = next(s for s in _situations(kb).situations if s.id == ACUTE_DANGER)
    return tuple(acute.danger_terms)


def acute_routes(kb: Optional[KnowledgeBase] = None) -> Tuple[Tuple[str, Tuple[str, ...]], ...]:
    """(situation id, danger terms) of every acute route, the specific ones (suicide risk, recent sexual
    violence) before acute_danger: 'hij wil zichzelf iets aandoen' needs 113, not only 'iets aandoen'."""
    acute = [s for s in _situations(kb).situations if s.acute]
    ordered = [s for s in acute if s.id != ACUTE_DANGER] + [s for s in acute if s.id == ACUTE_DANGER]
    return tuple((s.id, tuple(s.danger_terms)) for s in ordered)


def danger_pairs(kb: Optional[KnowledgeBase] = None) -> Dict[str, TermPairs]:
    """Per acute route, word pairs that signal it only together, whatever the classifier said: a recent
    moment and a sexual act ('zojuist' ... 'betast') is recent sexual violence; either word alone is not."""
    return {s.id: s.danger_pairs for s in _situations(kb).situations if s.acute and s.danger_pairs}


def signal_terms(kb: Optional[KnowledgeBase] = None) -> Dict[str, Tuple[str, ...]]:
    """Per special situation (not acute danger), words that point to it when the classifier is unsure."""
    return {s.id: tuple(s.signal_terms) for s in _situations(kb).situations if s.signal_terms}


def signal_pairs(kb: Optional[KnowledgeBase] = None) -> Dict[str, TermPairs]:
    """Per special situation, word pairs that point to it (only together) when the classifier is unsure."""
    return {s.id: s.signal_pairs for s in _situations(kb).situations if s.signal_pairs}


# --- reviewed terms over a message and a conversation --------------------------------------------


def normalise(text: str) -> str:
    """Lower-case, strip diacritics and collapse whitespace, so 'Bloedt' and 'bloedt ' match alike."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", plain).strip()


def compile_terms(terms: Iterable[str]) -> Optional[Pattern[str]]:
    """One regex for all terms, matched on word boundaries (so 'mes' does not fire on 'mesjes')."""
    parts = sorted({re.escape(normalise(t)) for t in terms if t.strip()}, key=len, reverse=True)
    return re.compile(r"\b(" + "|".join(parts) + r")\b") if parts else None


def find_term(text: str, pattern: Optional[Pattern[str]]) -> Optional[str]:
    """The first term of ``pattern`` in ``text``, or None."""
    if pattern is None:
        return None
    match = pattern.search(normalise(text))
    return match.group(1) if match else None


@dataclass(frozen=True)
class PairPattern:
    """Compiled ``TermPairs``: matches when a word of each list occurs in the same message."""

    first: Optional[Pattern[str]]
    second: Optional[Pattern[str]]

    @classmethod
    def of(cls, pairs: TermPairs) -> PairPattern:
        return cls(compile_terms(pairs.first), compile_terms(pairs.second))

    def find(self, text: str) -> Optional[str]:
        one, two = find_term(text, self.first), find_term(text, self.second)
        return f"{one} + {two}" if one and two else None


# One earlier user message as the dialogue saw it: (intent, text).
Turn = Tuple[str, str]


@dataclass(frozen=True)
class ContextRule:
    """Acute danger read across turns (knowledge/situations.yml ``acute_danger.context``).

    Why: a teacher tells of abuse in one message and of the danger in the next ('haar oom zit aan haar'
    ... 'hij past vanavond weer op'); neither message alone names danger, so the NLU guard cannot see it.
    A message is acute in context when it has an immediacy signal and an earlier message of the same
    conversation signals abuse: by its intent (``abuse_intents``, the dialogue's words for a worried or
    urgent message) or by an abuse term in its text."""

    immediacy: Optional[Pattern[str]]
    soon_contact: PairPattern
    abuse: Optional[Pattern[str]]
    abuse_intents: FrozenSet[str]

    def immediacy_in(self, text: str) -> Optional[str]:
        return find_term(text, self.immediacy) or self.soon_contact.find(text)

    def signals_abuse(self, turn: Turn) -> bool:
        intent, text = turn
        return intent in self.abuse_intents or find_term(text, self.abuse) is not None

    def acute(self, text: str, earlier: Sequence[Turn]) -> Optional[str]:
        """The immediacy signal that makes ``text`` acute after ``earlier`` turns, or None."""
        term = self.immediacy_in(text)
        return term if term and any(self.signals_abuse(t) for t in earlier) else None


def abuse_terms(kb: Optional[KnowledgeBase] = None) -> Tuple[str, ...]:
    """Words that make a message an abuse signal ('striemen', 'haar oom zit aan haar'): for the context
    rule an earlier such message, for the safety net an unsure statement that describes one."""
    acute = next(s for s in _situations(kb).situations if s.id == ACUTE_DANGER)
    assert acute.context is not None  # enforced by SituationsKnowledge
    return tuple(acute.context.abuse_terms)


def context_rule(abuse_intents: Iterable[str], kb: Optional[KnowledgeBase] = None) -> ContextRule:
    """The compiled context rule of acute_danger (compile once; the dialogue checks every message)."""
    acute = next(s for s in _situations(kb).situations if s.id == ACUTE_DANGER)
    context = acute.context
    assert context is not None  # enforced by SituationsKnowledge
    return ContextRule(
        immediacy=compile_terms(context.immediacy),
        soon_contact=PairPattern(compile_terms(context.soon), compile_terms(context.contact)),
        abuse=compile_terms(abuse_terms(kb)),
        abuse_intents=frozenset(abuse_intents),
    )


def milestone_label(milestone: str, kb: Optional[KnowledgeBase] = None) -> str:
    return _milestone_step(milestone, kb)[1].label


def milestone_step(milestone: str, kb: Optional[KnowledgeBase] = None) -> int:
    """The step a milestone belongs to: a question about it is answered with that step's guidance."""
    return _milestone_step(milestone, kb)[0].number


def milestone_ids(kb: Optional[KnowledgeBase] = None) -> Tuple[str, ...]:
    return tuple(m.id for s in _steps(kb).steps for m in s.milestones)


# --- cross-checks for `python -m bot check` ------------------------------------------------------


def _valid_moves(kb: KnowledgeBase) -> FrozenSet[str]:
    return frozenset(
        [f"progress:{m}" for m in milestone_ids(kb)]
        + [f"step:{n}" for n in range(FIRST_STEP, LAST_STEP + 1)]
        + [f"note:{k}" for k in NOTE_KINDS]
        + [f"faq:{f}" for f in faq_ids(kb)]
        + list(FIXED_MOVES)
    )


@check("steps")
def check_steps(kb: KnowledgeBase) -> List[str]:
    """Cross-file rules the schemas cannot see: moves point at real things, every user role has
    something to do in every step, pitfall school types are known. (Unknown statement roles
    and placeholders are found by ``bot.profiles.check_profiles``.)"""
    problems: List[str] = []
    repeated = _repeated(list(faq_ids(kb)))
    if repeated:
        problems.append(f"knowledge/faq/: ids must be unique across the files, repeated: {repeated}")
    valid = _valid_moves(kb)
    for step in _steps(kb).steps:
        where = f"knowledge/steps.yml: step {step.number}"
        problems += [f"{where}: unknown move '{m}'" for m in step.moves if m not in valid]
        if len([m for m in step.moves if m.startswith("progress:")]) < 1 or len(step.moves) < 2:
            problems.append(f"{where}: needs at least two moves, one of them progress:<milestone>")
        problems += [f"{where}: no action for role '{r}'" for r in USER_ROLES if not _for_role(step.actions, r)]
        for pitfall in step.pitfalls:
            bad_types = set(pitfall.school_types) - {"PO", "SO", "SBO", "VO"}
            if bad_types:
                problems.append(f"{where}: unknown school types {sorted(bad_types)}")
        for org in organisations(kb).values():
            shown = _shown(step.actions, org)
            problems += [
                f"{where}: no action for role '{r}' in profile '{org.id}' (its own additions and the national rules)"
                for r in USER_ROLES
                if not _for_role(shown, r)
            ]
    return problems + _faq_problems(kb)


def _faq_problems(kb: KnowledgeBase) -> List[str]:
    """Every FAQ entry has a short answer in every profile: an entry whose answer rests only on one
    school's own additions would be empty for the national profile and the other schools."""
    return [
        f"knowledge/faq/: '{entry.id}' has no statement shown to profile '{org.id}' (add a national rule)"
        for entry in faq_entries(kb)
        for org in organisations(kb).values()
        if not faq_shown(entry, org)[0]
    ]
