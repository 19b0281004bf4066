"""FAQ group A (law, parents, Veilig Thuis, weighing): the answers a teacher reads, checked against the
national rules an expert review found broken (issue 11) and the topics staff ask (issue 12).

Each test reads the rendered answer (``faq_answer`` in the national profile) and names what must and must
not be in it, so a text that drifts back to the old wording fails."""

import re
from typing import Tuple

import pytest

from bot import steps as S
from bot.knowledge import SourceRef, Statement, check_sources
from bot.profiles import NATIONAL_PROFILE, organisations, render
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
# The forms where the national stappenplan (Augeo) contacts Veilig Thuis in step 2, before any talk with the
# parents. Stichting Consent's protocol adds seksueel misbruik: its own rule, shown in its own profile only.
VT_FIRST_FORMS = ("genitale verminking", "eergerelateerd geweld", "huwelijksdwang")


def answer(faq_id: str, org_id: str = NATIONAL_PROFILE) -> str:
    return S.faq_answer(faq_id, ORGS[org_id], KB)[0]


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
            # Retrieval reads them all (18 at least since the variants of 2026-12-02; at most 25 keeps the
            # topic classifier's classes level); training takes the first NLU_VARIANTS_PER_ENTRY (test_cli).
            assert 18 <= len(entry.variants) <= 25, entry.id
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
    assert all(form in rest for form in VT_FIRST_FORMS)
    # the 'ouders verbreken het contact' exception is Stichting Consent's protocol text, not a national quote
    assert "contact verbreken" in answer("talk_parents_first", "consent")


def test_tell_parents_about_melding_says_inform_beforehand_without_asking_consent():
    text = answer("tell_parents_about_melding")
    assert first_sentence(text).startswith("Ja, in principe")
    assert "vooraf" in first_sentence(text) and "geen toestemming" in first_sentence(text)
    assert "12 jaar" in answer("tell_parents_about_melding", "vo_school")  # the VO-school's own rule
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
    assert "direct contact" in text and "vóór elk gesprek met de ouders" in text
    assert "contact verbreken" in answer("skip_parent_talk", "consent")


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
    # involving the pupil from 12 is the VO-school protocol's own rule
    vo_twelve = answer("consent_12_16", "vo_school")
    assert "altijd" in vo_twelve and "met de leerling" in vo_twelve
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


# --- what each profile reads: the national rules, plus only its own school's additions ---------------------

SEED_LABELS = frozenset(d.label for d in KB.sources().documents if d.kind == "seed")
SCHOOL_NAMES = ("Symbio", "Luc Stevens", "Onze Wijs", "Stichting Consent", "VO-school")


def protocols(sources) -> set:
    """The school protocols among an answer's source labels ('protocol Onze Wijs, stap 2')."""
    return {label for label in SEED_LABELS for source in sources if source.startswith(label)}


@pytest.mark.parametrize("faq_id", S.faq_ids(KB))
def test_the_national_answer_never_names_or_cites_a_school_protocol(faq_id):
    text, sources = S.faq_answer(faq_id, ORGS[NATIONAL_PROFILE], KB)
    assert protocols(sources) == set(), sources
    assert [name for name in SCHOOL_NAMES if name in text] == []


@pytest.mark.parametrize("org_id", sorted(o for o in ORGS if ORGS[o].source_doc))
def test_a_school_reads_its_own_protocol_and_no_other(org_id):
    org = ORGS[org_id]
    own = KB.sources().get(org.source_doc).label
    for faq_id in S.faq_ids(KB):
        sources = S.faq_answer(faq_id, org, KB)[1]
        assert protocols(sources) <= {own}, (faq_id, sources)


def test_a_schools_own_additions_stay_in_its_own_profile():
    by_doc = {o.source_doc: o for o in ORGS.values() if o.source_doc}
    for entry in S.faq_entries(KB):
        for statement in entry.statements():
            if statement.source.local:
                org = by_doc[statement.source.doc]
                assert render(statement.text, org, KB) in S.faq_answer(entry.id, org, KB)[0], (entry.id, org.id)
    consent_text, consent_sources = S.faq_answer("talk_parents_first", ORGS["consent"], KB)
    assert "contact verbreken" in consent_text and protocols(consent_sources) == {"protocol Stichting Consent"}
    assert "contact verbreken" not in answer("talk_parents_first", "symbio")


@pytest.mark.parametrize("org_id", sorted(ORGS))
def test_no_entry_has_an_empty_short_answer_in_any_profile(org_id):
    assert [e.id for e in S.faq_entries(KB) if not S.faq_shown(e, ORGS[org_id])[0]] == []


def _entry(answer, detail=()):
    return S.FaqEntry(
        id="probe",
        question="Vraag?",
        variants=[f"vraag {i}" for i in range(S.MIN_FAQ_VARIANTS)],
        answer=list(answer),
        detail=list(detail),
    )


LOCAL = Statement(text="Alleen Symbio.", source=SourceRef(doc="symbio", section="Stap 2", local=True))
NATIONAL = Statement(text="Landelijk.", source=SourceRef(doc="augeo_meldcode_stappenplan", section="Stap 2"))


def test_a_short_answer_that_is_only_a_schools_addition_falls_back_to_the_first_shown_detail():
    answer_, detail = S.faq_shown(_entry([LOCAL], [NATIONAL]), ORGS[NATIONAL_PROFILE])
    assert answer_ == [NATIONAL] and detail == []
    assert S.faq_shown(_entry([LOCAL], [NATIONAL]), ORGS["symbio"]) == ([LOCAL], [NATIONAL])


def test_bot_check_fails_on_an_entry_empty_for_some_profile(monkeypatch):
    monkeypatch.setattr(S, "faq_entries", lambda kb=None: [_entry([LOCAL])])
    problems = S.check_steps(KB)
    assert any("'probe'" in p and "'national'" in p for p in problems), problems
    assert not any("'symbio'" in p for p in problems)
