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
    expected = {
        "signals_recorded": 2,
        "colleague_consulted": 3,
        "vt_advice_asked": 3,
        "parents_talked": 4,
        "pupil_talked": 4,
        "weighing_done": 5,
        "reported_to_vt": 5,
        "help_organised": 5,
    }
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
    for milestone, step in [
        ("signals_recorded", 2),
        ("vt_advice_asked", 3),
        ("colleague_consulted", 3),
        ("pupil_talked", 4),
        ("weighing_done", 5),
        ("reported_to_vt", 5),
    ]:
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


@pytest.mark.parametrize(
    "org_id, words",
    [
        ("symbio", ("SCP-er", "SOT")),
        ("lucstevens", ("CvB", "coördinator")),
        ("vo_school", ("zorgcoördinator",)),
        ("onzewijs", ("IB-er", "MDO", "SMW")),
        ("consent", ("IB-er", "ZAT")),
    ],
)
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


@pytest.mark.parametrize(
    "org_id, legacy",
    [
        ("symbio", True),
        ("onzewijs", True),
        ("consent", False),
        ("lucstevens", False),
        ("vo_school", False),
        ("national", False),
    ],
)
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
    for term in (
        "bloed",
        "bloedend",
        "mes",
        "wurgen",
        "bewusteloos",
        "durft niet naar huis",
        "vandaag nog",
        "in gevaar",
    ):
        assert term in terms
    # Abuse described without immediacy is a case for the five steps, not for the acute route:
    # the trained classifier routes it to start_case; the net must not hijack it.
    for report in ("wordt geslagen", "wordt mishandeld", "slaat haar"):
        assert report not in terms
    assert len(set(terms)) == len(terms)
    assert all(t == t.lower().strip() and len(t) >= 3 for t in terms)


# --- FAQ -----------------------------------------------------------------------------------------

REQUIRED_FAQ = (
    "anonymous_advice",
    "meldcode_vs_meldplicht",
    "meldrecht",
    "what_is_attention_officer",
    "skip_parent_talk",
    "parent_refuses_consent",
    "age_rules",
    "what_vt_does_after_melding",
    "kindcheck",
    "verwijsindex",
    "signalenlijst",
    "what_to_record",
    "amk_is_veilig_thuis",
    "afwegingskader_2019",
    "melding_vs_advies",
    "risk_assessment_tool",
    "letseldeskundige",
    "secrecy_promise",
    "order_of_steps",
    "consent_for_care_team",
    "who_talks_to_parents",
)


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
    assert "16" in S.faq_answer("age_rules", ORGS["national"], KB)[0]
    assert "12 jaar" in S.faq_answer("age_rules", ORGS["vo_school"], KB)[0]  # the VO-school's own rule
    assert "2015" in S.faq_answer("amk_is_veilig_thuis", ORGS["onzewijs"], KB)[0]
    assert S.faq_answer("secrecy_promise", ORGS["national"], KB)[0].startswith("Nee.")
    # Issue 11: "Moet ik altijd melden?" must not open with "Nee" (melding is the norm in more cases, and
    # staff have a real meldplicht on a zedendelict by a colleague)
    meldplicht = S.faq_answer("meldcode_vs_meldplicht", ORGS["national"], KB)[0]
    assert not meldplicht.startswith("Nee") and "meldplicht" in meldplicht


def test_faq_question_is_the_canonical_question():
    assert S.faq_question("meldrecht", KB) == "Mag ik melden zonder toestemming van de ouders?"


def test_unknown_faq_is_an_error():
    with pytest.raises(ValueError):
        S.faq_answer("weer_vandaag", ORGS["national"], KB)
    with pytest.raises(ValueError):
        S.faq_question("weer_vandaag", KB)


def test_cross_checks_pass_on_the_real_files():
    assert S.check_steps(KB) == []


# --- issue 11/12: protocol fidelity of steps and situations ----------------------------------------

NATIONAL_KINDS = {"national", "domain"}
SITUATIONS = [s.id for s in KB.one("situations.yml").situations]
ALL_STATEMENTS = [
    value
    for _, value in __import__("bot.knowledge", fromlist=["iter_models"]).iter_models(KB.one("steps.yml"))
    if isinstance(value, S.Statement)
] + [
    value
    for _, value in __import__("bot.knowledge", fromlist=["iter_models"]).iter_models(KB.one("situations.yml"))
    if isinstance(value, S.Statement)
]


def _label_kinds() -> dict:
    """Source label prefix -> document kind, to tell a school protocol from a national source by label."""
    return {d.label: d.kind for d in KB.sources().documents}


def _kind_of(label: str) -> str:
    return next(kind for name, kind in _label_kinds().items() if label.startswith(name))


def test_every_text_that_states_the_order_of_the_steps_names_the_acute_exception():
    about_order = [
        s
        for s in ALL_STATEMENTS
        if re.search(r"doorloop|volgorde is vrij|alle stappen|stappen van de meldcode", s.text)
    ]
    assert about_order, "the order of the steps must be stated somewhere"
    for statement in about_order:
        assert "acuut gevaar" in statement.text and "direct" in statement.text, statement.text


@pytest.mark.parametrize("org_id", sorted(ORGS))
@pytest.mark.parametrize("role", ROLES)
def test_step_three_shows_calling_veilig_thuis_before_the_parents_first(org_id, role):
    lines = S.guidance(everything_before(3), ORGS[org_id], role, KB).lines
    pitfalls = [line for line in lines if line.startswith(S.PITFALL_PREFIX)]
    first = pitfalls[0]
    assert "eergerelateerd geweld" in first and "huwelijksdwang" in first and "meisjesbesnijdenis" in first
    assert "vóór het gesprek" in first and terms(ORGS[org_id], KB)["veilig_thuis"] in first
    # seed 003 (Stichting Consent) adds sexual abuse: only that school reads it as its rule
    assert ("seksueel misbruik" in first) == (org_id == "consent")
    assert f"{S.PITFALL_PREFIX}Kom pas met een interpretatie nadat de ouder heeft gereageerd." in lines


@pytest.mark.parametrize("org_id", sorted(ORGS))
@pytest.mark.parametrize("step", STEP_NUMBERS)
@pytest.mark.parametrize("role", ROLES)
def test_school_type_warnings_only_for_the_school_types_they_name(org_id, step, role):
    text = "\n".join(S.guidance(everything_before(step), ORGS[org_id], role, KB).lines)
    special_only = set(ORGS[org_id].school_types) <= {"SO", "SBO"}
    assert ("normvervaging" in text) == (
        special_only and step in (1, 2) and (step == 1 or role in ("attention_officer", "care_coordinator", "ib"))
    ), text
    if "risicotaxatie" in text:
        assert ORGS[org_id].school_types == ["PO"]


@pytest.mark.parametrize("step", STEP_NUMBERS)
@pytest.mark.parametrize("role", ROLES)
def test_the_national_profile_cites_national_sources_only(step, role):
    for state in (at(step), everything_before(step)):
        advice = S.guidance(state, ORGS[NATIONAL_PROFILE], role, KB)
        assert {_kind_of(label) for label in advice.sources} <= NATIONAL_KINDS, advice.sources


@pytest.mark.parametrize("situation_id", SITUATIONS)
def test_situations_in_the_national_profile_cite_national_sources_only(situation_id):
    reply = S.situation(situation_id, ORGS[NATIONAL_PROFILE], KB)
    assert {_kind_of(label) for label in reply.sources} <= NATIONAL_KINDS, reply.sources


@pytest.mark.parametrize("org_id", sorted(set(ORGS) - {NATIONAL_PROFILE}))
def test_a_school_profile_cites_only_its_own_protocol_besides_the_national_sources(org_id):
    own = next(d.label for d in KB.sources().documents if d.id == ORGS[org_id].source_doc)
    labels = set()
    for step in STEP_NUMBERS:
        for role in ROLES:
            labels |= set(S.guidance(everything_before(step), ORGS[org_id], role, KB).sources)
    labels |= {label for sid in SITUATIONS for label in S.situation(sid, ORGS[org_id], KB).sources}
    seeds = {label for label in labels if _kind_of(label) == "seed"}
    assert all(label.startswith(own) for label in seeds), seeds


def test_every_statement_in_steps_and_situations_rests_on_a_national_source_or_is_marked_local():
    kinds = {d.id: d.kind for d in KB.sources().documents}
    for statement in ALL_STATEMENTS:
        kind = kinds[statement.source.doc]
        assert kind in NATIONAL_KINDS or (kind == "seed" and statement.source.local), statement.text


def test_veilig_thuis_around_the_clock_says_outside_office_hours_is_mostly_for_urgent_matters():
    for org in ORGS.values():
        texts = [line for step in STEP_NUMBERS for line in S.guidance(everything_before(step), org, None, KB).lines]
        texts += [line for sid in SITUATIONS for line in S.situation(sid, org, KB).lines]
        texts += [
            f"{name}: {phone} ({when})"
            for sid in SITUATIONS
            for (name, phone), when in zip(
                S.situation(sid, org, KB).call,
                [c.when for c in next(s for s in KB.one("situations.yml").situations if s.id == sid).call],
            )
        ]
        for text in texts:
            for sentence in re.findall(r"[^.]*0800-2000[^.]*", text):
                if re.search(r"dag en nacht|24/7|24 uur", sentence):
                    assert "buiten kantooruren" in sentence, text


def test_national_terms_veiligheidsbeoordeling_not_veiligheidstoets():
    assert not any("veiligheidstoets" in s.text.lower() for s in ALL_STATEMENTS)


@pytest.mark.parametrize("org_id", sorted(ORGS))
def test_suicide_risk_names_112_then_113_and_the_huisarts(org_id):
    reply = S.situation("suicide_risk", ORGS[org_id], KB)
    first = reply.lines[0]
    assert reply.urgent and first.index("112") < first.index("113") and "0800-0113" in first
    assert [phone for _, phone in reply.call] == ["112", "113"]
    assert any("huisarts" in line and "crisisdienst" in line for line in reply.lines)
    assert not first.startswith(terms(ORGS[org_id], KB)["veilig_thuis"])


@pytest.mark.parametrize("org_id", sorted(ORGS))
def test_recent_sexual_violence_names_112_and_the_centrum_seksueel_geweld(org_id):
    reply = S.situation("sexual_violence", ORGS[org_id], KB)
    first = reply.lines[0]
    assert reply.urgent and first.index("112") < first.index("0800-0188") < first.index("0800-2000")
    assert "Centrum Seksueel Geweld" in first and "7 dagen" in first
    assert [phone for _, phone in reply.call] == ["112", "0800-0188", "0800-2000"]


@pytest.mark.parametrize("org_id", sorted(ORGS))
def test_staff_suspect_is_told_to_the_board_directly_and_without_delay(org_id):
    reply = S.situation("staff_suspect", ORGS[org_id], KB)
    text = "\n".join(reply.lines)
    assert "onverwijld" in reply.lines[0] and "tussenpersoon" in reply.lines[0]
    assert "via de" not in text and "externe vertrouwenspersoon" not in text
    assert "zedendelict moet het bestuur overleggen met de vertrouwensinspecteur" in reply.lines[0]
    assert any("geweld" in line and "ook raadplegen" in line for line in reply.lines)  # may, for other violence
    aangifte = next(line for line in reply.lines if "aangifte bij de politie" in line)
    assert all(word in aangifte for word in ("redelijk vermoeden", "nadat", "ouders", "medewerker"))


def test_violence_between_ex_partners_is_domestic_violence_and_sexual_violence_calls_the_inspector():
    reply = S.situation("pupil_violence", ORGS[NATIONAL_PROFILE], KB)
    assert any("(ex-)partners" in line and "wél de meldcode" in line for line in reply.lines)
    assert any("seksueel geweld" in line and "vertrouwensinspecteur" in line for line in reply.lines)
    assert any("politie" in line for line in reply.lines)


def test_acute_routes_try_the_specific_routes_before_acute_danger():
    routes = S.acute_routes(KB)
    assert [r for r, _ in routes][-1] == "acute_danger"
    assert {"suicide_risk", "sexual_violence"} <= {r for r, _ in routes}
    compiled = [(r, S.compile_terms(t)) for r, t in routes]

    def route(text: str) -> Optional[str]:
        return next((r for r, p in compiled if S.find_term(text, p)), None)

    assert route("hij zegt dat hij zichzelf iets wil aandoen") == "suicide_risk"
    assert route("ze krast zichzelf met een schaar") == "suicide_risk"
    assert route("een leerling is gisteren aangerand in het park") == "sexual_violence"
    assert route("vader heeft gedreigd hem iets aan te doen") == "acute_danger"
    assert route("ik maak me zorgen over een leerling") is None


CONTEXT = S.context_rule(["start_case", "staff_suspect"], KB)
DISCLOSURE = [("start_case", "een leerling vertelde me net dat haar oom aan haar zit")]


@pytest.mark.parametrize(
    "text",
    [
        "hij past vanavond weer op",
        "en vanavond is ze weer bij hem",
        "ze moet dit weekend weer bij die oom logeren",
        "morgen haalt hij haar weer op van school",
        "ze is straks alleen met hem thuis",
        "ze zei dat ze bang is om naar huis te gaan",
        "na school gaat ze naar hem toe",
    ],
)
def test_immediacy_after_an_abuse_signal_is_acute(text):
    assert CONTEXT.acute(text, DISCLOSURE)


@pytest.mark.parametrize(
    "earlier",
    [
        [("nlu_fallback", "mijn leerling wordt thuis geslagen door haar stiefvader")],  # an abuse term, any intent
        [("staff_suspect", "de gymleraar zit aan de meisjes")],
        [("greet", "hallo"), ("start_case", "ik maak me zorgen over een leerling")],
    ],
)
def test_any_earlier_abuse_signal_counts(earlier):
    assert CONTEXT.acute("hij past vanavond weer op", earlier) == "vanavond + weer"


@pytest.mark.parametrize(
    "text, earlier",
    [
        ("hij past vanavond weer op", []),  # no abuse signal before
        ("hij past vanavond weer op", [("faq", "wat is de meldcode?")]),
        ("wat moet ik nu doen?", DISCLOSURE),  # no immediacy
        ("ik heb morgen een gesprek met de ouders", DISCLOSURE),
        ("vanavond lees ik de meldcode nog eens door", DISCLOSURE),
    ],
)
def test_no_acute_route_without_both_an_abuse_signal_and_immediacy(text, earlier):
    assert CONTEXT.acute(text, earlier) is None


def test_check_steps_reports_a_profile_whose_role_sees_no_action():
    steps_file = KB.one("steps.yml")
    step_one = steps_file.steps[0]
    local_only = [a for a in step_one.actions if a.source.local or "school_leader" not in a.roles]
    broken = replace_steps(steps_file, 0, step_one.copy(update={"actions": local_only}))
    problems = S.check_steps(broken)
    assert any("step 1: no action for role 'school_leader' in profile 'national'" in p for p in problems), problems


def replace_steps(steps_file, index, step):
    """A knowledge base whose steps.yml has ``step`` at ``index`` (validation skipped: a test double)."""
    from dataclasses import replace as dc_replace
    from bot.knowledge import LoadedFile

    steps = list(steps_file.steps)
    steps[index] = step
    model = steps_file.copy(update={"steps": steps})
    loaded = KB.files["steps.yml"][0]
    return dc_replace(KB, files={**KB.files, "steps.yml": (LoadedFile(loaded.path, loaded.raw, model),)})


# --- a saved note moves the case; its undo takes back exactly that ----------------------------------


def test_a_note_records_only_the_milestones_that_were_new_and_remembers_the_step_before():
    state = S.CaseState(step=1)
    after, progress = S.record_note(state, "signaal", {})
    assert after == S.CaseState(step=2, done=frozenset({"signals_recorded"}))
    assert progress == S.NoteProgress(("signals_recorded",), 1, 2)
    again, nothing = S.record_note(after, "signaal", {})
    assert again == after and nothing.milestones == ()
    assert S.NoteProgress.from_json(progress.as_json()) == progress
    assert S.NoteProgress.from_json(None) == S.NoteProgress()  # a note saved before progress was kept


def test_undoing_a_note_goes_back_a_step_only_when_nothing_moved_the_case_since():
    _, progress = S.record_note(S.CaseState(step=1), "signaal", {})
    assert S.undo_note(S.CaseState(step=2, done=frozenset({"signals_recorded"})), progress) == S.CaseState(step=1)
    later = S.CaseState(step=3, done=frozenset({"signals_recorded", "colleague_consulted"}))
    assert S.undo_note(later, progress) == S.CaseState(step=3, done=frozenset({"colleague_consulted"}))
    untouched = S.CaseState(step=2, done=frozenset({"signals_recorded"}))
    assert S.undo_note(untouched, S.NoteProgress()) == untouched
