"""The afwegingskader (meldcode steps 4 and 5) as a recorded decision over five questions.

Why this module exists: since 1 January 2019 a school must weigh a suspicion with five fixed questions
before it decides (I) whether a melding at Veilig Thuis is necessary and (II) whether own help is
(also) possible. A wrong branch here can leave a child unprotected, so the questions, their answers,
the outcomes and every text live in ``knowledge/weighing.yml`` (sourced, reviewable by people who
know the meldcode) and this module only walks that graph. It is pure: no Rasa, no database; the
dialogue and the case store call these functions and keep the resulting trace.

The state is the list of answers given so far (the *trace*). Replaying the trace from question 1 is
the only way to reach a position, so an answer out of order, or one the kader does not allow, can
never be recorded. After question 4 = ja the help starts and the weighing waits, possibly weeks, for
question 5; :func:`next_question` then returns None and :func:`outcome` says ``waiting_for_q5``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any, Dict, FrozenSet, List, Literal, Mapping, Optional, Protocol, Sequence, Set, Tuple, TypeVar, cast

from pydantic import root_validator, validator

from bot.knowledge import KnowledgeBase, Model, SourceRef, Statement, check, knowledge, source_label
from bot.language.numbers import number_value
from bot.language.workdays import add_working_days, dutch_holidays  # noqa: F401 - part of this module's API
from bot.language.yesno import lead_answer, normalise_reply
from bot.profiles import Organisation, render

Answer = Literal["ja", "nee", "twijfel"]
ANSWERS: Tuple[Answer, ...] = ("ja", "nee", "twijfel")
Trace = Tuple[Tuple[int, Answer], ...]
SECTION = "weighing.yml"
VEILIG_THUIS_CONTACT = "veilig_thuis"


# --- schema of knowledge/weighing.yml ------------------------------------------------------------


class Route(Model):
    """Where one answer to one question leads: the next question or an outcome, and why."""

    question: Optional[int] = None
    outcome: Optional[str] = None
    reason: Statement
    action: Optional[Statement] = None  # something to do because of this answer (e.g. inform the leader)

    @root_validator(skip_on_failure=True)
    def _exactly_one_target(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        if (values.get("question") is None) == (values.get("outcome") is None):
            raise ValueError("an answer leads to exactly one of 'question' or 'outcome'")
        return values


class QuestionSpec(Model):
    number: int
    text: str
    source: SourceRef
    explanation: List[Statement]
    answers: Dict[Answer, Route]


class FollowupSpec(Model):
    """A moment to come back to the case. ``days`` None: the help term the school agreed."""

    kind: str
    days: Optional[int] = None


class OutcomeSpec(Model):
    id: str
    title: str
    melding_needed: Optional[bool]
    help_possible: Optional[bool]
    decision_melding: Statement
    decision_help: Optional[Statement] = None  # None when melding: decided with Veilig Thuis
    actions: List[Statement]
    call: List[str]
    followups: List[FollowupSpec] = []
    waits_for: Optional[int] = None

    @root_validator(skip_on_failure=True)
    def _decision_help_matches_melding(cls, values: Dict[str, Any]) -> Dict[str, Any]:
        # Seed 003, stap 5: once melding is necessary, decision II is taken together with Veilig Thuis
        # and the betrokkenen; the shared ``melding.decision_help`` says so, an outcome may not override it.
        if values.get("melding_needed") is True and values.get("decision_help") is not None:
            raise ValueError("an outcome with melding_needed: true takes decision_help from 'melding'")
        if values.get("melding_needed") is not True and values.get("decision_help") is None:
            raise ValueError("decision_help is required unless melding_needed is true")
        return values


class Decisions(Model):
    melding: Statement
    help: Statement


class MeldingBlock(Model):
    """What every melding outcome shares: decision II with Veilig Thuis and how to report."""

    decision_help: Statement
    steps: List[Statement]


class Contact(Model):
    id: str
    name: str
    phone: str
    note: Optional[str] = None
    source: SourceRef


# What settles a follow-up without the teacher clicking "Gedaan": a new weighing (question 1 answered
# again) or a help term agreed with a duration. The dialogue closes such reminders when that happens.
SettledBy = Literal["new_weighing", "term_agreed"]


class FollowupKind(Model):
    kind: str
    unit: Literal["werkdagen", "dagen"]
    text: Statement
    settled_by: Optional[SettledBy] = None


class AgeRule(Model):
    min_age: int = 0
    max_age: Optional[int] = None
    text: Statement

    def applies(self, age: int) -> bool:
        return self.min_age <= age and (self.max_age is None or age <= self.max_age)


class ParentalTalk(Model):
    intro: Statement
    by_age: List[AgeRule]
    steps: List[Statement]
    skip_intro: Statement
    skip_when: List[Statement]

    @validator("by_age")
    def _ages_contiguous(cls, rules: List[AgeRule]) -> List[AgeRule]:
        """Every age from 0 up must match exactly one rule, or a pupil's talk advice would be missing."""
        expected: Optional[int] = 0
        for rule in rules:
            if expected is None or rule.min_age != expected:
                raise ValueError("age rules must be in order, without gaps or overlaps, starting at 0")
            expected = None if rule.max_age is None else rule.max_age + 1
        if expected is not None:
            raise ValueError("the last age rule must have no max_age")
        return rules


class HelpPlanLabels(Model):
    term: str
    casemanager: str
    tasks: str
    missing: str


class Labels(Model):
    """Words around the protocol texts; kept in YAML so all Dutch user text is in one reviewable place."""

    answers: Dict[Answer, str]
    question: str
    your_answer: str
    outcome: str
    decisive: str
    not_finished: str
    waiting_for_q5: str
    call: str
    source: str
    help_plan: HelpPlanLabels


class WeighingKnowledge(Model):
    decisions: Decisions
    questions: List[QuestionSpec]
    melding: MeldingBlock
    outcomes: List[OutcomeSpec]
    contacts: List[Contact]
    followup_kinds: List[FollowupKind]
    parental_talk: ParentalTalk
    labels: Labels

    def question(self, number: int) -> QuestionSpec:
        found = next((q for q in self.questions if q.number == number), None)
        if found is None:
            raise ValueError(f"the afwegingskader has no question {number}")
        return found

    def outcome(self, outcome_id: str) -> OutcomeSpec:
        return next(o for o in self.outcomes if o.id == outcome_id)

    def contact(self, contact_id: str) -> Contact:
        return next(c for c in self.contacts if c.id == contact_id)

    def followup_kind(self, kind: str) -> FollowupKind:
        return next(k for k in self.followup_kinds if k.kind == kind)


def _weighing(kb: Optional[KnowledgeBase]) -> WeighingKnowledge:
    wk: WeighingKnowledge = (kb or knowledge()).one(SECTION)
    return wk


# --- the state and walking the graph -------------------------------------------------------------


@dataclass(frozen=True)
class WeighingState:
    """One weighing of one case: the answers in order, plus the help plan agreed after question 4."""

    answers: Trace = ()
    term: Optional[str] = None
    casemanager: Optional[str] = None
    tasks: Optional[str] = None


@dataclass(frozen=True)
class _Position:
    question: Optional[int]
    outcome: Optional[OutcomeSpec]

    @property
    def expects(self) -> Optional[int]:
        """The question that may be answered now; a waiting outcome still accepts its later question."""
        if self.question is not None:
            return self.question
        return self.outcome.waits_for if self.outcome else None


def _step(position: _Position, n: int, a: str, wk: WeighingKnowledge) -> _Position:
    if position.expects != n:
        raise ValueError(f"question {n} cannot be answered now; expected {position.expects}")
    spec = wk.question(n)
    if a not in spec.answers:
        raise ValueError(f"'{a}' is not an allowed answer to question {n}; allowed: {list(spec.answers)}")
    route = spec.answers[a]
    if route.question is not None:
        return _Position(question=route.question, outcome=None)
    return _Position(question=None, outcome=wk.outcome(cast(str, route.outcome)))  # a route has one target


def _walk(answers: Sequence[Tuple[int, str]], wk: WeighingKnowledge) -> _Position:
    """Replay answers from question 1; raises ValueError on the first one the kader does not allow."""
    position = _Position(question=1, outcome=None)
    for n, a in answers:
        position = _step(position, n, a, wk)
    return position


def next_question(state: WeighingState, kb: Optional[KnowledgeBase] = None) -> Optional[int]:
    """The question to ask now; None when an outcome is reached (including waiting for question 5)."""
    return _walk(state.answers, _weighing(kb)).question


def answer(state: WeighingState, n: int, a: Answer, kb: Optional[KnowledgeBase] = None) -> WeighingState:
    """Record answer ``a`` to question ``n``; ValueError when out of order or not allowed."""
    answers = state.answers + ((n, a),)
    _walk(answers, _weighing(kb))
    return replace(state, answers=answers)


def expected_question(state: WeighingState, kb: Optional[KnowledgeBase] = None) -> Optional[int]:
    """The question that may be answered now: the next one, or the one a running help waits for.

    Why next to :func:`next_question`: the dialogue must tell "the weighing is finished" (None) from
    "the help runs and question 5 may be answered once the term has passed" (5).
    """
    return _walk(state.answers, _weighing(kb)).expects


def outcome_id(state: WeighingState, kb: Optional[KnowledgeBase] = None) -> Optional[str]:
    """The id of the outcome reached (for storing and routing), without rendering any text."""
    position = _walk(state.answers, _weighing(kb))
    return position.outcome.id if position.outcome else None


def split_runs(answers: Sequence[Tuple[int, Answer]], kb: Optional[KnowledgeBase] = None) -> Tuple[Trace, ...]:
    """A case's stored answers as separate weighings; every answer to question 1 starts a new one.

    Why: a case can be weighed more than once (after advice from Veilig Thuis, or when new signals come
    after a closed weighing) and the store keeps every answer ever given. The dialogue resumes the last
    run; each run is replayed here, so a corrupted store raises instead of giving a wrong decision.
    """
    wk = _weighing(kb)
    runs: List[List[Tuple[int, Answer]]] = []
    for n, a in answers:
        if n == 1 or not runs:
            runs.append([])
        runs[-1].append((n, a))
    for run in runs:
        _walk(run, wk)
    return tuple(tuple(run) for run in runs)


# --- the stored trace ----------------------------------------------------------------------------

# How the case store keeps a weighing (one row per entry; ``details["entry"]`` tells the kind):
# ENTRY_ANSWER: one answer to one question; an answer to question 5 also carries the help plan as it was.
# ENTRY_PLAN: (parts of) the help plan agreed after question 4 = ja, stored as question 4 / ja.
ENTRY_ANSWER = "answer"
ENTRY_PLAN = "help_plan"
PLAN_KEYS = ("term", "casemanager", "tasks")


class StoredEntry(Protocol):
    """One stored row of the trace (bot.store's WeighingRecord has these attributes)."""

    @property
    def question(self) -> int: ...

    @property
    def answer(self) -> str: ...

    @property
    def details(self) -> Mapping[str, Any]: ...


_Entry = TypeVar("_Entry", bound=StoredEntry)


def stored_answers(entries: Sequence[_Entry]) -> List[_Entry]:
    """The answers only, in order: the help-plan entries are not answers to a question."""
    return [e for e in entries if e.details.get("entry") != ENTRY_PLAN]


def replay(entries: Sequence[StoredEntry], kb: Optional[KnowledgeBase] = None) -> WeighingState:
    """The case's current weighing (the last run) with its help plan, rebuilt from the stored trace.

    Why replayed and not stored as a state: the trace is the record the school accounts with; the
    state is derived from it, so the two cannot disagree. A new run starts without an earlier plan.
    """
    runs = split_runs([(e.question, cast(Answer, e.answer)) for e in stored_answers(entries)], kb)
    plan: Dict[str, str] = {}
    for entry in entries:
        if entry.details.get("entry") == ENTRY_PLAN:
            plan.update({k: v for k, v in entry.details.items() if k in PLAN_KEYS and v})
        elif entry.question == 1:
            plan = {}
    return WeighingState(answers=runs[-1] if runs else (), **plan)


def help_plan_lines(state: WeighingState, kb: Optional[KnowledgeBase] = None) -> List[str]:
    """'Termijn: 6 weken', 'Casemanager: ...', 'Taken: ...' (or 'nog niet afgesproken') for the dossier."""
    return _help_plan_lines(state, _weighing(kb))


def decision_questions(org: Organisation, kb: Optional[KnowledgeBase] = None) -> Tuple[str, str]:
    """The two step-5 decisions as the kader words them ("Besluit I – ...", "Besluit II – ...")."""
    decisions = _weighing(kb).decisions
    return render(decisions.melding.text, org, kb), render(decisions.help.text, org, kb)


def record_help_plan(
    state: WeighingState,
    term: Optional[str] = None,
    casemanager: Optional[str] = None,
    tasks: Optional[str] = None,
    kb: Optional[KnowledgeBase] = None,
) -> WeighingState:
    """Add (parts of) the help plan while the help runs; each part may be given later, one at a time."""
    position = _walk(state.answers, _weighing(kb))
    if position.outcome is None or position.outcome.waits_for is None:
        raise ValueError("a help plan can only be recorded while the help runs (after question 4 = ja)")
    updates: Dict[str, Any] = {
        k: v.strip()
        for k, v in {"term": term, "casemanager": casemanager, "tasks": tasks}.items()
        if v is not None and v.strip()
    }
    return replace(state, **updates)


def help_plan(state: WeighingState) -> Dict[str, Optional[str]]:
    """The help plan's parts as agreed so far (None: not yet), keyed as ``PLAN_KEYS``."""
    return {"term": state.term, "casemanager": state.casemanager, "tasks": state.tasks}


def is_waiting(state: WeighingState, kb: Optional[KnowledgeBase] = None) -> bool:
    """The help runs: an outcome is reached and a later question (5) may still be answered."""
    return outcome_id(state, kb) is not None and expected_question(state, kb) is not None


# --- what a weighing records on the case ---------------------------------------------------------

# The milestones of bot.steps (knowledge/steps.yml) an answer can mark.
DONE_MILESTONE = "weighing_done"
LEADER_MILESTONE = "school_leader_informed"


def is_decided(outcome: str, kb: Optional[KnowledgeBase] = None) -> bool:
    """Whether an outcome is a weighing made. One that leaves both decisions open (``melding_needed``
    and ``help_possible`` null in knowledge/weighing.yml: first ask Veilig Thuis's advice) is not: the
    kader says to weigh again, so the case keeps "weigh" as its next move."""
    spec = _weighing(kb).outcome(outcome)
    return spec.melding_needed is not None or spec.help_possible is not None


def milestones_reached(n: int, reply: Answer, outcome: Optional[str], kb: Optional[KnowledgeBase] = None) -> List[str]:
    """What an answer marks on the case: after question 1 = ja the kader goes on only with the school
    leader informed; an outcome that decides is a weighing made."""
    found = [LEADER_MILESTONE] if (n, reply) == (1, "ja") else []
    if outcome is not None and is_decided(outcome, kb):
        found.append(DONE_MILESTONE)
    return found


# --- rendering questions and outcomes ------------------------------------------------------------


@dataclass(frozen=True)
class Question:
    number: int
    text: str
    explanation: str
    allowed: Tuple[Answer, ...]
    sources: Tuple[str, ...]


def _labels_of(refs: Sequence[SourceRef], kb: Optional[KnowledgeBase]) -> Tuple[str, ...]:
    """Source labels a teacher reads, without repeats, in order of first use."""
    return tuple(dict.fromkeys(source_label(ref, kb) for ref in refs))


def question(n: int, org: Organisation, kb: Optional[KnowledgeBase] = None) -> Question:
    """Question ``n`` in the words of the organisation."""
    spec = _weighing(kb).question(n)
    return Question(
        number=n,
        text=render(spec.text, org, kb),
        explanation="\n".join(render(s.text, org, kb) for s in spec.explanation),
        allowed=tuple(spec.answers),
        sources=_labels_of([spec.source] + [s.source for s in spec.explanation], kb),
    )


def answer_labels(kb: Optional[KnowledgeBase] = None) -> Dict[str, str]:
    """Button titles for the three answers."""
    return {answer: label for answer, label in _weighing(kb).labels.answers.items()}


@dataclass(frozen=True)
class Outcome:
    id: str
    title: str
    melding_needed: Optional[bool]  # decision I; None: not yet to be taken (advice first)
    help_possible: Optional[bool]  # decision II; None: decided with Veilig Thuis, or not applicable
    decision_melding: str
    decision_help: str
    lines: Tuple[str, ...]  # concrete next actions first, the two decisions last
    call: Tuple[str, ...]
    followups: Tuple[Tuple[str, int], ...]  # (kind, days in the unit of that kind; see due_date)
    waiting_for_q5: bool
    sources: Tuple[str, ...]


def _trace_statements(answers: Trace, wk: WeighingKnowledge) -> Tuple[List[Statement], List[Statement]]:
    """(reasons, actions) of the routes taken, e.g. 'inform the school leader' after question 1 = ja."""
    routes = [wk.question(n).answers[a] for n, a in answers]
    return [r.reason for r in routes], [r.action for r in routes if r.action is not None]


def _help_plan_lines(state: WeighingState, wk: WeighingKnowledge) -> List[str]:
    labels = wk.labels.help_plan
    return [
        f"{label}: {value or labels.missing}"
        for label, value in (
            (labels.term, state.term),
            (labels.casemanager, state.casemanager),
            (labels.tasks, state.tasks),
        )
    ]


def _followups(spec: OutcomeSpec, state: WeighingState, wk: WeighingKnowledge) -> Tuple[Tuple[str, int], ...]:
    """Follow-ups with a known number of days: the end of the help term counts only once a term with a
    duration is agreed, and the reminder to agree one stands only until then."""
    term_days = parse_term(state.term or "")
    pairs = (
        (f.kind, f.days if f.days is not None else term_days)
        for f in spec.followups
        if not (term_days is not None and wk.followup_kind(f.kind).settled_by == "term_agreed")
    )
    return tuple((kind, days) for kind, days in pairs if days is not None)


def plan_followup_kinds(kb: Optional[KnowledgeBase] = None) -> FrozenSet[str]:
    """Follow-ups of a running help that depend on its plan: the end of the agreed term and the reminder
    to agree one. Why separate: they can only be set once the plan has been asked, not with the answer."""
    wk = _weighing(kb)
    return frozenset(
        f.kind
        for o in wk.outcomes
        if o.waits_for is not None
        for f in o.followups
        if f.days is None or wk.followup_kind(f.kind).settled_by == "term_agreed"
    )


def followups_settled_by(event: SettledBy, kb: Optional[KnowledgeBase] = None) -> FrozenSet[str]:
    """The follow-up kinds that ``event`` makes obsolete ('weigh again' once the teacher weighs again)."""
    return frozenset(k.kind for k in _weighing(kb).followup_kinds if k.settled_by == event)


def _call_line(contact: Contact, org: Organisation, kb: Optional[KnowledgeBase]) -> str:
    note = f" ({contact.note})" if contact.note else ""
    return f"{render(contact.name, org, kb)}: {contact.phone}{note}"


def outcome_followups(state: WeighingState, kb: Optional[KnowledgeBase] = None) -> Tuple[Tuple[str, int], ...]:
    """The follow-ups (kind, days) of the outcome the answers lead to, as :func:`outcome` lists them,
    without rendering its texts: what the weighing's use cases store. Empty while questions remain."""
    wk = _weighing(kb)
    spec = _walk(state.answers, wk).outcome
    return () if spec is None else _followups(spec, state, wk)


def outcome(state: WeighingState, org: Organisation, kb: Optional[KnowledgeBase] = None) -> Optional[Outcome]:
    """The outcome the answers lead to, with its actions, numbers, follow-ups and both decisions."""
    wk = _weighing(kb)
    spec = _walk(state.answers, wk).outcome
    if spec is None:
        return None
    melding = spec.melding_needed is True
    # the schema requires an outcome's own decision_help unless melding is needed
    decision_help = wk.melding.decision_help if melding else cast(Statement, spec.decision_help)
    _, route_actions = _trace_statements(state.answers, wk)
    statements = spec.actions + route_actions + (wk.melding.steps if melding else [])
    decisions = [(wk.decisions.melding, spec.decision_melding), (wk.decisions.help, decision_help)]
    lines = [render(s.text, org, kb) for s in statements]
    if spec.waits_for is not None:
        lines += _help_plan_lines(state, wk)
    lines += [render(f"{label.text} {decision.text}", org, kb) for label, decision in decisions]
    refs = [s.source for s in statements] + [d.source for pair in decisions for d in pair]
    return Outcome(
        id=spec.id,
        title=render(spec.title, org, kb),
        melding_needed=spec.melding_needed,
        help_possible=spec.help_possible,
        decision_melding=render(spec.decision_melding.text, org, kb),
        decision_help=render(decision_help.text, org, kb),
        lines=tuple(lines),
        call=tuple(_call_line(wk.contact(c), org, kb) for c in spec.call),
        followups=_followups(spec, state, wk),
        waiting_for_q5=spec.waits_for is not None,
        sources=_labels_of(refs + [wk.contact(c).source for c in spec.call], kb),
    )


def explain_trace(trace: Sequence[Tuple[int, Answer]], org: Organisation, kb: Optional[KnowledgeBase] = None) -> str:
    """'Waarom moest ik melden?': every question with the recorded answer and what it meant."""
    wk = _weighing(kb)
    labels = wk.labels
    state = WeighingState(answers=tuple(trace))
    position = _walk(state.answers, wk)
    reasons, _ = _trace_statements(state.answers, wk)
    lines: List[str] = []
    if position.outcome is not None:
        lines.append(f"{labels.outcome} {render(position.outcome.title, org, kb)}")
    for (n, a), reason in zip(state.answers, reasons):
        lines.append(
            f"{labels.question} {n}: {render(wk.question(n).text, org, kb)} "
            f"{labels.your_answer} {labels.answers[a].lower()}. {render(reason.text, org, kb)}"
        )
    if position.outcome is not None and state.answers:
        n, a = state.answers[-1]
        lines.append(f"{labels.decisive} {n} ({labels.answers[a].lower()}).")
    if position.outcome is not None and position.outcome.waits_for is not None:
        lines.append(f"{labels.waiting_for_q5} {position.outcome.waits_for}.")
    if position.question is not None:
        lines.append(
            f"{labels.not_finished} {labels.question.lower()} {position.question}: "
            f"{render(wk.question(position.question).text, org, kb)}"
        )
    refs = [wk.question(n).source for n, _ in state.answers] + [r.source for r in reasons]
    if refs:
        lines.append(f"{labels.source} " + "; ".join(_labels_of(refs, kb)))
    return "\n".join(lines)


def parental_talk_advice(
    org: Organisation, pupil_age: Optional[int] = None, kb: Optional[KnowledgeBase] = None
) -> Tuple[str, ...]:
    """How to discuss a melding beforehand with parents and pupil, and when that talk may be skipped.

    Without an age every age rule is given (each names its ages); with an age only the one that applies.
    """
    if pupil_age is not None and pupil_age < 0:
        raise ValueError("pupil_age cannot be negative")
    talk = _weighing(kb).parental_talk
    rules = [r.text for r in talk.by_age if pupil_age is None or r.applies(pupil_age)]
    statements = [talk.intro] + rules + talk.steps + [talk.skip_intro] + talk.skip_when
    return tuple(render(s.text, org, kb) for s in statements)


# --- follow-up dates -----------------------------------------------------------------------------


_TERM = re.compile(
    r"\b(\d+|een|één|twee|drie|vier|vijf|zes|zeven|acht|negen|tien|elf|twaalf)\s*"
    r"(dagen|dag|weken|week|wk|maanden|maand|mnd)\b"
)
_UNIT_DAYS = {"dag": 1, "dagen": 1, "week": 7, "weken": 7, "wk": 7, "maand": 30, "maanden": 30, "mnd": 30}


def parse_term(text: str) -> Optional[int]:
    """Days in an agreed help term such as '6 weken' or 'drie maanden'; None if it names no duration.

    A month counts as 30 days: the term is an agreed evaluation moment, not a legal deadline, and the
    teacher sees (and may move) the resulting date.
    """
    match = _TERM.search(text.lower())
    if match is None:
        return None
    amount, unit = match.groups()
    count = number_value(amount) or 0
    return count * _UNIT_DAYS[unit] if count > 0 else None


def due_date(start: date, followup: Tuple[str, int], kb: Optional[KnowledgeBase] = None) -> date:
    """When a follow-up is due, counting in the unit of its kind (Veilig Thuis: werkdagen)."""
    kind, days = followup
    unit = _weighing(kb).followup_kind(kind).unit
    return add_working_days(start, days) if unit == "werkdagen" else start + timedelta(days=days)


def followup_text(kind: str, org: Organisation, kb: Optional[KnowledgeBase] = None) -> str:
    """What the teacher is reminded of when a follow-up is due."""
    return render(_weighing(kb).followup_kind(kind).text.text, org, kb)


# --- free-text answers ---------------------------------------------------------------------------
# A deliberately small, documented normaliser for a ja/nee/twijfel slot, not intent NLU: the dialogue
# asks with buttons and only falls back to this for typed replies. Doubt wins over yes and no, because
# in the kader "twijfel" never leads to less protection than either ("ja, maar ik twijfel" is doubt).
# Anything ambiguous returns None so the buttons are offered again; a guess is never made.

_CERTAIN = re.compile(r"\b(geen twijfel|zonder twijfel|ongetwijfeld|zeker weten)\b")
_DOUBT = re.compile(
    r"\b(twijfel\w*|misschien|mss|wellicht|geen (flauw )?idee|weet (ik )?(het )?niet|weet niet|"
    r"niet zeker|onzeker|onduidelijk|wie weet|kan zijn|(lastig|moeilijk) (te zeggen|in te schatten)|"
    r"hangt (er )?van af|vraag ik me af|geen flauw benul)\b"
)
_NEGATIVE = re.compile(
    r"\b(niet echt|denk (het|van) niet|denk ik niet|geloof (het|ik) niet|helaas niet|zeker niet|"
    r"absoluut niet|natuurlijk niet|helemaal niet|echt niet|klopt niet|is niet zo|niet het geval|"
    r"geen sprake van|niet waar|nooit)\b|^niet$"
)
_POSITIVE = re.compile(
    r"\b(denk (het|van) wel|denk ik wel|geloof (het|ik) wel|dat klopt|klopt wel|dat is zo|"
    r"is het geval|dat is waar)\b|^wel$"
)


_POSTPONE = re.compile(
    r"^(later|straks|stop|stoppen|pauze|overslaan|sla (dit |maar )?over|nog niet( bekend)?|"
    r"(dat )?weet ik nog niet|volgt( nog)?|doe ik later|later (verder|invullen|aanvullen))$"
)


def is_postponed(text: str) -> bool:
    """'later', 'sla over', 'weet ik nog niet': the teacher postpones this item; nothing is recorded.

    Checked only after :func:`parse_answer` for a weighing question, so 'weet ik niet' stays doubt.
    """
    return bool(_POSTPONE.match(normalise_reply(text)))


def parse_answer(text: str) -> Optional[Answer]:
    """'ja hoor', 'neuh', 'niet echt', 'weet ik niet zeker' ... -> ja/nee/twijfel; None if not an answer."""
    reply = normalise_reply(text)
    if not reply:
        return None
    if _CERTAIN.search(reply):
        return "ja"
    if _DOUBT.search(reply):
        return "twijfel"
    lead = lead_answer(reply)
    if lead is not None:
        return "ja" if lead else "nee"
    if _NEGATIVE.search(reply):
        return "nee"
    if _POSITIVE.search(reply):
        return "ja"
    return None


# --- consistency check (python -m bot check) -----------------------------------------------------


def _edges(wk: WeighingKnowledge) -> Dict[str, List[str]]:
    """The graph as node -> successors; nodes are 'q<n>' and 'o:<id>'. A waiting outcome leads to its question."""
    edges: Dict[str, List[str]] = {}
    for q in wk.questions:
        edges[f"q{q.number}"] = [
            f"q{r.question}" if r.question is not None else f"o:{r.outcome}" for r in q.answers.values()
        ]
    for o in wk.outcomes:
        edges[f"o:{o.id}"] = [f"q{o.waits_for}"] if o.waits_for is not None else []
    return edges


def _find_cycle(edges: Dict[str, List[str]], start: str) -> Optional[List[str]]:
    path: List[str] = []
    done: Set[str] = set()

    def visit(node: str) -> Optional[List[str]]:
        if node in path:
            return path[path.index(node) :] + [node]
        if node in done or node not in edges:
            return None
        path.append(node)
        for nxt in edges[node]:
            cycle = visit(nxt)
            if cycle:
                return cycle
        path.pop()
        done.add(node)
        return None

    return visit(start)


def _reachable(edges: Dict[str, List[str]], start: str) -> Set[str]:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges.get(node, []))
    return seen


def _reference_problems(wk: WeighingKnowledge) -> List[str]:
    """Every name a question or outcome uses must be defined."""
    problems = []
    numbers = [q.number for q in wk.questions]
    if sorted(numbers) != [1, 2, 3, 4, 5]:
        problems.append(f"the afwegingskader has questions 1-5 exactly once; found {numbers}")
    outcome_ids = [o.id for o in wk.outcomes]
    if len(set(outcome_ids)) != len(outcome_ids):
        problems.append(f"outcome ids are not unique: {outcome_ids}")
    for q in wk.questions:
        for a, r in q.answers.items():
            if r.question is not None and r.question not in numbers:
                problems.append(f"question {q.number}, answer {a}: unknown question {r.question}")
            if r.outcome is not None and r.outcome not in outcome_ids:
                problems.append(f"question {q.number}, answer {a}: unknown outcome '{r.outcome}'")
    contacts = {c.id for c in wk.contacts}
    kinds = {k.kind for k in wk.followup_kinds}
    for o in wk.outcomes:
        problems += [f"outcome {o.id}: unknown contact '{c}'" for c in o.call if c not in contacts]
        problems += [f"outcome {o.id}: unknown follow-up kind '{f.kind}'" for f in o.followups if f.kind not in kinds]
        if o.melding_needed and VEILIG_THUIS_CONTACT not in o.call:
            problems.append(f"outcome {o.id}: a melding outcome must name the Veilig Thuis number")
        if o.waits_for is not None and o.waits_for not in numbers:
            problems.append(f"outcome {o.id}: waits for unknown question {o.waits_for}")
    return problems


@check("weighing")
def check_weighing(kb: KnowledgeBase) -> List[str]:
    """The graph is sound: every answer leads somewhere defined, no cycles, everything reachable from 1."""
    wk: WeighingKnowledge = kb.one(SECTION)
    where = "knowledge/weighing.yml"
    problems = _reference_problems(wk)
    if problems:
        return [f"{where}: {p}" for p in problems]
    edges = _edges(wk)
    cycle = _find_cycle(edges, "q1")
    if cycle:
        problems.append(f"cycle in the weighing: {' -> '.join(cycle)}")
    unreachable = sorted(set(edges) - _reachable(edges, "q1"))
    if unreachable:
        problems.append(f"not reachable from question 1: {unreachable}")
    return [f"{where}: {p}" for p in problems]
