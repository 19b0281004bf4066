"""Learning mode: new staff practise the meldcode on realistic cases, and first-time users get a tour.

Why this module exists: the meldcode is only useful when a teacher can apply it under stress. The cases
in ``knowledge/practice_cases.yml`` are written from the situations in the five seed protocols and follow
the newest national rules; every answer option explains *why* it is (not) the best choice and points to
the text it rests on, so practising also teaches where the rules come from.

Everything here is pure (no Rasa, no database): the dialogue keeps a ``PracticeState`` in its own
``practice_`` slots and calls these functions; the store only receives anonymised results. Every chat
text made here starts with ``MARKER`` so nobody mistakes a practice case for a real pupil.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple, Union, cast

from pydantic import validator
from rapidfuzz import fuzz

from bot.knowledge import KnowledgeBase, Model, SourceRef, check, knowledge, location, source_label

SECTION = "practice_cases.yml"
MARKER = "Oefening — "
TOUR_ID = "rondleiding"  # PracticeState.case_id of the guided tour; never a case id (ids contain '-')

SCHOOL_TYPES = ("PO", "SO", "SBO", "VO")
LEVELS = ("basis", "gevorderd")
MIN_CASES = 24
TOUR_STEPS = (1, 2, 3, 4, 5)

# Every theme a new staff member must be able to practise; ids are used in YAML and as NLU entity values.
THEMES: Dict[str, str] = {
    "physical_abuse": "lichamelijke mishandeling",
    "neglect": "verwaarlozing",
    "emotional_abuse": "emotionele mishandeling",
    "sexual_abuse": "seksueel misbruik",
    "domestic_violence_witness": "getuige van huiselijk geweld",
    "fgm": "vrouwelijke genitale verminking (VGV)",
    "honour_violence": "eergerelateerd geweld",
    "forced_marriage": "huwelijksdwang",
    "staff_suspect": "een medewerker als vermoedelijke pleger",
    "pupil_violence": "geweld tussen leerlingen",
    "consent_refused": "ouder weigert toestemming",
    "secrecy_request": "leerling vraagt om geheimhouding",
    "acute_danger": "acuut gevaar",
}

# What a question asks; used to tell a learner which kind of decision they missed.
QUESTION_KINDS: Dict[str, str] = {
    "step": "in welke stap u bent",
    "first_action": "wat u als eerste doet",
    "contact": "wie u raadpleegt of belt",
    "decision": "de beslissingen over melden en hulp",
    "record": "wat en hoe u vastlegt",
}

# A pupil is named by an initial with a class or age, e.g. "leerling A. (groep 6)"; never a full name.
PSEUDONYM = re.compile(r"\b[A-Z]\. \((?:groep \d|\d{1,2} jaar)")
SENTENCE_END = re.compile(r"(?<=[a-zà-ÿ0-9)’”\"'])[.!?][’”\"']?(?=\s|$)")


# --- schema of knowledge/practice_cases.yml -------------------------------------------------------


class Option(Model):
    """One answer option; ``feedback`` says why it is or is not the best choice."""

    text: str
    feedback: str
    best: bool = False

    @validator("text")
    def _fits_a_button(cls, value: str) -> str:
        if len(value) > 140:
            raise ValueError("option text longer than 140 characters does not fit a button")
        return value


class Question(Model):
    """A multiple-choice question with exactly one best option, grounded in a source."""

    text: str
    options: List[Option]
    source: SourceRef

    @validator("options")
    def _three_or_four_with_one_best(cls, value: List[Option]) -> List[Option]:
        if not 3 <= len(value) <= 4:
            raise ValueError("a question needs 3 or 4 options")
        if sum(option.best for option in value) != 1:
            raise ValueError("exactly one option must have best: true")
        return value

    @property
    def best_index(self) -> int:
        return next(i for i, option in enumerate(self.options) if option.best)


class CaseQuestion(Question):
    """A question inside a case; ``kind`` names the decision it trains (see QUESTION_KINDS)."""

    kind: str

    @validator("kind")
    def _known_kind(cls, value: str) -> str:
        if value not in QUESTION_KINDS:
            raise ValueError(f"kind must be one of {list(QUESTION_KINDS)}")
        return value


class PracticeCase(Model):
    """A pseudonymous vignette from a seed situation with 2–4 questions."""

    id: str
    title: str
    level: str
    school_type: str
    themes: List[str]
    vignette: str
    questions: List[CaseQuestion]

    @validator("id")
    def _slug(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", value) or value == TOUR_ID:
            raise ValueError(f"id must be lower-case words joined by '-', and not '{TOUR_ID}'")
        return value

    @validator("level")
    def _known_level(cls, value: str) -> str:
        if value not in LEVELS:
            raise ValueError(f"level must be one of {list(LEVELS)}")
        return value

    @validator("school_type")
    def _known_school_type(cls, value: str) -> str:
        if value not in SCHOOL_TYPES:
            raise ValueError(f"school_type must be one of {list(SCHOOL_TYPES)}")
        return value

    @validator("themes")
    def _known_themes(cls, value: List[str]) -> List[str]:
        unknown = [theme for theme in value if theme not in THEMES]
        if not value or unknown:
            raise ValueError(f"themes must be a non-empty list from {list(THEMES)}; unknown: {unknown}")
        return value

    @validator("vignette")
    def _short_and_pseudonymous(cls, value: str) -> str:
        sentences = len(SENTENCE_END.findall(value))
        if not 3 <= sentences <= 6:
            raise ValueError(f"a vignette has 3 to 6 sentences, this one has {sentences}")
        if not PSEUDONYM.search(value):
            raise ValueError("name the pupil by an initial with class or age, e.g. 'leerling A. (groep 6)'")
        return value

    @validator("questions")
    def _two_to_four(cls, value: List[CaseQuestion]) -> List[CaseQuestion]:
        if not 2 <= len(value) <= 4:
            raise ValueError("a case needs 2 to 4 questions")
        return value


class TourStep(Model):
    """One step of the guided tour ("leg de meldcode uit"): a short explanation and a check question."""

    step: int
    title: str
    text: str
    source: SourceRef
    check: Question


class PracticeKnowledge(Model):
    """The whole file: practice cases and the tour of the five steps."""

    cases: List[PracticeCase]
    tour: List[TourStep]


# --- results handed to the dialogue --------------------------------------------------------------


@dataclass(frozen=True)
class PracticeState:
    """Where a learner is in one case; small and immutable so it fits in ``practice_`` slots."""

    case_id: str
    question_index: int = 0
    answers: Tuple[Tuple[int, int], ...] = ()  # (question index, chosen option index)


@dataclass(frozen=True)
class Feedback:
    """What the learner sees after answering; ``source_label`` is shown as 'Bron: …'."""

    correct: bool
    text: str
    best_option_text: str
    source_label: str


@dataclass(frozen=True)
class Summary:
    """End of a case: score, weak themes and missed question kinds, and the suggested next case."""

    score: int
    max_score: int
    answered: int
    weak_themes: Tuple[str, ...]
    missed_kinds: Tuple[str, ...]
    next_case_id: Optional[str]
    next_case_title: Optional[str]
    text: str


# --- access -----------------------------------------------------------------------------------


def practice_knowledge(kb: Optional[KnowledgeBase] = None) -> PracticeKnowledge:
    practice: PracticeKnowledge = (kb or knowledge()).one(SECTION)
    return practice


def cases(kb: Optional[KnowledgeBase] = None) -> Tuple[PracticeCase, ...]:
    return tuple(practice_knowledge(kb).cases)


def case_by_id(case_id: str, kb: Optional[KnowledgeBase] = None) -> PracticeCase:
    """The case with this id; KeyError when a stored state points to a case that no longer exists."""
    found = next((case for case in cases(kb) if case.id == case_id), None)
    if found is None:
        raise KeyError(f"unknown practice case '{case_id}'")
    return found


def tour_steps(kb: Optional[KnowledgeBase] = None) -> Tuple[TourStep, ...]:
    return tuple(practice_knowledge(kb).tour)


# --- choosing a case --------------------------------------------------------------------------


def _matches(case: PracticeCase, level: Optional[str], school_type: Optional[str], theme: Optional[str]) -> bool:
    return (
        (level is None or case.level == level)
        and (school_type is None or case.school_type == school_type)
        and (theme is None or theme in case.themes)
    )


_Filters = Tuple[Optional[str], Optional[str], Optional[str]]  # level, school type, theme


def _pick_order(level: Optional[str], school_type: Optional[str], theme: Optional[str]) -> List[Tuple[bool, _Filters]]:
    """Tiers from best to worst: (only new cases?, filters kept).

    Why this order: the wished theme matters most (a teacher asks for "VGV" because that is what worries
    them), the school type next, the level least. A new case beats a repeat as long as the theme holds;
    only when no case has the theme do we drop it, so the learner always gets *something* to practise.
    """
    keep_theme = [(level, school_type, theme), (None, school_type, theme), (None, None, theme)]
    return (
        [(True, filters) for filters in keep_theme]
        + [(False, filters) for filters in keep_theme]
        + [(True, (None, None, None)), (False, (None, None, None))]
    )


def pick_case(
    done_ids: Set[str],
    level: Optional[str],
    school_type: Optional[str],
    theme: Optional[str],
    rng: random.Random,
    kb: Optional[KnowledgeBase] = None,
) -> Optional[PracticeCase]:
    """A case for the learner: new ones first, filters relaxed step by step (see ``pick_note``)."""
    all_cases = cases(kb)
    for only_new, (lv, st, th) in _pick_order(level, school_type, theme):
        pool = [c for c in all_cases if _matches(c, lv, st, th) and not (only_new and c.id in done_ids)]
        if pool:
            return rng.choice(sorted(pool, key=lambda c: c.id))
    return None


def pick_note(
    case: PracticeCase, done_ids: Set[str], level: Optional[str], school_type: Optional[str], theme: Optional[str]
) -> Optional[str]:
    """Tell the learner honestly where the picked case differs from what they asked for."""
    remarks = []
    if theme is not None and theme not in case.themes:
        remarks.append(f"er is geen casus over {THEMES.get(theme, theme)}")
    if school_type is not None and case.school_type != school_type:
        remarks.append(f"deze casus speelt in het {case.school_type}, niet in het {school_type}")
    if level is not None and case.level != level:
        remarks.append(f"deze casus is van niveau {case.level}")
    if case.id in done_ids:
        remarks.append("u heeft alle passende casussen al gedaan, dit is een herhaling")
    if not remarks:
        return None
    return f"{MARKER}let op: {'; '.join(remarks)}."


# --- one case, question by question --------------------------------------------------------------


def start(case: PracticeCase) -> PracticeState:
    return PracticeState(case_id=case.id)


def case_intro(case: PracticeCase) -> str:
    return (
        f"{MARKER}dit is een oefencasus, geen echte leerling.\n"
        f"{case.title} ({case.school_type}, {case.level})\n{case.vignette}"
    )


def start_tour() -> PracticeState:
    """The tour runs through the same states as a case: one check question per step."""
    return PracticeState(case_id=TOUR_ID)


def _questions(case_id: str, kb: Optional[KnowledgeBase]) -> Sequence[Question]:
    if case_id == TOUR_ID:
        return [step.check for step in tour_steps(kb)]
    return case_by_id(case_id, kb).questions


def current_question(state: PracticeState, kb: Optional[KnowledgeBase] = None) -> Optional[Question]:
    """The question to answer now, or None when the case (or the tour) is finished."""
    questions = _questions(state.case_id, kb)
    return questions[state.question_index] if state.question_index < len(questions) else None


def prompt(state: PracticeState, kb: Optional[KnowledgeBase] = None) -> Optional[str]:
    """The whole message that asks the current question; in the tour, the step's explanation first."""
    question = current_question(state, kb)
    if question is None:
        return None
    total = len(_questions(state.case_id, kb))
    asked = question_text(question, state.question_index + 1, total)
    if state.case_id != TOUR_ID:
        return asked
    return tour_step_text(tour_steps(kb)[state.question_index]) + "\n" + asked


def question_text(question: Question, number: int, total: int) -> str:
    """The question with numbered options, for channels without buttons (numbers match match_option)."""
    lines = [f"{MARKER}vraag {number} van {total}: {question.text}"]
    lines += [f"{i}. {option.text}" for i, option in enumerate(question.options, start=1)]
    return "\n".join(lines)


_WORD = re.compile(r"[a-z0-9à-ÿ]+")
_ORDINALS: Dict[str, int] = {
    "1": 0,
    "2": 1,
    "3": 2,
    "4": 3,
    "a": 0,
    "b": 1,
    "c": 2,
    "d": 3,
    "eerste": 0,
    "tweede": 1,
    "derde": 2,
    "vierde": 3,
    "1e": 0,
    "2e": 1,
    "3e": 2,
    "4e": 3,
    "één": 0,
    "twee": 1,
    "drie": 2,
    "vier": 3,
    "laatste": -1,
}
# Words around a choice ("ik kies de tweede", "optie b graag") that carry no content of their own.
_FILLER = frozenset(
    "ik kies neem denk doe ga voor de het optie antwoord nummer keuze letter dus is die deze dat wordt "
    "mijn graag maar toch dan zou je u lijkt me mij".split()
)
# Dutch function words that make unrelated sentences look alike to a fuzzy matcher.
_STOPWORDS = _FILLER | frozenset(
    "een en of van in op met naar bij te om aan als niet wel ook er zo dit zijn hun haar zij "
    "hij ze we wij eerst nog al".split()
)
FUZZY_MIN_SCORE = 60.0
FUZZY_MIN_MARGIN = 10.0


def _words(text: str) -> List[str]:
    return _WORD.findall(text.lower())


def _is_choice(words: Sequence[str]) -> bool:
    """True when an answer only names an option ("2", "b", "ik kies de tweede") and says nothing else."""
    return all(w in _FILLER or w in _ORDINALS for w in words)


def _selected_index(words: Sequence[str], n_options: int) -> Optional[int]:
    """The option a choice answer points to; None when it names none, several, or one that does not exist."""
    chosen = {_ORDINALS[w] for w in words if w in _ORDINALS}
    if len(chosen) != 1:
        return None
    index = chosen.pop()
    index = index + n_options if index < 0 else index  # "de laatste"
    return index if index < n_options else None


def _content(text: str) -> str:
    return " ".join(w for w in _words(text) if w not in _STOPWORDS)


def match_option(question: Question, text: str) -> Optional[int]:
    """Which option a typed answer means: a number/letter/ordinal, or own words close to one option.

    Why the margin: several options often share words ("Veilig Thuis", "ouders"); an answer that is as
    close to two options is unclear, and asking again is better than grading the wrong choice.
    """
    words = _words(text)
    if _is_choice(words):
        return _selected_index(words, len(question.options))
    answer_words = _content(text)
    if not answer_words:
        return None
    scores = sorted(
        ((fuzz.token_set_ratio(answer_words, _content(option.text)), i) for i, option in enumerate(question.options)),
        reverse=True,
    )
    (best_score, best), (second_score, _) = scores[0], scores[1]
    if best_score < FUZZY_MIN_SCORE or best_score - second_score < FUZZY_MIN_MARGIN:
        return None
    return best


def judge(question: Question, option_index: int, kb: Optional[KnowledgeBase] = None) -> Feedback:
    """Feedback on one chosen option: verdict, the option's own explanation, the best answer, source."""
    if not 0 <= option_index < len(question.options):
        raise ValueError(f"option {option_index} does not exist (0..{len(question.options) - 1})")
    chosen, best = question.options[option_index], question.options[question.best_index]
    correct = option_index == question.best_index
    if correct:
        text = f"{MARKER}goed gekozen. {chosen.feedback}"
    else:
        text = (
            f"{MARKER}dit is niet het beste antwoord. {chosen.feedback}\n"
            f"Beter: {best.text.rstrip('.')}. {best.feedback}"
        )
    return Feedback(
        correct=correct, text=text, best_option_text=best.text, source_label=source_label(question.source, kb)
    )


def answer(
    state: PracticeState, option_index: int, kb: Optional[KnowledgeBase] = None
) -> Tuple[PracticeState, Feedback]:
    """Grade the current question and move on; ValueError when the case is already finished."""
    question = current_question(state, kb)
    if question is None:
        raise ValueError(f"practice case '{state.case_id}' has no open question")
    feedback = judge(question, option_index, kb)
    moved = PracticeState(
        case_id=state.case_id,
        question_index=state.question_index + 1,
        answers=state.answers + ((state.question_index, option_index),),
    )
    return moved, feedback


# --- after the case ---------------------------------------------------------------------------


def _wrong_questions(state: PracticeState, case: PracticeCase) -> List[CaseQuestion]:
    return [case.questions[q] for q, chosen in state.answers if case.questions[q].best_index != chosen]


def _suggest(
    case: PracticeCase, weak_themes: Sequence[str], done_ids: Iterable[str], kb: Optional[KnowledgeBase]
) -> Optional[PracticeCase]:
    """Next case: new, sharing a weak theme if there is one, else the same school type, else any."""
    seen = set(done_ids) | {case.id}
    others = [c for c in cases(kb) if c.id != case.id]
    fresh = [c for c in others if c.id not in seen] or others

    def rank(candidate: PracticeCase) -> Tuple[bool, bool, str]:
        shares_weak = bool(set(candidate.themes) & set(weak_themes))
        return (not shares_weak, candidate.school_type != case.school_type, candidate.id)

    return min(fresh, key=rank) if fresh else None


def summary(state: PracticeState, kb: Optional[KnowledgeBase] = None, done_ids: Iterable[str] = frozenset()) -> Summary:
    """Score, what to practise more and which case next; also valid when the learner stopped early."""
    if state.case_id == TOUR_ID:
        return _tour_summary(state, kb, done_ids)
    case = case_by_id(state.case_id, kb)
    wrong = _wrong_questions(state, case)
    score = len(state.answers) - len(wrong)
    weak = tuple(case.themes) if wrong else ()
    missed = tuple(dict.fromkeys(q.kind for q in wrong))
    following = _suggest(case, weak, done_ids, kb)
    parts = [f"{MARKER}u had {score} van de {len(case.questions)} vragen goed."]
    if len(state.answers) < len(case.questions):
        parts.append(f"U beantwoordde {len(state.answers)} van de {len(case.questions)} vragen.")
    if missed:
        parts.append("Let bij een volgende casus vooral op " + _join(QUESTION_KINDS[k] for k in missed) + ".")
    if weak:
        parts.append("Oefen nog eens met het thema " + _join(THEMES[t] for t in weak) + ".")
    if following is not None:
        parts.append(f"Volgende casus: {following.title}.")
    return Summary(
        score=score,
        max_score=len(case.questions),
        answered=len(state.answers),
        weak_themes=weak,
        missed_kinds=missed,
        next_case_id=following.id if following else None,
        next_case_title=following.title if following else None,
        text=" ".join(parts),
    )


def _tour_summary(state: PracticeState, kb: Optional[KnowledgeBase], done_ids: Iterable[str]) -> Summary:
    """After the tour: the score on the check questions and a first, basic case to practise."""
    checks = _questions(TOUR_ID, kb)
    score = sum(checks[q].best_index == chosen for q, chosen in state.answers)
    seen = set(done_ids)
    first = next((c for c in cases(kb) if c.level == "basis" and c.id not in seen), None)
    parts = [f"{MARKER}einde van de uitleg. U had {score} van de {len(checks)} controlevragen goed."]
    if first is not None:
        parts.append(f"Oefen nu met een casus: {first.title}.")
    return Summary(
        score=score,
        max_score=len(checks),
        answered=len(state.answers),
        weak_themes=(),
        missed_kinds=(),
        next_case_id=first.id if first else None,
        next_case_title=first.title if first else None,
        text=" ".join(parts),
    )


def _join(items: Iterable[str]) -> str:
    words = list(items)
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " en " + words[-1]


def tour_step_text(step: TourStep) -> str:
    return f"{MARKER}uitleg stap {step.step} van {len(TOUR_STEPS)}: {step.title}\n{step.text}"


# --- organisation report (python -m bot learning-report) -----------------------------------------

MIN_REPORTED_ATTEMPTS = 3  # fewer could identify the one colleague who practised a case
WEAK_SHARE = 0.7
NO_RESULTS = "- nog geen resultaten"

Aggregate = Union[Mapping[str, Any], Iterable[Mapping[str, Any]]]


@dataclass
class _Tally:
    """Finished attempts and correct answers, summed over one case or over all cases of a theme."""

    attempts: int = 0
    correct: float = 0.0
    possible: int = 0
    people: Optional[int] = None  # a lower bound of distinct colleagues, when the source knows it

    def add(self, attempts: int, correct: float, questions: int, people: Optional[int]) -> None:
        self.attempts += attempts
        self.correct += correct
        self.possible += attempts * questions
        if people is not None:  # people over several cases may overlap: the largest group is a safe bound
            self.people = max(self.people or 0, people)

    @property
    def share(self) -> float:
        return self.correct / self.possible if self.possible else 0.0

    @property
    def reportable(self) -> bool:
        group = self.people if self.people is not None else self.attempts
        return group >= MIN_REPORTED_ATTEMPTS


def _case_tallies(aggregate: Aggregate, known: Mapping[str, PracticeCase]) -> Tuple[Dict[str, _Tally], List[str]]:
    """Per-case tallies from the store's aggregate or from raw rows, plus ids no longer in the file."""
    if isinstance(aggregate, Mapping):
        rows = [
            (
                str(r["case_id"]),
                int(r["attempts"]),
                float(r["average_score"]) * int(r["attempts"]),
                int(r["people"]) if "people" in r else None,
            )
            for r in aggregate.get("cases", [])
        ]
    else:
        rows = [(str(r["case_id"]), 1, float(r["score"]), None) for r in aggregate]
    tallies: Dict[str, _Tally] = defaultdict(_Tally)
    unknown = set()
    for case_id, attempts, correct, people in rows:
        if attempts <= 0:
            continue
        if case_id in known:
            tallies[case_id].add(attempts, correct, len(known[case_id].questions), people)
        else:
            unknown.add(case_id)
    return dict(tallies), sorted(unknown)


def _tally_line(label: str, tally: _Tally) -> str:
    if not tally.reportable:
        return f"- {label}: {tally.attempts} keer geoefend (te weinig deelnemers om een score te tonen)"
    return f"- {label}: {round(100 * tally.share)}% goed, {tally.attempts} keer geoefend"


def learning_report(organisation_id: str, aggregate: Aggregate, kb: Optional[KnowledgeBase] = None) -> str:
    """Anonymised practice report for an organisation: per theme, per case, and what nobody practised.

    ``aggregate`` is either the store's ``PracticeRepository.aggregate(organisation_id)``:
    ``{"cases": [{"case_id": str, "attempts": int, "average_score": float, "people": int}, ...]}``
    where ``average_score`` is the mean number of correct answers per finished attempt and ``people``
    (optional) the number of distinct colleagues. Other keys, such as per-theme figures, are ignored:
    themes are derived here from the cases so they always match the current file. Or plain rows, one
    per finished attempt: ``{"case_id": str, "score": int}``. The maximum score comes from the case
    itself. A score is only shown for at least ``MIN_REPORTED_ATTEMPTS`` colleagues (or attempts, when
    the number of people is unknown), so a single colleague's result cannot be read from the report.
    """
    known = {case.id: case for case in cases(kb)}
    per_case, unknown = _case_tallies(aggregate, known)
    per_theme: Dict[str, _Tally] = {theme: _Tally() for theme in THEMES}
    for case_id, tally in per_case.items():
        for theme in known[case_id].themes:
            per_theme[theme].add(tally.attempts, tally.correct, len(known[case_id].questions), tally.people)
    total = sum(t.attempts for t in per_case.values())
    lines = [
        f"Oefenresultaten meldcode, organisatie {organisation_id} (geanonimiseerd)",
        f"Afgeronde oefeningen: {total}, in {len(per_case)} van de {len(known)} casussen.",
        "",
        "Per thema:",
    ]
    lines += [_tally_line(THEMES[t], tally) for t, tally in per_theme.items() if tally.attempts] or [NO_RESULTS]
    weak = [THEMES[t] for t, tally in per_theme.items() if tally.reportable and tally.share < WEAK_SHARE]
    untried = [THEMES[t] for t, tally in per_theme.items() if not tally.attempts]
    if weak:
        lines.append(f"Aandachtspunt (minder dan {round(100 * WEAK_SHARE)}% goed): {_join(weak)}.")
    if untried:
        lines.append(f"Nog niet geoefend: {_join(untried)}.")
    lines += ["", "Per casus:"]
    lines += [
        _tally_line(f"{known[case_id].title} ({case_id})", per_case[case_id]) for case_id in sorted(per_case)
    ] or [NO_RESULTS]
    if unknown:
        lines.append(f"Resultaten van casussen die niet meer bestaan: {', '.join(unknown)}.")
    return "\n".join(lines)


# --- checks for python -m bot check ---------------------------------------------------------------


@check("learning")
def check_learning(kb: KnowledgeBase) -> List[str]:
    """Cross-case rules the schema cannot see: unique ids, enough cases, coverage, a complete tour.

    (Per question rules — 3–4 options, exactly one best, a source — already fail while loading, with
    the file and line.)
    """
    loaded = kb.files[SECTION][0]
    data = cast(PracticeKnowledge, loaded.model)  # the section is loaded as PracticeKnowledge
    problems: List[str] = []
    first_seen: Dict[str, int] = {}
    for i, case in enumerate(data.cases):
        if case.id in first_seen:
            problems.append(
                f"{location(loaded, ('cases', i, 'id'))}: duplicate case id '{case.id}' "
                f"(first at {location(loaded, ('cases', first_seen[case.id], 'id'))})"
            )
        first_seen.setdefault(case.id, i)
    where = location(loaded, ("cases",))
    if len(data.cases) < MIN_CASES:
        problems.append(f"{where}: {len(data.cases)} cases, at least {MIN_CASES} needed")
    problems += _coverage(where, "theme", THEMES, {t for c in data.cases for t in c.themes})
    problems += _coverage(where, "school type", SCHOOL_TYPES, {c.school_type for c in data.cases})
    problems += _coverage(where, "level", LEVELS, {c.level for c in data.cases})
    steps = tuple(step.step for step in data.tour)
    if steps != TOUR_STEPS:
        problems.append(
            f"{location(loaded, ('tour',))}: the tour must explain steps {list(TOUR_STEPS)} "
            f"in order, found {list(steps)}"
        )
    return problems


def _coverage(where: str, what: str, wanted: Iterable[str], present: Set[str]) -> List[str]:
    return [f"{where}: no case for {what} '{item}'" for item in wanted if item not in present]
