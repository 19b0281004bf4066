"""FAQ group A (law, parents, Veilig Thuis, weighing): the answers a teacher reads, checked against the
national rules an expert review found broken (issue 11) and the topics staff ask (issue 12).

Each test reads the rendered answer (``faq_answer`` in the national profile) and names what must and must
not be in it, so a text that drifts back to the old wording fails."""

import re
from typing import Tuple

import pytest

from bot import steps as S
from bot.knowledge import check_sources
from bot.profiles import NATIONAL_PROFILE, organisations
from steps_kb import steps_kb

KB = steps_kb()
ORGS = organisations(KB)
GROUP_A_FILES = ("faq/law.yml", "faq/parents.yml", "faq/veilig_thuis.yml", "faq/weighing.yml")

# The ids of group A, fixed with the held-out labels and the retrieval index (same id, same topic).
GROUP_A_IDS = (
    "anonymous_advice",
    "meldcode_vs_meldplicht",
    "meldrecht",
    "skip_parent_talk",
    "parent_refuses_consent",
    "age_rules",
    "what_vt_does_after_melding",
    "amk_is_veilig_thuis",
    "afwegingskader_2019",
    "melding_vs_advies",
    "order_of_steps",
    "consent_for_care_team",
    "who_talks_to_parents",
    "when_to_call_112",
    "vt_chat",
    "what_is_meldcode",
    "parents_refuse_help",
    "beroepsgeheim_teacher",
    "sharing_with_colleagues",
    "talk_parents_first",
    "tell_parents_about_melding",
    "parents_hear_about_melding",
    "anonymous_melding",
    "reporter_identity",
    "parents_see_melding",
    "vt_data_retention",
    "vt_after_advice",
    "vt_response_time",
    "vt_feedback_to_school",
    "veiligheidsbeoordeling",
    "radarfunctie",
    "school_stays_involved",
    "vt_opening_hours",
    "when_melding_is_norm",
    "who_decides_melding",
    "melding_without_proof",
    "wrong_suspicion_liability",
    "staff_suspect_duty",
    "board_aangifteplicht",
    "vertrouwensinspecteur",
    "school_aangifte_police",
    "consent_under_12",
    "consent_12_16",
    "consent_16_plus",
    "pupil_18_plus",
    "divorced_parents",
    "board_supports_staff",
    "parent_complaint",
    "meldcode_obligation_school",
    "basismodel_meldcode",
    "colleague_disagrees",
    "decision_one",
    "decision_two",
    "weighing_question_1",
    "weighing_question_2",
    "weighing_question_3",
    "weighing_question_4",
    "weighing_question_5",
    "acute_vs_structural",
)
# The forms where the protocol contacts Veilig Thuis before any talk with the parents.
VT_FIRST_FORMS = ("genitale verminking", "eergerelateerd geweld", "huwelijksdwang", "seksueel misbruik")


def answer(faq_id: str) -> str:
    return S.faq_answer(faq_id, ORGS[NATIONAL_PROFILE], KB)[0]


def labels(faq_id: str) -> Tuple[str, ...]:
    return S.faq_answer(faq_id, ORGS[NATIONAL_PROFILE], KB)[1]


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.?!])\s", text, maxsplit=1)[0]


def test_every_group_a_id_is_answered():
    assert set(GROUP_A_IDS) <= set(S.faq_ids(KB))


def test_group_a_statements_rest_on_national_sources_with_verified_quotes():
    problems = [p for p in check_sources(KB) if any(f in p for f in GROUP_A_FILES)]
    assert problems == []


def test_group_a_entries_have_enough_distinct_variants_and_where_staff_ask():
    for entry in S.faq_entries(KB):
        if entry.id in GROUP_A_IDS:
            assert 8 <= len(entry.variants) <= 12, entry.id
            assert len({v.lower() for v in entry.variants}) == len(entry.variants), entry.id
            assert entry.asked_at, entry.id
            assert len(entry.question) <= 70, entry.id


def test_talk_parents_first_gives_the_rule_then_names_the_exceptions():
    text = answer("talk_parents_first")
    assert first_sentence(text).startswith("Ja, in principe")
    assert "eerst met de ouders" in first_sentence(text)
    rule, _, rest = text.partition("Uitzonderingen")
    assert rest, "the exceptions are named as exceptions"
    assert "veiligheid" not in rule
    assert "contact verbreken" in rest
    assert all(form in rest for form in VT_FIRST_FORMS)


def test_tell_parents_about_melding_says_inform_beforehand_without_asking_consent():
    text = answer("tell_parents_about_melding")
    assert first_sentence(text).startswith("Ja, in principe")
    assert "vooraf" in first_sentence(text) and "geen toestemming" in first_sentence(text)
    assert "12 jaar" in text
    assert "Uitzonderingen" in text and all(form in text for form in VT_FIRST_FORMS)


def test_the_three_parent_questions_get_their_own_answers():
    ids = ("talk_parents_first", "tell_parents_about_melding", "skip_parent_talk")
    firsts = {first_sentence(answer(i)) for i in ids}
    assert len(firsts) == 3
    assert not first_sentence(answer("talk_parents_first")).startswith("Alleen als")
    assert not first_sentence(answer("tell_parents_about_melding")).startswith("Alleen als")


def test_skip_parent_talk_names_the_forms_where_veilig_thuis_comes_first():
    text = answer("skip_parent_talk")
    assert not text.startswith("Alleen als")
    assert all(form in text for form in VT_FIRST_FORMS)
    assert "spoed" in text and "vóór elk gesprek met de ouders" in text
    assert "contact verbreken" in text


def test_a_teacher_has_no_legal_beroepsgeheim_but_confidentiality_and_a_meldrecht():
    text = answer("beroepsgeheim_teacher")
    assert not text.startswith("Ja")
    assert first_sentence(text).startswith("Nee, een leraar heeft geen wettelijk beroepsgeheim")
    assert "AVG" in text and "meldrecht" in text and "5.2.6" in text
    assert any("Wmo 2015" in label for label in labels("beroepsgeheim_teacher"))


def test_order_of_steps_names_the_acute_danger_exception():
    text = answer("order_of_steps")
    assert "acuut gevaar" in text and "112" in text and "direct" in text
    assert "alle stappen doorlopen" not in text


def test_moet_ik_altijd_melden_gives_the_norm_and_the_real_meldplicht():
    text = answer("meldcode_vs_meldplicht")
    assert not text.startswith("Nee")
    assert "acute of structurele onveiligheid" in text
    assert all(part in text for part in ("niet mogelijk", "niet wordt aanvaard", "niet tot veiligheid"))
    assert "zedendelict" in text and "meldplicht" in text and "onverwijld" in text
    assert any("art. 4a" in label for label in labels("meldcode_vs_meldplicht"))


def test_a_melding_by_a_professional_is_not_anonymous():
    text = answer("anonymous_melding")
    assert first_sentence(text) == "Nee."
    assert "niet anoniem melden" in text and "kent uw naam" in text
    assert "hoge uitzondering" in text
    identity = answer("reporter_identity")
    assert "niet anoniem" in identity and "uitzondering" in identity
    assert "zo nodig anoniem" not in text + identity


def test_consent_follows_age_and_advice_needs_none():
    assert "16 jaar" in answer("consent_16_plus") and "leerling zelf" in answer("consent_16_plus")
    twelve = answer("consent_12_16")
    assert "altijd" in twelve and "met de leerling" in twelve
    assert "ouders alleen" not in twelve and "ouders alleen" not in answer("age_rules")
    assert "geen toestemming" in twelve
    assert "geen toestemming" in answer("anonymous_advice")
    assert "ouders met gezag" in answer("consent_under_12")


def test_the_school_stays_involved_after_a_melding():
    text = answer("school_stays_involved")
    assert text.startswith("Nee.") and "blijft de school betrokken" in text
    assert "neemt de zaak over" not in answer("melding_vs_advies")


def test_veilig_thuis_terms_and_times_are_the_national_ones():
    group_a_text = " ".join(answer(i) for i in GROUP_A_IDS)
    assert "veiligheidstoets" not in group_a_text
    assert "AMK" not in answer("when_to_call_112")
    assert "5 werkdagen" in answer("vt_response_time") and "veiligheidsbeoordeling" in answer("vt_response_time")
    assert "spoed" in answer("vt_opening_hours") and "0800-2000" in answer("vt_opening_hours")
    assert "2015" in answer("amk_is_veilig_thuis")


def test_staff_suspect_goes_to_the_board_directly_and_the_board_consults_and_reports():
    duty = answer("staff_suspect_duty")
    assert "onverwijld" in duty and "bevoegd gezag" in duty and "tussenpersoon" in duty
    board = answer("board_aangifteplicht")
    assert "vertrouwensinspecteur" in board and "aangifte" in board and "ouders" in board


def test_weighing_question_one_asks_for_a_suspicion_not_a_strong_one():
    text = answer("weighing_question_1")
    assert "sterk" not in text and "geen vermoeden" in text


def test_weighing_question_three_is_not_the_teacher_alone():
    assert "niet de leraar alleen" in answer("weighing_question_3")
    assert "niet van de leraar alleen" in answer("decision_two")


@pytest.mark.parametrize("faq_id", GROUP_A_IDS)
def test_yes_no_openings_only_for_yes_no_questions(faq_id):
    question, text = S.faq_question(faq_id, KB), answer(faq_id)
    yes_no = re.match(r"(Moet|Mag|Kan|Kunnen|Heb|Ben|Is|Geldt|Krijg|Krijgen|Weten|Hoor|Doet|Steunt)\b", question)
    if re.match(r"(Ja|Nee)\b", text):
        assert yes_no, f"{faq_id}: '{question}' is not a yes/no question"
