"""FAQ group B (signals, pupils, roles, recording): the answers a teacher reads, checked against the topics
the seeds and national rules require (issue 11 section 5) and the breadth staff ask for (issue 12).

Each test reads the rendered answer (``faq_answer`` in the national profile) and names what must and must
not be in it, so a text that drops a required point, or drifts back to an outdated rule, fails."""

import re
import unicodedata
from typing import Dict, List, Tuple

import pytest

from bot import steps as S
from bot.knowledge import check_sources
from bot.profiles import NATIONAL_PROFILE, organisations
from steps_kb import steps_kb

KB = steps_kb()
ORGS = organisations(KB)
GROUP_B_FILES = ("faq/signals.yml", "faq/pupils.yml", "faq/roles.yml", "faq/recording.yml")

# The ids of group B, fixed with the held-out labels and the retrieval index (same id, same topic).
GROUP_B_IDS = (
    "what_is_attention_officer",
    "kindcheck",
    "verwijsindex",
    "signalenlijst",
    "what_to_record",
    "risk_assessment_tool",
    "letseldeskundige",
    "secrecy_promise",
    "talk_with_pupil",
    "pupil_discloses",
    "disclosure_dont",
    "what_is_child_abuse",
    "what_is_domestic_violence",
    "signals_physical_abuse",
    "signals_neglect",
    "signals_sexual_abuse",
    "signals_emotional_abuse",
    "witnessing_domestic_violence",
    "signals_vgv",
    "forced_marriage_abroad",
    "honour_violence",
    "sexual_exploitation",
    "self_harm_suicide",
    "recent_sexual_violence",
    "online_sextortion",
    "sexting_between_pupils",
    "violence_between_pupils",
    "dating_violence",
    "leerplicht_role",
    "absence_as_signal",
    "verlof_request_risk",
    "role_ib",
    "role_care_coordinator",
    "role_mentor",
    "role_school_leader",
    "role_board",
    "role_subject_teacher",
    "role_intern",
    "role_teaching_assistant",
    "role_school_social_work",
    "role_youth_doctor",
    "record_facts",
    "record_third_party",
    "dossier_parents_access",
    "dossier_retention",
    "unsure_signals",
    "sibling_concern",
    "parent_is_victim",
    "parent_under_influence",
    "afraid_to_go_home",
    "poverty_or_neglect",
    "corporal_punishment",
    "photos_of_injuries",
    "threatened_by_parent",
    "training_meldcode",
    "steps_overview",
)
# The only phone numbers an answer may show (knowledge/contacts.yml, national data).
NATIONAL_NUMBERS = {
    "112",
    "0800-2000",
    "0900-111 3 111",
    "088-669 60 60",
    "113",
    "0800-0113",
    "0800-0188",
    "0800-0432",
    "0900-8844",
}
PHONE = re.compile(r"(?<![\d-])(?:0\d{2,3}-[\d ]*\d|1\d{2})(?![\d-])")
# Words of outdated bodies and rules a current answer must never use as current.
OUTDATED = (
    "veiligheidstoets",
    "AMK",
    "Advies- en Meldpunt Kindermishandeling",
    "Steunpunt Huiselijk Geweld",
    "Bureau Jeugdzorg",
    "0800-8051",
    "0900-1231230",
    "sterk vermoeden",
)
YES_NO_OPENERS = ("mag", "moet", "moeten", "is", "valt", "kan", "heb", "zijn", "mogen", "geldt")


def answer(faq_id: str, org_id: str = NATIONAL_PROFILE) -> str:
    return S.faq_answer(faq_id, ORGS[org_id], KB)[0]


def first_sentence(text: str) -> str:
    return re.split(r"(?<=[.?!])\s", text, maxsplit=1)[0]


def group_b_entries(kb=None) -> List[Tuple[str, S.FaqEntry]]:
    """The entries of the group's files as loaded (asked_at and variants are not part of the answer)."""
    return [
        (loaded.path.name, entry)
        for loaded in (kb or KB).files["faq/"]
        if f"faq/{loaded.path.name}" in GROUP_B_FILES
        for entry in loaded.model.faq
    ]


def folded(text: str) -> str:
    text = unicodedata.normalize("NFKD", text.lower())
    return " ".join(re.sub(r"[^a-z0-9 ]", " ", text.encode("ascii", "ignore").decode()).split())


def test_every_group_b_id_is_answered_in_the_group_files():
    ids = [entry.id for _, entry in group_b_entries()]
    assert sorted(ids) == sorted(GROUP_B_IDS)


def test_group_b_statements_rest_on_national_sources_with_verified_quotes():
    problems = [p for p in check_sources(KB) if any(f in p for f in GROUP_B_FILES)]
    assert problems == []


@pytest.mark.parametrize("name,entry", group_b_entries(), ids=lambda v: v if isinstance(v, str) else v.id)
def test_entry_says_where_staff_ask_and_how(name, entry):
    assert entry.asked_at and all(url.startswith("http") for url in entry.asked_at)
    # As group A: retrieval reads all variants, training the first NLU_VARIANTS_PER_ENTRY (test_cli).
    assert 18 <= len(entry.variants) <= 25
    assert len({v.lower() for v in entry.variants}) == len(entry.variants)
    assert len(entry.question) <= 70


def test_no_group_b_variant_repeats_another_entrys_phrasing():
    owner: Dict[str, str] = {}
    clashes = []
    for entry in S.faq_entries(KB):
        for phrasing in {folded(v) for v in [entry.question, *entry.variants]}:
            if owner.setdefault(phrasing, entry.id) != entry.id:
                clashes.append((phrasing, owner[phrasing], entry.id))
    assert [c for c in clashes if set(c[1:]) & set(GROUP_B_IDS)] == []


@pytest.mark.parametrize("faq_id", GROUP_B_IDS)
def test_answer_uses_only_national_numbers_and_current_names(faq_id):
    text = answer(faq_id)
    assert set(PHONE.findall(text)) <= NATIONAL_NUMBERS, text
    assert not [word for word in OUTDATED if word in text], text


@pytest.mark.parametrize("faq_id", GROUP_B_IDS)
def test_yes_or_no_first_only_for_a_yes_no_question(faq_id):
    opener = first_sentence(answer(faq_id)).rstrip(".:, ")
    if opener in ("Ja", "Nee"):
        question = re.split(r"(?<=[.?!])\s", S.faq_question(faq_id, KB))[-1]  # the sentence that asks
        assert question.endswith("?") and question.split()[0].lower() in YES_NO_OPENERS, question


# --- a pupil who discloses --------------------------------------------------------------------------------


def test_pupil_discloses_says_listen_never_promise_secrecy_and_report_what_was_heard():
    text = answer("pupil_discloses")
    assert first_sentence(text).startswith("Blijf rustig en luister")
    assert "geen geheimhouding" in text and "aandachtsfunctionaris" in text
    assert "letterlijk op wat de leerling zei" in text
    assert "112" in text and "eergerelateerd geweld" in text and "voordat iemand met de ouders praat" in text


def test_secrecy_is_never_promised():
    text = answer("secrecy_promise")
    assert text.startswith("Nee. Beloof geen geheimhouding")
    assert "aandachtsfunctionaris" in text


def test_disclosure_donts_name_leading_questions_judging_the_parents_and_secrecy():
    text = answer("disclosure_dont")
    assert "suggestieve of waarom-vragen" in text and "wat u van de ouders" in text and "geheimhoudt" in text


# --- forms where Veilig Thuis comes first, and the acute routes -------------------------------------------


@pytest.mark.parametrize(
    "faq_id,org_id",
    [
        ("signals_vgv", NATIONAL_PROFILE),
        ("honour_violence", NATIONAL_PROFILE),
        ("verlof_request_risk", NATIONAL_PROFILE),
        # Veilig Thuis before the parents on sexual abuse is Stichting Consent's own addition
        ("signals_sexual_abuse", "consent"),
    ],
)
def test_veilig_thuis_comes_before_any_talk_with_the_parents(faq_id, org_id):
    text = answer(faq_id, org_id)
    assert "Veilig Thuis" in text
    assert re.search(r"(vóór|voordat)[^.]*(ouders|gesprek)", text), text


def test_forced_marriage_names_the_landelijk_knooppunt_and_veilig_thuis():
    text = answer("forced_marriage_abroad")
    assert "Landelijk Knooppunt Huwelijksdwang en Achterlating" in text
    assert "Veilig Thuis" in text and "leerplichtambtenaar" in text


def test_self_harm_and_suicide_route_to_113_the_huisarts_and_112():
    text = answer("self_harm_suicide")
    assert "113 Zelfmoordpreventie" in text and "0800-0113" in text and "112" in text and "huisarts" in text
    assert "Veilig Thuis" not in first_sentence(text)


def test_recent_sexual_violence_routes_to_the_centrum_seksueel_geweld():
    text = answer("recent_sexual_violence")
    assert "Centrum Seksueel Geweld (0800-0188" in text and "zeven dagen" in text
    assert "geen contact met de politie" in text


def test_afraid_to_go_home_is_acute_112_then_veilig_thuis_day_and_night():
    text = answer("afraid_to_go_home")
    assert first_sentence(text) == "Is er direct gevaar, bel dan 112."
    assert "0800-2000, dag en nacht" in text and "niet alleen naar huis" in text


def test_drunk_parent_danger_means_112_and_not_handing_over_the_child():
    text = answer("parent_under_influence")
    assert "112" in first_sentence(text) and "geef het dan niet mee" in text


# --- online and peer violence ------------------------------------------------------------------------------


def test_sextortion_advice_is_do_not_pay_keep_evidence_report():
    text = answer("online_sextortion")
    assert "niet betalen" in text and "screenshots" in text and "aangifte" in text and "Helpwanted" in text


def test_sexting_puts_the_victim_first_and_addresses_the_senders():
    text = answer("sexting_between_pupils")
    assert "geef geen schuld" in text and "doorsturen en liken" in text and "aangifte" in text


def test_violence_between_pupils_names_partners_inspector_and_police():
    text = answer("violence_between_pupils")
    assert not text.startswith("Nee")
    assert "(ex-)partner is huiselijk geweld" in text
    assert "vertrouwensinspecteur" in text and "0900-111 3 111" in text and "aangifte bij de politie" in text


def test_violence_between_partners_is_domestic_violence_under_the_meldcode():
    text = answer("dating_violence")
    assert first_sentence(text).startswith("Geweld door een (ex-)partner is huiselijk geweld")
    assert "meldcode" in first_sentence(text) and "dwingende controle" in text


def test_witnessing_violence_between_parents_is_child_abuse():
    assert answer("witnessing_domestic_violence").startswith("Ja. Als een kind getuige is van geweld thuis")


# --- leerplicht, verzuim, verlof ---------------------------------------------------------------------------


def test_leerplicht_role_names_verzuim_as_signal_and_the_meldcode():
    text = answer("leerplicht_role")
    assert "verzuim kan een signaal zijn" in text and "werkt ook met de meldcode" in text
    assert "verlof" in text and "Veilig Thuis" in text


def test_absence_is_reported_to_leerplicht_and_may_start_the_meldcode():
    text = answer("absence_as_signal")
    assert "leerplichtambtenaar" in text and "meldcode" in text and "achterlating" in text


def test_verlof_request_names_who_decides_and_where_to_turn():
    text = answer("verlof_request_risk")
    assert "directeur" in text and "Leerplichtwet" in text and "leerplichtambtenaar" in text
    assert "Landelijk Knooppunt Huwelijksdwang en Achterlating" in text


# --- roles -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "faq_id,required",
    [
        ("what_is_attention_officer", ("aandachtsfunctionaris", "stap 2", "deskundige")),
        ("role_ib", ("intern begeleider", "stap 2", "tweede lijn")),
        ("role_care_coordinator", ("zorgcoördinator", "voortgezet onderwijs", "tweede lijn")),
        ("role_mentor", ("U signaleert", "feitelijk vast", "niet u alleen")),
        ("role_school_leader", ("directie", "invoeren van de meldcode", "acute of structurele onveiligheid")),
        ("role_board", ("bevoegd gezag", "vertrouwensinspecteur", "onverwijld", "aangifte")),
        ("role_subject_teacher", ("vakleerkracht", "signaleert", "mentor")),
        ("role_intern", ("praktijkbegeleider", "geheimhouding", "112")),
        ("role_teaching_assistant", ("signaleert", "leerkracht van het kind")),
        ("role_school_social_work", ("schoolmaatschappelijk werk", "stap 2", "tweede lijn")),
        ("role_youth_doctor", ("jeugdarts of jeugdverpleegkundige", "toestemming", "adviezen")),
    ],
)
def test_each_role_gets_its_own_task(faq_id, required):
    text = answer(faq_id)
    assert [word for word in required if word not in text] == [], text


def test_a_schools_own_role_arrangements_stay_in_its_profile():
    youth = answer("role_youth_doctor", "symbio")  # Symbio's protocol: the JGZ in steps 2 and 4
    assert "stap 2" in youth and "stap 4" in youth
    assert "stap 2" not in answer("role_youth_doctor")


def test_a_teacher_does_not_organise_the_help_alone():
    assert "niet u alleen" in answer("role_mentor")
    assert "groepsleerkracht niet alleen" in answer("role_ib")


def test_steps_overview_names_the_acute_exception_and_the_two_decisions():
    text = answer("steps_overview")
    assert "twee beslissingen" in text and "acuut gevaar" in text and "direct" in text


# --- recording ---------------------------------------------------------------------------------------------


def test_facts_come_first_then_opinions_and_hypotheses_marked_as_such():
    text = answer("record_facts")
    assert first_sentence(text).startswith("Schrijf eerst de feiten op")
    assert "interpretatie" in text and "hypothese" in text and "van wie ze zijn" in text


def test_third_party_information_names_the_source_and_asks_consent():
    text = answer("record_third_party")
    assert "van wie de informatie komt" in text
    # asking the third party's consent (Onze Wijs) and naming it in a melding (VO-school) are protocol additions
    assert "toestemming" in answer("record_third_party", "onzewijs")
    assert "van anderen afkomstig" in answer("record_third_party", "vo_school")


def test_what_to_record_is_factual_with_date_place_and_source():
    text = answer("what_to_record")
    assert "feitelijk" in text and "bron" in text
    assert "datum, plaats" in answer("what_to_record", "onzewijs")  # Onze Wijs's own checklist


def test_parents_may_see_the_dossier_with_the_stated_exceptions():
    text = answer("dossier_parents_access")
    assert text.startswith("Ja, in principe wel")
    assert "16 jaar" in text and "persoonlijke aantekeningen" in text and "veiligheid en ontwikkeling" in text


def test_dossier_retention_is_two_years_in_principle():
    assert "twee jaar nadat de leerling de school heeft verlaten" in answer("dossier_retention")


def test_verwijsindex_needs_the_gemeentes_authorisation_and_tells_pupil_and_parents():
    text = answer("verwijsindex")
    assert text.startswith("Nee, dat is niet verplicht.")
    assert "gemeente" in text and "meldingsbevoegd" in text
    assert "leerling en de ouders" in text and "geen melding bij Veilig Thuis" in text


# --- forms and signals -------------------------------------------------------------------------------------


def test_child_abuse_definition_covers_neglect_online_abuse_and_witnessing():
    text = answer("what_is_child_abuse")
    assert "verwaarlozing" in text and "(ook online)" in text and "getuige" in text


def test_huiselijke_kring_includes_ex_partners_and_any_place():
    text = answer("what_is_domestic_violence")
    assert "(ex-)partners" in text and "buitenshuis" in text


def test_poverty_is_not_neglect_but_lasting_lack_of_care_is():
    text = answer("poverty_or_neglect")
    assert text.startswith("Nee. Armoede op zich is geen verwaarlozing")
    assert "volgt u wel de meldcode" in text


def test_hitting_as_punishment_is_forbidden_by_law():
    text = answer("corporal_punishment")
    assert "2007" in text and "geen geestelijk of lichamelijk geweld" in text
    assert not text.startswith(("Ja", "Nee"))


def test_injuries_are_described_not_photographed_by_staff():
    text = answer("photos_of_injuries")
    assert text.startswith("Doe dat niet zelf") and "forensisch arts" in text and "feitelijk" in text


def test_doubt_is_taken_seriously_and_leads_to_advice():
    text = answer("unsure_signals")
    assert "serieus" in first_sentence(text) and "Veilig Thuis" in text and "niets te bewijzen" in text
