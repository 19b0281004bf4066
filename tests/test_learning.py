"""Learning mode (bot/learning.py, knowledge/practice_cases.yml): content rules and the practice logic.

The knowledge is loaded with only the sections learning needs, so these tests do not depend on other
capabilities' files that may be in progress.
"""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Dict, List

import pytest
from ruamel.yaml import YAML

from bot import learning
from bot.knowledge import KNOWLEDGE_DIR, SECTIONS, KnowledgeBase, KnowledgeError, check_sources, load_all
from bot.__main__ import report_for_organisation
from bot.learning import MARKER, PracticeState
from bot.store.db import repositories

LEARNING_SECTIONS: Dict[str, str] = {name: SECTIONS[name] for name in ("sources.yml", learning.SECTION)}
# The themes and school types the issue asks every learner to be able to practise.
REQUIRED_THEMES = {
    "physical_abuse",
    "neglect",
    "emotional_abuse",
    "sexual_abuse",
    "domestic_violence_witness",
    "fgm",
    "honour_violence",
    "forced_marriage",
    "staff_suspect",
    "pupil_violence",
    "consent_refused",
    "secrecy_request",
    "acute_danger",
}


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_all(sections=LEARNING_SECTIONS)


def _copy(tmp_path: Path) -> Path:
    for name in LEARNING_SECTIONS:
        (tmp_path / name).write_text((KNOWLEDGE_DIR / name).read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "sources").symlink_to(KNOWLEDGE_DIR / "sources")  # the national excerpts cases cite
    return tmp_path


def _line_of_text(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def _rewrite(path: Path, change) -> None:
    """Load the YAML copy, let ``change`` mutate it, and write it back (round trip keeps the layout)."""
    yaml = YAML(typ="rt")
    yaml.width = 4096
    data = yaml.load(path.read_text(encoding="utf-8"))
    change(data)
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(data, handle)


# --- knowledge validation --------------------------------------------------------------------------


def test_real_file_passes_every_check(kb: KnowledgeBase) -> None:
    assert check_sources(kb) == []
    assert learning.check_learning(kb) == []


def test_second_best_answer_fails_with_file_and_line(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / learning.SECTION
    text = path.read_text(encoding="utf-8")
    wrong = '          - text: "Direct een melding doen bij Veilig Thuis."\n'
    assert wrong in text
    path.write_text(text.replace(wrong, wrong + "            best: true\n"), encoding="utf-8")
    with pytest.raises(KnowledgeError) as raised:
        load_all(root=root, sections=LEARNING_SECTIONS)
    options_line = _line_of_text(path, "options:")  # the first case's first question
    assert any(
        p.startswith(f"{path}:{options_line}:") and "exactly one option must have best: true" in p
        for p in raised.value.problems
    ), raised.value.problems


def test_question_without_source_fails_with_file_and_line(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / learning.SECTION
    _rewrite(path, lambda data: data["cases"][1]["questions"][0].pop("source"))
    with pytest.raises(KnowledgeError) as raised:
        load_all(root=root, sections=LEARNING_SECTIONS)
    line = _line_of_text(path, "id: po-geen-ontbijt")
    problem = next(p for p in raised.value.problems if "source" in p)
    assert re.match(rf"{re.escape(str(path))}:(\d+): cases\.1\.questions\.0\.source: field required", problem)
    assert int(problem.split(":")[1]) > line


def test_invented_quote_is_reported(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / learning.SECTION
    _rewrite(
        path,
        lambda data: data["cases"][0]["questions"][0]["source"].__setitem__(
            "quote", "Bel altijd eerst de ouders voordat u iets vastlegt."
        ),
    )
    problems = check_sources(load_all(root=root, sections=LEARNING_SECTIONS))
    assert len(problems) == 1 and "quote not found" in problems[0] and str(path) in problems[0]


def test_unknown_theme_and_two_options_are_rejected(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / learning.SECTION

    def break_it(data) -> None:
        data["cases"][0]["themes"] = ["bullying"]
        del data["cases"][0]["questions"][0]["options"][3]
        del data["cases"][0]["questions"][0]["options"][0]

    _rewrite(path, break_it)
    with pytest.raises(KnowledgeError) as raised:
        load_all(root=root, sections=LEARNING_SECTIONS)
    messages = " ".join(raised.value.problems)
    assert "unknown: ['bullying']" in messages and "3 or 4 options" in messages


def test_vignette_with_a_full_name_instead_of_an_initial_is_rejected(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / learning.SECTION
    _rewrite(
        path,
        lambda data: data["cases"][0].__setitem__(
            "vignette", data["cases"][0]["vignette"].replace("Leerling A. (groep 6)", "Amira de Vries")
        ),
    )
    with pytest.raises(KnowledgeError) as raised:
        load_all(root=root, sections=LEARNING_SECTIONS)
    assert any("initial" in p for p in raised.value.problems)


def test_cross_case_rules_report_duplicates_coverage_and_tour(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / learning.SECTION

    def break_it(data) -> None:
        data["cases"][1]["id"] = data["cases"][0]["id"]
        data["cases"][:] = [c for c in data["cases"] if "fgm" not in c["themes"]]
        del data["tour"][2]

    _rewrite(path, break_it)
    problems = learning.check_learning(load_all(root=root, sections=LEARNING_SECTIONS))
    duplicate_line = [
        i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if "id: po-blauwe-plekken" in line
    ][1]
    assert f"{path}:{duplicate_line}: duplicate case id 'po-blauwe-plekken'" in " ".join(problems)
    assert any("no case for theme 'fgm'" in p for p in problems)
    assert any("the tour must explain steps [1, 2, 3, 4, 5]" in p for p in problems)
    assert not any("cases, at least" in p for p in problems)  # 27 cases is still enough


def test_too_few_cases_are_reported(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    path = root / learning.SECTION
    _rewrite(path, lambda data: data["cases"].__delitem__(slice(learning.MIN_CASES - 1, None)))
    problems = learning.check_learning(load_all(root=root, sections=LEARNING_SECTIONS))
    assert any(f"{learning.MIN_CASES - 1} cases, at least {learning.MIN_CASES} needed" in p for p in problems)


# --- content ---------------------------------------------------------------------------------------


def test_every_question_has_exactly_one_best_option_and_feedback_for_all(kb: KnowledgeBase) -> None:
    questions = [q for case in learning.cases(kb) for q in case.questions]
    questions += [step.check for step in learning.tour_steps(kb)]
    for question in questions:
        assert [o.best for o in question.options].count(True) == 1, question.text
        assert all(o.feedback for o in question.options), question.text


def test_best_answer_is_not_always_in_the_same_place(kb: KnowledgeBase) -> None:
    positions = [q.best_index for case in learning.cases(kb) for q in case.questions]
    most_common = max(positions.count(p) for p in set(positions))
    assert most_common / len(positions) < 0.5  # guessing one position must not pass the practice


def test_every_required_theme_and_school_type_is_covered(kb: KnowledgeBase) -> None:
    all_cases = learning.cases(kb)
    assert len(all_cases) >= 24
    assert set(learning.THEMES) == REQUIRED_THEMES
    assert {t for case in all_cases for t in case.themes} == REQUIRED_THEMES
    per_type = {st: sum(case.school_type == st for case in all_cases) for st in learning.SCHOOL_TYPES}
    assert per_type["PO"] >= 3 and per_type["VO"] >= 3 and per_type["SO"] + per_type["SBO"] >= 3


def test_cases_follow_the_current_national_numbers(kb: KnowledgeBase) -> None:
    """The outdated AMK number may appear only as a wrong option whose feedback corrects it."""
    for case in learning.cases(kb):
        for question in case.questions:
            for option in question.options:
                if "0900-1231230" in option.text:
                    assert not option.best and "0800-2000" in option.feedback
                if option.best:
                    assert "AMK" not in option.text


EDUCATION_LAWS = {"wpo_art_4a", "wvo_art_3", "wec_art_4a"}


def _texts(case: learning.PracticeCase) -> List[str]:
    return [case.vignette] + [t for q in case.questions for o in q.options for t in (q.text, o.text, o.feedback)]


def test_staff_suspect_cases_follow_the_education_laws(kb: KnowledgeBase) -> None:
    """Issue 11: every staff member informs the bevoegd gezag onverwijld and directly (not via the
    schoolleider, not first the vertrouwenspersoon); on a zedendelict the board must consult the
    vertrouwensinspecteur and, on a redelijk vermoeden, files aangifte after informing parents and accused."""
    staff = [c for c in learning.cases(kb) if "staff_suspect" in c.themes]
    assert staff
    for case in staff:
        first = next(q for q in case.questions if q.kind == "first_action")
        best = next(o for o in first.options if o.best)
        assert "bevoegd gezag" in best.text and "die het bestuur" not in best.text, case.id
        assert "rechtstreeks" in best.feedback, case.id
        assert "onverwijld" in best.feedback or "onmiddellijk" in best.feedback, case.id
        if "sexual_abuse" in case.themes:
            assert first.source.doc in EDUCATION_LAWS, case.id
            contact_or_decision = [
                q
                for q in case.questions
                if "vertrouwensinspecteur" in " ".join(o.feedback for o in q.options if o.best)
            ]
            assert contact_or_decision and all(q.source.doc in EDUCATION_LAWS for q in contact_or_decision), case.id
    aangifte = [o for c in staff for q in c.questions for o in q.options if o.best and "aangifte" in o.text]
    assert aangifte and all("ouders" in o.text or "ouders" in o.feedback for o in aangifte)


def test_practice_texts_carry_none_of_the_errors_issue_11_names(kb: KnowledgeBase) -> None:
    for case in learning.cases(kb):
        for text in _texts(case):
            lowered = text.lower()
            assert "sterk vermoeden" not in lowered and "0800-8051" not in text, case.id
            # Advice may be anonymous; a melding by a professional is not.
            assert not re.search(r"anoniem(e)? (melden|melding)|melding[^.]*anoniem", lowered), case.id
            assert not re.search(r"veilig thuis neemt .*over", lowered), case.id
            assert "uitdrukkelijk niet" not in lowered, case.id  # pupils who are (ex-)partners: huiselijk geweld
    pupil = [c for c in learning.cases(kb) if "pupil_violence" in c.themes]
    assert all(any("(ex-)partners" in t for t in _texts(c)) for c in pupil)


# --- choosing a case -------------------------------------------------------------------------------


def test_pick_case_prefers_cases_not_done(kb: KnowledgeBase) -> None:
    all_ids = [case.id for case in learning.cases(kb)]
    for seed in range(20):
        left = all_ids[seed]
        done = set(all_ids) - {left}
        picked = learning.pick_case(done, None, None, None, random.Random(seed), kb)
        assert picked is not None and picked.id == left


def test_pick_case_respects_every_filter(kb: KnowledgeBase) -> None:
    rng = random.Random(1)
    for _ in range(30):
        picked = learning.pick_case(set(), "gevorderd", "VO", "forced_marriage", rng, kb)
        assert (picked.level, picked.school_type, "forced_marriage" in picked.themes) == ("gevorderd", "VO", True)
        assert learning.pick_note(picked, set(), "gevorderd", "VO", "forced_marriage") is None
        basis_po = learning.pick_case(set(), "basis", "PO", None, rng, kb)
        assert (basis_po.level, basis_po.school_type) == ("basis", "PO")


def test_pick_case_keeps_the_theme_and_relaxes_the_school_type_and_says_so(kb: KnowledgeBase) -> None:
    picked = learning.pick_case(set(), "basis", "VO", "fgm", random.Random(3), kb)
    assert "fgm" in picked.themes and picked.school_type == "PO"
    note = learning.pick_note(picked, set(), "basis", "VO", "fgm")
    assert note.startswith(MARKER) and "PO, niet in het VO" in note and "niveau gevorderd" in note


def test_pick_case_repeats_a_done_case_of_the_theme_before_dropping_the_theme(kb: KnowledgeBase) -> None:
    fgm_ids = {case.id for case in learning.cases(kb) if "fgm" in case.themes}
    picked = learning.pick_case(fgm_ids, None, None, "fgm", random.Random(5), kb)
    assert picked.id in fgm_ids
    assert "herhaling" in learning.pick_note(picked, fgm_ids, None, None, "fgm")


def test_pick_case_for_an_unknown_theme_still_gives_a_case_and_says_so(kb: KnowledgeBase) -> None:
    picked = learning.pick_case(set(), None, None, "cyberpesten", random.Random(0), kb)
    assert picked is not None
    assert "geen casus over cyberpesten" in learning.pick_note(picked, set(), None, None, "cyberpesten")


# --- answering -------------------------------------------------------------------------------------


@pytest.fixture
def four_options(kb: KnowledgeBase):
    question = learning.case_by_id("po-blauwe-plekken", kb).questions[0]
    assert len(question.options) == 4
    return question


@pytest.mark.parametrize(
    "text, index",
    [
        ("2", 1),
        ("b", 1),
        ("B.", 1),
        ("de tweede", 1),
        ("ik kies optie 3", 2),
        ("antwoord D", 3),
        ("de laatste", 3),
        ("1e", 0),
        ("Optie één graag", 0),
    ],
)
def test_match_option_reads_numbers_letters_and_ordinals(four_options, text: str, index: int) -> None:
    assert learning.match_option(four_options, text) == index


@pytest.mark.parametrize("text", ["5", "e", "1 of 2", "ik weet het niet", "", "bellen"])
def test_match_option_returns_none_when_unclear(four_options, text: str) -> None:
    assert learning.match_option(four_options, text) is None


def test_match_option_understands_own_words(four_options) -> None:
    best = four_options.best_index
    assert learning.match_option(four_options, "signalen opschrijven en bespreken met de aandachtsfunctionaris") == best
    wrong = next(i for i, o in enumerate(four_options.options) if "afwachten" in o.text.lower())
    assert learning.match_option(four_options, "gewoon even afwachten") == wrong


def test_match_option_refuses_words_that_fit_two_options(kb: KnowledgeBase) -> None:
    question = learning.case_by_id("po-vgv-zomervakantie", kb).questions[1]  # four phone numbers
    assert learning.match_option(question, "bellen") is None
    assert learning.match_option(question, "0800") is None  # 0800-2000 and 0800-0432


def _play(case, choose, kb: KnowledgeBase) -> PracticeState:
    """Answer every question of ``case`` with ``choose(question_index, question)``."""
    state = learning.start(case)
    while (question := learning.current_question(state, kb)) is not None:
        state, _ = learning.answer(state, choose(state.question_index, question), kb)
    return state


def test_all_best_answers_give_full_score_and_no_weak_themes(kb: KnowledgeBase) -> None:
    case = learning.case_by_id("po-blauwe-plekken", kb)
    state = _play(case, lambda i, q: q.best_index, kb)
    result = learning.summary(state, kb)
    assert (result.score, result.max_score, result.answered) == (3, 3, 3)
    assert result.weak_themes == () and result.missed_kinds == ()
    assert result.text.startswith(MARKER) and "3 van de 3" in result.text
    assert result.next_case_id not in (None, case.id)


def test_a_wrong_answer_lowers_the_score_and_names_theme_kind_and_next_case(kb: KnowledgeBase) -> None:
    case = learning.case_by_id("po-blauwe-plekken", kb)
    state = _play(case, lambda i, q: (q.best_index + 1) % len(q.options) if i == 1 else q.best_index, kb)
    result = learning.summary(state, kb, done_ids={case.id})
    assert result.score == 2 and result.weak_themes == ("physical_abuse",)
    assert result.missed_kinds == ("record",)
    suggested = learning.case_by_id(result.next_case_id, kb)
    assert "physical_abuse" in suggested.themes and suggested.school_type == "PO" and suggested.id != case.id
    assert "lichamelijke mishandeling" in result.text and "wat en hoe u vastlegt" in result.text


def test_feedback_for_a_wrong_option_gives_the_best_answer_and_the_source(kb: KnowledgeBase) -> None:
    case = learning.case_by_id("po-vgv-zomervakantie", kb)
    state = learning.start(case)
    question = learning.current_question(state, kb)
    wrong = next(i for i, o in enumerate(question.options) if not o.best)
    moved, feedback = learning.answer(state, wrong, kb)
    assert not feedback.correct and moved.question_index == 1 and moved.answers == ((0, wrong),)
    assert feedback.text.startswith(MARKER) and question.options[wrong].feedback in feedback.text
    assert feedback.best_option_text == question.options[question.best_index].text
    assert feedback.best_option_text in feedback.text
    assert feedback.source_label.startswith("protocol Stichting Consent, stap 3")
    _, right = learning.answer(state, question.best_index, kb)
    assert right.correct and "Beter:" not in right.text


def test_answer_rejects_a_finished_case_and_a_missing_option(kb: KnowledgeBase) -> None:
    case = learning.case_by_id("vo-filmpje-fietsenstalling", kb)
    with pytest.raises(ValueError):
        learning.answer(learning.start(case), 7, kb)
    finished = _play(case, lambda i, q: q.best_index, kb)
    assert learning.current_question(finished, kb) is None
    with pytest.raises(ValueError):
        learning.answer(finished, 0, kb)


def test_summary_after_stopping_early_counts_only_answered_questions(kb: KnowledgeBase) -> None:
    case = learning.case_by_id("po-geen-ontbijt", kb)
    state, _ = learning.answer(learning.start(case), case.questions[0].best_index, kb)
    result = learning.summary(state, kb)
    assert (result.score, result.answered, result.max_score) == (1, 1, 3)
    assert "1 van de 3 vragen" in result.text


def test_every_practice_text_starts_with_the_marker(kb: KnowledgeBase) -> None:
    case = learning.cases(kb)[0]
    question = case.questions[0]
    texts = [
        learning.case_intro(case),
        learning.question_text(question, 1, len(case.questions)),
        learning.judge(question, 0, kb).text,
        learning.summary(learning.start(case), kb).text,
    ]
    texts += [learning.tour_step_text(step) for step in learning.tour_steps(kb)]
    assert all(text.startswith(MARKER) for text in texts)
    assert "1. " + question.options[0].text in texts[1]


# --- tour ------------------------------------------------------------------------------------------


def test_tour_explains_the_five_steps_with_a_sourced_check_question(kb: KnowledgeBase) -> None:
    steps = learning.tour_steps(kb)
    assert [s.step for s in steps] == [1, 2, 3, 4, 5]
    for step in steps:
        sentences = len(learning.SENTENCE_END.findall(step.text))
        assert 2 <= sentences <= 3, step.title
        assert step.source.quote and step.check.source.quote
        assert learning.judge(step.check, step.check.best_index, kb).correct
    assert "twee besluiten" in steps[4].text  # the 2019 rule, not the old 5a/5b choice


def test_the_tour_runs_like_a_case_and_ends_with_a_first_basic_case(kb: KnowledgeBase) -> None:
    state = learning.start_tour()
    first_prompt = learning.prompt(state, kb)
    step_one = learning.tour_steps(kb)[0]
    assert first_prompt.startswith(MARKER + "uitleg stap 1 van 5") and step_one.text in first_prompt
    assert "vraag 1 van 5: " + step_one.check.text in first_prompt
    while (question := learning.current_question(state, kb)) is not None:
        state, feedback = learning.answer(state, question.best_index, kb)
        assert feedback.correct
    assert learning.prompt(state, kb) is None
    result = learning.summary(state, kb, done_ids={"po-blauwe-plekken"})
    assert (result.score, result.max_score) == (5, 5) and "5 van de 5 controlevragen" in result.text
    suggested = learning.case_by_id(result.next_case_id, kb)
    assert suggested.level == "basis" and suggested.id != "po-blauwe-plekken"


def test_a_case_prompt_is_only_the_numbered_question(kb: KnowledgeBase) -> None:
    case = learning.case_by_id("po-geen-ontbijt", kb)
    text = learning.prompt(learning.start(case), kb)
    assert text == learning.question_text(case.questions[0], 1, 3) and "uitleg stap" not in text


# --- report ----------------------------------------------------------------------------------------


def test_report_from_the_store_aggregate(kb: KnowledgeBase) -> None:
    aggregate = {
        "organisation_id": "symbio",
        "cases": [
            {"case_id": "po-blauwe-plekken", "attempts": 4, "people": 3, "average_score": 1.5, "average_share": 0.5},
            {"case_id": "so-normvervaging", "attempts": 2, "people": 2, "average_score": 3.0, "average_share": 1.0},
            {"case_id": "removed-case", "attempts": 5, "people": 5, "average_score": 1.0, "average_share": 0.3},
        ],
        "themes": [],
    }
    report = learning.learning_report("symbio", aggregate, kb)
    assert "organisatie symbio" in report and "Afgeronde oefeningen: 6, in 2 van de" in report
    # physical abuse: (1.5 * 4 + 3 * 2) correct of (4 + 2) * 3 possible = 67%
    assert "- lichamelijke mishandeling: 67% goed, 6 keer geoefend" in report
    assert "Aandachtspunt (minder dan 70% goed): lichamelijke mishandeling." in report
    assert "- Blauwe plekken na het weekend (po-blauwe-plekken): 50% goed, 4 keer geoefend" in report
    assert "(so-normvervaging): 2 keer geoefend (te weinig deelnemers" in report
    assert "huwelijksdwang" in report.split("Nog niet geoefend:")[1]
    assert "niet meer bestaan: removed-case" in report


def test_report_without_results_says_so(kb: KnowledgeBase) -> None:
    report = learning.learning_report("onzewijs", {"organisation_id": "onzewijs", "cases": [], "themes": []}, kb)
    assert "Afgeronde oefeningen: 0," in report and report.count(learning.NO_RESULTS) == 2
    assert "%" not in report


def test_report_hides_a_score_when_one_colleague_practised_many_times(kb: KnowledgeBase) -> None:
    aggregate = {"cases": [{"case_id": "po-blauwe-plekken", "attempts": 9, "people": 1, "average_score": 1.0}]}
    report = learning.learning_report("consent", aggregate, kb)
    assert "%" not in report and "9 keer geoefend (te weinig deelnemers" in report


def test_report_from_plain_rows_matches_the_aggregate(kb: KnowledgeBase) -> None:
    rows: List[dict] = [{"case_id": "vo-filmpje-fietsenstalling", "score": s} for s in (2, 1, 2)]
    from_rows = learning.learning_report("x", rows, kb)
    from_aggregate = learning.learning_report(
        "x", {"cases": [{"case_id": "vo-filmpje-fietsenstalling", "attempts": 3, "average_score": 5 / 3}]}, kb
    )
    assert from_rows == from_aggregate
    assert "- geweld tussen leerlingen: 83% goed, 3 keer geoefend" in from_rows


def test_report_for_organisation_reads_the_store(kb: KnowledgeBase) -> None:
    """Through the real store (the autouse fixture points it at a throw-away SQLite file)."""
    store = repositories()
    for user, score in (("u1", 3), ("u2", 2), ("u3", 1)):
        store.practice.add_result(user, "symbio", "po-blauwe-plekken", score, 3, ["physical_abuse"])
    store.practice.add_result("u4", "consent", "po-blauwe-plekken", 0, 3, ["physical_abuse"])
    report = report_for_organisation("symbio", kb)
    assert "- Blauwe plekken na het weekend (po-blauwe-plekken): 67% goed, 3 keer geoefend" in report
    assert "Afgeronde oefeningen: 3," in report  # the other organisation's result stays out
