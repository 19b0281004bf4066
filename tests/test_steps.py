"""Case guidance (bot/steps.py) over the real knowledge files: transitions, role/profile tailoring,
special situations, FAQ answers and the acute-danger terms."""
import re
from typing import Optional

import pytest

from bot import steps as S
from bot.profiles import NATIONAL_PROFILE, USER_ROLES, organisations, terms
from steps_kb import steps_kb

KB = steps_kb()
ORGS = organisations(KB)
STEP_NUMBERS = range(1, 6)
ROLES = list(USER_ROLES) + [None]
LEFTOVER = re.compile(r"[{}]")
MILESTONE_STEP = {m.id: (s.number, m.core) for s in KB.one("steps.yml").steps for m in s.milestones}


def own_words(org_id: str):
    """The words this profile uses instead of the national ones."""
    national = ORGS[NATIONAL_PROFILE].terms
    return [v for k, v in ORGS[org_id].terms.items() if v != national[k]]


def at(step: int, *done: str) -> S.CaseState:
    return S.CaseState(step=step, done=frozenset(done))


def everything_before(step: int) -> S.CaseState:
    cores = [m for m, (n, core) in MILESTONE_STEP.items() if core and n < step]
    return at(step, *cores)


# --- transitions ---------------------------------------------------------------------------------


def test_start_case_is_step_one_with_nothing_done():
    assert S.start_case() == S.CaseState(step=1, done=frozenset())


@pytest.mark.parametrize("milestone", sorted(MILESTONE_STEP))
def test_record_progress_marks_and_advances_only_on_core(milestone):
    number, core = MILESTONE_STEP[milestone]
    state = S.record_progress(S.start_case(), milestone, KB)
    assert milestone in state.done
    assert state.step == (min(number + 1, 5) if core else 1)


@pytest.mark.parametrize("milestone", sorted(MILESTONE_STEP))
def test_recording_twice_changes_nothing(milestone):
    once = S.record_progress(S.start_case(), milestone, KB)
    assert S.record_progress(once, milestone, KB) == once


def test_core_milestones_named_in_the_brief_advance_to_the_next_step():
    expected = {"signals_recorded": 2, "colleague_consulted": 3, "vt_advice_asked": 3,
                "parents_talked": 4, "pupil_talked": 4, "weighing_done": 5,
                "reported_to_vt": 5, "help_organised": 5}
    for milestone, step in expected.items():
        assert S.record_progress(S.start_case(), milestone, KB).step == step


def test_progress_never_moves_the_case_back():
    state = S.record_progress(at(4), "signals_recorded", KB)
    assert state.step == 4 and "signals_recorded" in state.done


def test_out_of_order_progress_jumps_ahead_and_keeps_earlier_steps_open():
    state = S.record_progress(S.start_case(), "parents_talked", KB)
    assert state.step == 4
    advice = S.guidance(state, ORGS["consent"], "teacher", KB)
    assert any("stap 1 en 2" in line for line in advice.lines)
    assert "step:1" in advice.next_moves


def test_a_full_case_walks_one_to_five():
    state = S.start_case()
    for milestone, step in [("signals_recorded", 2), ("vt_advice_asked", 3), ("colleague_consulted", 3),
                            ("pupil_talked", 4), ("weighing_done", 5), ("reported_to_vt", 5)]:
        state = S.record_progress(state, milestone, KB)
        assert state.step == step
    assert not any(line.startswith(S.OPEN_PREFIX) for line in S.guidance(state, ORGS["national"], None, KB).lines)


def test_progress_without_a_case_starts_one():
    assert S.record_progress(S.CaseState(step=None), "signals_recorded", KB).step == 2


def test_unknown_milestone_is_an_error():
    with pytest.raises(ValueError):
        S.record_progress(S.start_case(), "melding_gedaan", KB)
    with pytest.raises(ValueError):
        S.milestone_label("melding_gedaan", KB)


@pytest.mark.parametrize("step", STEP_NUMBERS)
def test_go_to_step_jumps_and_keeps_what_is_done(step):
    state = S.go_to_step(at(5, "signals_recorded"), step)
    assert state == at(step, "signals_recorded")


@pytest.mark.parametrize("bad", [0, 6, -1, True, "2", 2.0, None])
def test_go_to_step_rejects_anything_but_one_to_five(bad):
    with pytest.raises(ValueError):
        S.go_to_step(S.start_case(), bad)


def test_milestone_labels_are_dutch_labels():
    assert S.milestone_label("vt_advice_asked", KB) == "Advies gevraagd aan Veilig Thuis"


# --- guidance ------------------------------------------------------------------------------------


@pytest.mark.parametrize("org_id", sorted(ORGS))
@pytest.mark.parametrize("step", STEP_NUMBERS)
@pytest.mark.parametrize("role", ROLES)
def test_guidance_renders_in_the_profiles_words(org_id, step, role: Optional[str]):
    for state in (at(step), everything_before(step)):
        advice = S.guidance(state, ORGS[org_id], role, KB)
        text = "\n".join(advice.lines)
        assert advice.step == step and advice.title
        assert not LEFTOVER.search(text), text
        assert 1 <= len(advice.lines) <= S.MAX_LINES
        assert 2 <= len(advice.next_moves) <= S.MAX_MOVES
        assert advice.sources and len(set(advice.sources)) == len(advice.sources)
        if org_id != NATIONAL_PROFILE:
            assert any(word in text for word in own_words(org_id)), (org_id, step, role, text)


@pytest.mark.parametrize("org_id, words", [
    ("symbio", ("SCP-er", "SOT")),
    ("lucstevens", ("CvB", "coördinator")),
    ("vo_school", ("zorgcoördinator",)),
    ("onzewijs", ("IB-er", "MDO", "SMW")),
    ("consent", ("IB-er", "ZAT")),
])
@pytest.mark.parametrize("step", STEP_NUMBERS)
def test_guidance_names_the_schools_own_roles(org_id, words, step):
    for role in ROLES:
        text = "\n".join(S.guidance(at(step), ORGS[org_id], role, KB).lines)
        assert any(w in text for w in words), (role, text)


def test_teacher_is_sent_to_the_schools_first_contact_in_step_two():
    advice = S.guidance(at(2), ORGS["symbio"], "teacher", KB)
    assert advice.lines[0] == "Bespreek de signalen met uw SCP-er of intern begeleider."


def test_attention_officer_gets_their_own_tasks_not_the_teachers():
    officer = S.guidance(at(2), ORGS["symbio"], "attention_officer", KB).lines
    assert not any(line.startswith("Bespreek de signalen met uw") for line in officer)
    assert any("SOT" in line and "toestemming" in line for line in officer)


def test_unknown_or_missing_role_gets_the_teacher_view():
    teacher = S.guidance(at(2), ORGS["national"], "teacher", KB)
    assert S.guidance(at(2), ORGS["national"], None, KB) == teacher
    assert S.guidance(at(2), ORGS["national"], "conciërge", KB) == teacher


@pytest.mark.parametrize("step", STEP_NUMBERS)
def test_every_move_is_valid_and_done_milestones_are_not_offered(step):
    valid = S._valid_moves(KB)
    cores = [m for m, (n, core) in MILESTONE_STEP.items() if n == step]
    state = everything_before(step)
    before = S.guidance(state, ORGS["national"], "teacher", KB).next_moves
    after = S.guidance(S.CaseState(step, state.done | set(cores)), ORGS["national"], "teacher", KB).next_moves
    assert set(before) <= valid and set(after) <= valid
    assert not {f"progress:{m}" for m in cores} & set(after)


def test_step_two_offers_consultation_advice_and_contacts():
    moves = S.guidance(everything_before(2), ORGS["national"], "teacher", KB).next_moves
    assert moves[:3] == ("progress:colleague_consulted", "progress:vt_advice_asked", "contacts:who_to_call")


def test_step_four_offers_the_weighing_first():
    assert S.guidance(everything_before(4), ORGS["national"], "ib", KB).next_moves[0] == "weighing:start"


def test_step_five_shows_the_two_2019_decisions_first():
    lines = S.guidance(everything_before(5), ORGS["consent"], "teacher", KB).lines
    assert lines[0].startswith("I. Is melden noodzakelijk?") and lines[1].startswith("II. Is hulp (ook) mogelijk?")


@pytest.mark.parametrize("org_id, legacy", [("symbio", True), ("onzewijs", True), ("consent", False),
                                            ("lucstevens", False), ("vo_school", False), ("national", False)])
def test_old_5a_5b_wording_is_explained_only_to_schools_whose_protocol_uses_it(org_id, legacy):
    text = "\n".join(S.guidance(everything_before(5), ORGS[org_id], "teacher", KB).lines)
    assert ("5a" in text) == legacy


@pytest.mark.parametrize("step", STEP_NUMBERS)
def test_acute_route_is_repeated_only_where_the_step_risks_it(step):
    text = "\n".join(S.guidance(everything_before(step), ORGS["symbio"], "teacher", KB).lines)
    assert ("Bel 112" in text) == (step in (3, 4))
    if step in (3, 4):
        assert "Veilig Thuis Twente (VTT): 0800-2000" in text


@pytest.mark.parametrize("org_id, expected", [("lucstevens", True), ("symbio", False), ("vo_school", False)])
def test_normvervaging_pitfall_only_in_special_education(org_id, expected):
    text = "\n".join(S.guidance(at(1), ORGS[org_id], "teacher", KB).lines)
    assert ("normvervaging" in text) == expected


def test_talk_pitfall_warns_against_interpreting_before_the_parent_reacted():
    lines = S.guidance(everything_before(3), ORGS["national"], "teacher", KB).lines
    assert f"{S.PITFALL_PREFIX}Kom pas met een interpretatie nadat de ouder heeft gereageerd." in lines


def test_sources_are_teacher_readable_labels():
    advice = S.guidance(everything_before(2), ORGS["symbio"], "teacher", KB)
    assert "protocol Stichting Symbio Hengelo, stap 2" in advice.sources


# --- situations ----------------------------------------------------------------------------------


@pytest.mark.parametrize("org_id", sorted(ORGS))
def test_acute_danger_names_112_then_veilig_thuis_first(org_id):
    reply = S.situation("acute_danger", ORGS[org_id], KB)
    first = reply.lines[0]
    assert reply.urgent and first.index("112") < first.index("0800-2000")
    assert [phone for _, phone in reply.call] == ["112", "0800-2000"]
    assert any("hetzelfde gesprek" in line for line in reply.lines)


def test_acute_danger_uses_the_regional_name():
    assert "Veilig Thuis Twente (VTT)" in S.situation("acute_danger", ORGS["symbio"], KB).lines[0]


@pytest.mark.parametrize("org_id", sorted(ORGS))
def test_staff_suspect_goes_to_the_board_and_names_the_confidential_inspector(org_id):
    reply = S.situation("staff_suspect", ORGS[org_id], KB)
    board = terms(ORGS[org_id], KB)["board"]
    assert "0900-111 3 111" in reply.lines[0] and board in reply.lines[0]
    assert any("aangifteplicht" in line for line in reply.lines)


def test_staff_suspect_names_the_college_van_bestuur_at_symbio():
    assert "College van Bestuur" in S.situation("staff_suspect", ORGS["symbio"], KB).lines[0]


@pytest.mark.parametrize("org_id", sorted(ORGS))
def test_honour_based_calls_veilig_thuis_before_the_parents(org_id):
    reply = S.situation("honour_based", ORGS[org_id], KB)
    first = reply.lines[0]
    assert reply.urgent and "0800-2000" in first
    assert first.index("Veilig Thuis") < first.index("vóórdat u met de ouders praat")
    assert "seksueel misbruik" in reply.title


def test_pupil_violence_is_outside_the_meldcode():
    reply = S.situation("pupil_violence", ORGS["consent"], KB)
    assert not reply.urgent and reply.call == ()
    assert "niet onder de meldcode" in reply.lines[0] and "schoolleider" in reply.lines[0]


def test_unknown_situation_is_an_error():
    with pytest.raises(ValueError):
        S.situation("brand", ORGS["national"], KB)


def test_danger_terms_cover_the_obvious_acute_signals():
    terms = S.danger_terms(KB)
    for term in ("bloed", "bloedend", "mes", "wurgen", "bewusteloos", "durft niet naar huis",
                 "vandaag nog", "in gevaar"):
        assert term in terms
    # Abuse described without immediacy is a case for the five steps, not for the acute route:
    # the trained classifier routes it to start_case; the net must not hijack it.
    for report in ("wordt geslagen", "wordt mishandeld", "slaat haar"):
        assert report not in terms
    assert len(set(terms)) == len(terms)
    assert all(t == t.lower().strip() and len(t) >= 3 for t in terms)


# --- FAQ -----------------------------------------------------------------------------------------

REQUIRED_FAQ = ("anonymous_advice", "meldcode_vs_meldplicht", "meldrecht", "what_is_attention_officer",
                "skip_parent_talk", "parent_refuses_consent", "age_rules", "what_vt_does_after_melding",
                "kindcheck", "verwijsindex", "signalenlijst", "what_to_record", "amk_is_veilig_thuis",
                "afwegingskader_2019", "melding_vs_advies", "risk_assessment_tool", "letseldeskundige",
                "secrecy_promise", "order_of_steps", "consent_for_care_team", "who_talks_to_parents")


def test_faq_has_the_required_entries():
    assert set(REQUIRED_FAQ) <= set(S.faq_ids(KB)) and len(S.faq_ids(KB)) >= 20


@pytest.mark.parametrize("org_id", sorted(ORGS))
@pytest.mark.parametrize("faq_id", S.faq_ids(KB))
def test_every_answer_renders_short_and_sourced(org_id, faq_id):
    answer, sources = S.faq_answer(faq_id, ORGS[org_id], KB)
    assert not LEFTOVER.search(answer)
    assert 2 <= len(re.findall(r"[.?!](\s|$)", answer)) <= 5, answer
    assert sources


def test_faq_answers_use_the_profiles_words():
    assert "Veilig Thuis Twente (VTT)" in S.faq_answer("anonymous_advice", ORGS["symbio"], KB)[0]
    assert "zorgcoördinator" in S.faq_answer("what_is_attention_officer", ORGS["vo_school"], KB)[0]


def test_faq_rules_are_the_national_ones():
    assert "binnen 5 werkdagen" in S.faq_answer("what_vt_does_after_melding", ORGS["national"], KB)[0]
    ages = S.faq_answer("age_rules", ORGS["national"], KB)[0]
    assert "12 jaar" in ages and "16" in ages
    assert "2015" in S.faq_answer("amk_is_veilig_thuis", ORGS["onzewijs"], KB)[0]
    assert S.faq_answer("secrecy_promise", ORGS["national"], KB)[0].startswith("Nee.")
    assert S.faq_answer("meldcode_vs_meldplicht", ORGS["national"], KB)[0].startswith("Nee.")


def test_faq_question_is_the_canonical_question():
    assert S.faq_question("meldrecht", KB) == "Mag ik melden zonder toestemming van de ouders?"


def test_unknown_faq_is_an_error():
    with pytest.raises(ValueError):
        S.faq_answer("weer_vandaag", ORGS["national"], KB)
    with pytest.raises(ValueError):
        S.faq_question("weer_vandaag", KB)


def test_cross_checks_pass_on_the_real_files():
    assert S.check_steps(KB) == []
