"""The afwegingskader (bot/weighing.py + knowledge/weighing.yml) against seed 003's own text.

The expected routes below are written out again from the protocol of Stichting Consent ("Stap 4",
afwegingen 1-5, and "Stap 5-I" for doubt), independently of the YAML, so a wrong edge in the data
fails here.
"""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path
from typing import Dict, Optional, Tuple

import pytest

from bot import weighing as w
from bot.knowledge import KNOWLEDGE_DIR, REPO_ROOT, SECTIONS, KnowledgeBase, KnowledgeError, check_sources, load_all
from bot.profiles import Organisation, profile, render

MY_SECTIONS = {k: SECTIONS[k] for k in ("sources.yml", "weighing.yml", "organisations/")}
VT_NUMBER = "0800-2000"

# question -> answer -> next question (int) or outcome id (str), from seed 003 "Stap 4" / "Stap 5-I".
FRAMEWORK: Dict[int, Dict[str, object]] = {
    # twijfel: "Neem bij twijfel altijd contact op met Veilig Thuis"
    1: {"ja": 2, "nee": "no_action_close", "twijfel": "consult_vt_first"},
    2: {"ja": "melden_acute", "twijfel": "melden_acute", "nee": 3},  # "Ja of twijfel -> direct melden"
    3: {"ja": 4, "nee": "melden_no_help", "twijfel": "melden_no_help"},  # 5-I: twijfel aan bescherming -> melden
    4: {"ja": "start_help", "nee": "melden_not_accepted", "twijfel": "melden_not_accepted"},
    5: {"ja": "close_help_monitor", "nee": "melden_no_result", "twijfel": "melden_no_result"},
}
WAITS_FOR_Q5 = {"start_help"}
# (decision I melding needed, decision II help possible) per outcome; None = not decided by the school alone.
DECISIONS = {
    "no_action_close": (False, None),
    "consult_vt_first": (None, None),
    "melden_acute": (True, None),
    "melden_no_help": (True, None),
    "melden_not_accepted": (True, None),
    "start_help": (False, True),
    "melden_no_result": (True, None),
    "close_help_monitor": (False, True),
}


def _expected(answers: Tuple[str, ...]) -> Tuple[object, int]:
    """(outcome id, or the question asked next, and how many answers were used) by the table above."""
    node: object = 1
    for used, a in enumerate(answers, start=1):
        node = FRAMEWORK[node][a]  # type: ignore[index]
        if node in WAITS_FOR_Q5 and used < len(answers):
            node = 5  # the help ran; question 5 is answered once the term has passed
        elif isinstance(node, str):
            return node, used
    return node, len(answers)


ALL_SEQUENCES = [seq for k in range(1, 6) for seq in itertools.product(w.ANSWERS, repeat=k)]
# Every distinct path that ends exactly in an outcome (start_help included, while it waits for question 5).
TERMINAL_PATHS = [seq for seq in ALL_SEQUENCES if isinstance(_expected(seq)[0], str) and _expected(seq)[1] == len(seq)]


def _knowledge_root(tmp: Path, weighing_yml: Optional[str] = None) -> Path:
    """A knowledge folder with only this capability's files and the national profile they render with."""
    (tmp / "sources.yml").symlink_to(KNOWLEDGE_DIR / "sources.yml")
    (tmp / "sources").symlink_to(KNOWLEDGE_DIR / "sources")  # the national excerpts the quotes come from
    if weighing_yml is None:
        (tmp / "weighing.yml").symlink_to(KNOWLEDGE_DIR / "weighing.yml")
    else:
        (tmp / "weighing.yml").write_text(weighing_yml, encoding="utf-8")
    (tmp / "organisations").mkdir()
    (tmp / "organisations" / "national.yml").symlink_to(KNOWLEDGE_DIR / "organisations" / "national.yml")
    return tmp


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return load_all(_knowledge_root(tmp_path_factory.mktemp("knowledge")), MY_SECTIONS)


@pytest.fixture(scope="module")
def org(kb: KnowledgeBase) -> Organisation:
    return profile("national", kb)


def _state(kb: KnowledgeBase, *answers: Tuple[int, str]) -> w.WeighingState:
    state = w.WeighingState()
    for n, a in answers:
        state = w.answer(state, n, a, kb)  # type: ignore[arg-type]
    return state


# --- every path ---------------------------------------------------------------------------------


@pytest.mark.parametrize("answers", ALL_SEQUENCES, ids="-".join)
def test_every_answer_sequence_follows_the_framework(kb, org, answers):
    expected, used = _expected(answers)
    state = w.WeighingState()
    for n, a in enumerate(answers[:used], start=1):
        state = w.answer(state, n, a, kb)
    result = w.outcome(state, org, kb)
    if isinstance(expected, int):
        assert w.next_question(state, kb) == expected and result is None
        return
    assert result is not None and result.id == expected
    assert (result.melding_needed, result.help_possible) == DECISIONS[expected]
    assert result.waiting_for_q5 == (expected in WAITS_FOR_Q5)
    assert w.next_question(state, kb) is None
    if used < len(answers):
        with pytest.raises(ValueError):
            w.answer(state, used + 1, answers[used], kb)


def test_the_table_covers_every_outcome_in_the_knowledge(kb):
    reachable = {v for routes in FRAMEWORK.values() for v in routes.values() if isinstance(v, str)}
    assert {o.id for o in kb.one("weighing.yml").outcomes} == reachable == set(DECISIONS)


def test_doubt_about_safety_means_reporting_directly_with_112_for_direct_danger(kb, org):
    result = w.outcome(_state(kb, (1, "ja"), (2, "twijfel")), org, kb)
    assert result.id == "melden_acute" and result.melding_needed is True
    assert any(VT_NUMBER in c for c in result.call) and any(c.endswith(": 112") for c in result.call)
    assert VT_NUMBER in result.lines[0]
    assert ("vt_feedback", 5) in result.followups


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_doubt_never_closes_a_case_without_veilig_thuis(kb, org, n):
    """Doubt is never silently 'nee': every doubt leads to a melding or to asking Veilig Thuis first."""
    path = {
        1: [],
        2: [(1, "ja")],
        3: [(1, "ja"), (2, "nee")],
        4: [(1, "ja"), (2, "nee"), (3, "ja")],
        5: [(1, "ja"), (2, "nee"), (3, "ja"), (4, "ja")],
    }[n]
    result = w.outcome(_state(kb, *path, (n, "twijfel")), org, kb)
    assert result.melding_needed is not False
    assert any(VT_NUMBER in c for c in result.call)
    assert "twijfel" in w.explain_trace(path + [(n, "twijfel")], org, kb)


# --- order and allowed answers ------------------------------------------------------------------


@pytest.mark.parametrize(
    "answers",
    [
        [(2, "ja")],  # skipping question 1
        [(1, "ja"), (1, "ja")],  # the same question twice
        [(1, "ja"), (3, "ja")],  # skipping question 2
        [(1, "nee"), (2, "ja")],  # after the case was closed
        [(1, "ja"), (2, "ja"), (3, "ja")],  # after the acute melding (the rest goes with Veilig Thuis)
        [(1, "ja"), (2, "nee"), (3, "ja"), (5, "ja")],  # question 5 before the help was accepted
        [(1, "misschien")],  # not an allowed answer
        [(6, "ja")],  # no such question
    ],
)
def test_answers_out_of_order_or_not_allowed_raise(kb, answers):
    with pytest.raises(ValueError):
        _state(kb, *answers)


def test_help_waits_for_question_five_and_then_ends(kb, org):
    state = _state(kb, (1, "ja"), (2, "nee"), (3, "ja"), (4, "ja"))
    waiting = w.outcome(state, org, kb)
    assert w.next_question(state, kb) is None and waiting.waiting_for_q5 and waiting.id == "start_help"
    done = w.answer(state, 5, "ja", kb)
    closed = w.outcome(done, org, kb)
    assert closed.id == "close_help_monitor" and not closed.waiting_for_q5
    with pytest.raises(ValueError):
        w.answer(done, 5, "nee", kb)


def test_next_question_walks_one_to_four(kb):
    state = w.WeighingState()
    asked = []
    for a in ("ja", "nee", "ja"):
        n = w.next_question(state, kb)
        asked.append(n)
        state = w.answer(state, n, a, kb)
    assert asked == [1, 2, 3] and w.next_question(state, kb) == 4


def test_outcome_is_none_while_questions_remain(kb, org):
    assert w.outcome(_state(kb, (1, "ja")), org, kb) is None
    assert w.outcome_id(_state(kb, (1, "ja"), (2, "ja")), kb) == "melden_acute"


def test_stored_answers_split_into_weighings_at_each_first_question(kb):
    stored = [(1, "twijfel"), (1, "ja"), (2, "nee"), (3, "ja"), (4, "ja"), (5, "ja"), (1, "ja"), (2, "ja")]
    runs = w.split_runs(stored, kb)
    assert runs == (((1, "twijfel"),), ((1, "ja"), (2, "nee"), (3, "ja"), (4, "ja"), (5, "ja")), ((1, "ja"), (2, "ja")))
    assert w.outcome_id(w.WeighingState(answers=runs[-1]), kb) == "melden_acute"
    with pytest.raises(ValueError):
        w.split_runs([(1, "nee"), (2, "ja")], kb)


# --- outcomes ----------------------------------------------------------------------------------


def _all_outcomes(kb, org):
    for seq in TERMINAL_PATHS:
        yield w.outcome(_state(kb, *enumerate(seq, start=1)), org, kb)


def test_every_outcome_makes_both_decisions_explicit_and_names_a_number(kb, org):
    decisions = kb.one("weighing.yml").decisions
    for result in _all_outcomes(kb, org):
        assert result.lines[-2].startswith(decisions.melding.text.split("{")[0]), result.id
        assert result.lines[-1].startswith(decisions.help.text.split("{")[0]), result.id
        assert result.decision_melding in result.lines[-2] and result.decision_help in result.lines[-1]
        assert result.call and result.sources, result.id


def test_every_melding_outcome_names_veilig_thuis_and_decides_help_with_them(kb, org):
    melding_ids = set()
    for result in _all_outcomes(kb, org):
        if result.melding_needed:
            melding_ids.add(result.id)
            assert any(VT_NUMBER in c for c in result.call), result.id
            assert VT_NUMBER in result.lines[0], f"{result.id}: the first action must give the number"
            assert "samen met Veilig Thuis en de betrokkenen" in result.decision_help
            assert ("vt_feedback", 5) in result.followups
            assert any("vooraf met de ouders" in line for line in result.lines)
    assert melding_ids == {k for k, (melding, _) in DECISIONS.items() if melding}


def _rendered(statement, org, kb) -> str:
    return render(statement.text, org, kb)


# --- issue 11: fidelity to the national afwegingskader ------------------------------------------


def test_question_one_asks_whether_there_is_a_suspicion_at_all(kb, org):
    """The kader asks after steps 1-3 whether there is a vermoeden at all; 'nee' closes only then."""
    q1 = w.question(1, org, kb)
    assert "vermoeden" in q1.text and "sterk" not in (q1.text + q1.explanation).lower()
    closed = w.outcome(_state(kb, (1, "nee")), org, kb)
    assert "geen vermoeden" in closed.title.lower()
    assert any("geen vermoeden" in line for line in closed.lines)
    assert "geen vermoeden" in w.explain_trace([(1, "nee")], org, kb)
    assert all("sterk vermoeden" not in line for line in w.explain_trace([(1, "ja")], org, kb).splitlines())


def test_a_melding_by_a_professional_is_not_anonymous(kb, org):
    """Only advice is anonymous: the reporter's name is known to Veilig Thuis, kept from the family only by
    exception."""
    for result in _all_outcomes(kb, org):
        text = " ".join(result.lines)
        assert "zo nodig anoniem" not in text and "(anoniem) melding" not in text, result.id
        if result.melding_needed:
            assert any("uw eigen naam" in line and "uitzondering" in line for line in result.lines), result.id


def test_question_three_is_about_second_line_help_not_the_teacher_alone(kb, org):
    q3 = w.question(3, org, kb)
    assert not q3.text.startswith("Kunt u") and "uzelf" not in q3.explanation
    assert org.terms["ib"] in q3.text and org.terms["board"] in q3.explanation
    assert "niet om hulp die u als" in q3.explanation


@pytest.mark.parametrize("n", [3, 4, 5])
def test_doubt_at_questions_three_to_five_means_calling_veilig_thuis_who_can_take_the_melding(kb, org, n):
    reason = _rendered(kb.one("weighing.yml").question(n).answers["twijfel"].reason, org, kb)
    assert "geen antwoord 'twijfel'" in reason and "Veilig Thuis" in reason and "hetzelfde gesprek" in reason


def test_doubt_about_the_suspicion_sets_a_reminder_to_weigh_again(kb, org):
    result = w.outcome(_state(kb, (1, "twijfel")), org, kb)
    assert [kind for kind, _ in result.followups] == ["weigh_again"]
    assert "opnieuw" in w.followup_text("weigh_again", org, kb)


def test_help_without_a_term_sets_a_reminder_to_agree_one(kb, org):
    state = _state(kb, (1, "ja"), (2, "nee"), (3, "ja"), (4, "ja"))
    assert "set_help_term" in dict(w.outcome(state, org, kb).followups)
    assert "termijn" in w.followup_text("set_help_term", org, kb)
    vague = w.record_help_plan(state, term="na de herfstvakantie", kb=kb)  # no duration: still no reminder date
    assert "set_help_term" in dict(w.outcome(vague, org, kb).followups)
    agreed = w.record_help_plan(state, term="6 weken", kb=kb)
    assert "set_help_term" not in dict(w.outcome(agreed, org, kb).followups)
    assert w.plan_followup_kinds(kb) == frozenset({"set_help_term", "help_term_end"})
    assert w.followups_settled_by("new_weighing", kb) == frozenset({"weigh_again"})
    assert w.followups_settled_by("term_agreed", kb) == frozenset({"set_help_term"})


def test_pupils_from_twelve_are_always_involved_and_advice_needs_no_consent(kb, org):
    twelve_to_fifteen = " ".join(w.parental_talk_advice(org, 14, kb))
    assert "ouders alleen" not in twelve_to_fifteen and "altijd" in twelve_to_fifteen
    sixteen = " ".join(w.parental_talk_advice(org, 16, kb))
    assert "toestemming" in sixteen and "de leerling zelf" in sixteen
    advice = w.outcome(_state(kb, (1, "twijfel")), org, kb)
    assert any("geen toestemming" in line for line in advice.lines)


def test_after_a_melding_the_school_stays_involved(kb, org):
    for result in _all_outcomes(kb, org):
        if result.melding_needed:
            assert "blijft betrokken" in result.decision_help, result.id
            assert any("opnieuw" in line and "meld" in line for line in result.lines), result.id


def test_acute_outcome_separates_direct_danger_from_reporting(kb, org):
    result = w.outcome(_state(kb, (1, "ja"), (2, "ja")), org, kb)
    assert any("direct gevaar" in line and "112" in line for line in result.lines)
    assert not any("zonder direct gevaar" in line for line in result.lines)


def test_answers_start_with_ja_or_nee_only_for_their_own_yes_no_question(kb, org):
    """A reason for 'nee' does not open with 'Ja' and vice versa; decisions answer their own question."""
    wk = kb.one("weighing.yml")
    for q in wk.questions:
        for a, route in q.answers.items():
            first = route.reason.text.split()[0].strip(".,").lower()
            assert first not in {"ja", "nee"} or first == a, (q.number, a)


def test_suspicion_requires_the_school_leader_to_know(kb, org):
    result = w.outcome(_state(kb, (1, "ja"), (2, "nee"), (3, "nee")), org, kb)
    leader = org.terms["school_leader"]
    assert any(f"de {leader} op de hoogte" in line for line in result.lines)
    closed = w.outcome(_state(kb, (1, "nee")), org, kb)
    assert not any("op de hoogte" in line for line in closed.lines)


def test_texts_use_the_organisations_own_words(kb):
    consent = Organisation(
        id="consent",
        name="Stichting Consent",
        school_types=["PO"],
        checked=date(2026, 12, 1),
        terms={"school_leader": "schoolleider", "veilig_thuis": "Veilig Thuis Twente", "care_team": "zorgadviesteam"},
    )
    q2 = w.question(2, consent, kb)
    assert "de schoolleider" in q2.explanation and "{" not in q2.explanation + q2.text
    result = w.outcome(_state(kb, (1, "ja"), (2, "nee"), (3, "ja"), (4, "ja")), consent, kb)
    assert result.call[0].startswith("Veilig Thuis Twente: 0800-2000")
    assert any("Het zorgadviesteam kan" in line for line in result.lines)


def test_help_plan_is_optional_recorded_later_and_sets_the_term_follow_up(kb, org):
    state = _state(kb, (1, "ja"), (2, "nee"), (3, "ja"), (4, "ja"))
    # Seed 001: check after one or two weeks whether the parents reached the help (the earliest: 7 days);
    # until a term is agreed, a reminder to agree one (issue 11).
    assert w.outcome(state, org, kb).followups == (("parents_reached_help", 7), ("set_help_term", 5))
    state = w.record_help_plan(state, term="6 weken", kb=kb)
    state = w.record_help_plan(state, casemanager="de intern begeleider", kb=kb)
    assert state.term == "6 weken" and state.casemanager == "de intern begeleider" and state.tasks is None
    result = w.outcome(state, org, kb)
    assert result.followups == (("parents_reached_help", 7), ("help_term_end", 42))
    assert "Termijn: 6 weken" in result.lines and "Wie doet wat: nog vast te leggen" in result.lines
    with pytest.raises(ValueError):
        w.record_help_plan(_state(kb, (1, "ja"), (2, "ja")), term="6 weken", kb=kb)


@pytest.mark.parametrize(
    "text,days",
    [
        ("6 weken", 42),
        ("binnen drie maanden", 90),
        ("14 dagen", 14),
        ("een week", 7),
        ("2 mnd", 60),
        ("na de herfstvakantie", None),
        ("0 weken", None),
    ],
)
def test_parse_term(text, days):
    assert w.parse_term(text) == days


@pytest.mark.parametrize(
    "start,expected",
    [
        (date(2025, 12, 19), date(2025, 12, 30)),  # weekend and both Christmas days skipped
        (date(2026, 4, 24), date(2026, 5, 4)),  # Koningsdag (Mon 27 April) skipped
        (date(2026, 5, 1), date(2026, 5, 11)),  # 5 May (a Tuesday in 2026) skipped
        (date(2025, 3, 3), date(2025, 3, 10)),  # an ordinary week
    ],
)
def test_veilig_thuis_feedback_counts_working_days(kb, start, expected):
    assert w.due_date(start, ("vt_feedback", 5), kb) == expected


def test_help_term_counts_calendar_days(kb):
    assert w.due_date(date(2026, 1, 5), ("help_term_end", 42), kb) == date(2026, 2, 16)


def test_holidays_follow_easter(kb):
    holidays = w.dutch_holidays(2026)  # Easter 2026: 5 April
    assert {date(2026, 4, 6), date(2026, 5, 14), date(2026, 5, 25)} <= holidays
    assert date(2026, 4, 3) in holidays  # Goede Vrijdag: gelijkgesteld by art. 3 lid 2 Algemene termijnenwet


# --- explaining a recorded decision -------------------------------------------------------------


def test_explain_trace_names_each_question_answer_and_the_deciding_one(kb, org):
    trace = [(1, "ja"), (2, "nee"), (3, "twijfel")]
    text = w.explain_trace(trace, org, kb)
    for n, a in trace:
        assert w.question(n, org, kb).text in text
        assert f"Uw antwoord: {a}." in text
    assert "Doorslaggevend was vraag 3 (twijfel)." in text
    assert w.outcome(_state(kb, *trace), org, kb).title in text.splitlines()[0]
    sources = text.splitlines()[-1]
    assert sources.startswith("Bron: ") and "Afwegingskader onderwijs en leerplicht (2019), afweging 3, hulp" in sources


def test_explain_trace_of_an_unfinished_weighing_names_the_next_question(kb, org):
    text = w.explain_trace([(1, "ja")], org, kb)
    assert "Doorslaggevend" not in text
    assert text.splitlines()[-2].endswith(w.question(2, org, kb).text)


def test_explain_trace_while_help_runs_says_question_five_follows(kb, org):
    text = w.explain_trace([(1, "ja"), (2, "nee"), (3, "ja"), (4, "ja")], org, kb)
    assert "Doorslaggevend was vraag 4 (ja)." in text and "volgt vraag 5." in text


def test_explain_trace_rejects_an_impossible_trace(kb, org):
    with pytest.raises(ValueError):
        w.explain_trace([(1, "nee"), (2, "ja")], org, kb)


# --- the talk before a melding ------------------------------------------------------------------


@pytest.mark.parametrize(
    "age,included,excluded",
    [
        (8, "jonger dan 12", "12 tot 16"),
        (12, "12 tot 16", "jonger dan 12"),
        (15, "met de leerling alleen", "16 of ouder"),
        (16, "16 of ouder", "12 tot 16"),
    ],
)
def test_parental_talk_depends_on_the_pupils_age(kb, org, age, included, excluded):
    advice = " ".join(w.parental_talk_advice(org, age, kb))
    assert included in advice and excluded not in advice


def test_parental_talk_without_age_gives_every_rule_and_when_to_skip(kb, org):
    advice = w.parental_talk_advice(org, None, kb)
    text = " ".join(advice)
    assert all(s in text for s in ("jonger dan 12", "12 tot 16", "16 of ouder"))
    assert "veiligheid van de leerling, van uzelf of van een ander" in text
    assert "contact met u verbreken" in text
    with pytest.raises(ValueError):
        w.parental_talk_advice(org, -1, kb)


# --- free-text answers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,expected",
    [
        ("ja", "ja"),
        ("Ja hoor", "ja"),
        ("jazeker!", "ja"),
        ("jaaa", "ja"),
        ("klopt", "ja"),
        ("Dat klopt", "ja"),
        ("zeker", "ja"),
        ("ik denk het wel", "ja"),
        ("Ja, het is thuis niet veilig", "ja"),
        ("jep", "ja"),
        ("daar is geen twijfel over", "ja"),
        ("inderdaad", "ja"),
        ("nee", "nee"),
        ("Nee hoor", "nee"),
        ("neuh", "nee"),
        ("neee", "nee"),
        ("niet echt", "nee"),
        ("ik denk het niet", "nee"),
        ("zeker niet", "nee"),
        ("helaas niet", "nee"),
        ("nope", "nee"),
        ("Nee, het gaat wel goed", "nee"),
        ("klopt niet", "nee"),
        ("twijfel", "twijfel"),
        ("ik twijfel", "twijfel"),
        ("misschien", "twijfel"),
        ("geen idee", "twijfel"),
        ("weet ik niet zeker", "twijfel"),
        ("ja maar ik twijfel nog", "twijfel"),
        ("nee, weet niet", "twijfel"),
        ("moeilijk te zeggen", "twijfel"),
        ("Dat weet ik niet", "twijfel"),
        ("", None),
        ("wat bedoelt u?", None),
        ("ok", None),
        ("het kind kwam met blauwe plekken", None),
    ],
)
def test_parse_answer(text, expected):
    assert w.parse_answer(text) == expected


# --- the knowledge itself -----------------------------------------------------------------------


def test_the_shipped_weighing_is_consistent_and_its_quotes_occur_in_the_seeds(kb):
    assert w.check_weighing(kb) == []
    assert [p for p in check_sources(kb) if "weighing.yml" in p] == []


def _broken(tmp_path: Path, old: str, new: str) -> KnowledgeBase:
    text = (KNOWLEDGE_DIR / "weighing.yml").read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    return load_all(_knowledge_root(tmp_path, text.replace(old, new)), MY_SECTIONS)


@pytest.mark.parametrize(
    "old,new,problem",
    [
        ("      ja:\n        question: 4\n", "      ja:\n        question: 1\n", "cycle"),
        (
            'outcome: melden_not_accepted\n        reason:\n          text: "De betrokkenen aanvaarden de hulp niet',
            'outcome: melden_nowhere\n        reason:\n          text: "De betrokkenen aanvaarden de hulp niet',
            "unknown outcome 'melden_nowhere'",
        ),
        ("    waits_for: 5\n", "", "not reachable from question 1"),
        ("    call: [veilig_thuis, alarm]\n", "    call: [alarm]\n", "must name the Veilig Thuis number"),
    ],
)
def test_check_weighing_reports_a_broken_graph(tmp_path, old, new, problem):
    problems = w.check_weighing(_broken(tmp_path, old, new))
    assert any(problem in p for p in problems), problems


def test_a_melding_outcome_cannot_decide_help_alone(tmp_path):
    with pytest.raises(KnowledgeError, match="decision_help"):
        _broken(
            tmp_path,
            "  - id: melden_no_help\n    title:",
            "  - id: melden_no_help\n    decision_help: {text: zelf, source: {doc: consent, section: x}}\n    title:",
        )


def test_the_weighing_section_is_registered():
    assert SECTIONS["weighing.yml"] == "bot.weighing:WeighingKnowledge"
    assert (REPO_ROOT / "knowledge" / "weighing.yml").exists()
