"""The dialogue decisions of bot/conversation.py: how a message is read before anything is stored."""

from __future__ import annotations

import pytest

from bot import conversation, steps
from bot.conversation import CONFIRM, QUESTION, RECORD


@pytest.mark.parametrize(
    "text",
    [
        "We hebben besloten te melden. Hoe doe ik dat?",
        "hoe doe ik een melding bij veilig thuis",
        "Moet ik nu met de ouders praten?",
        "we hebben met de ib'er overlegd, wat nu?",
        "Wat als de ouders het gesprek weigeren",
        "mag ik de melding zelf doen",
        "Ik heb de signalen vastgelegd maar moet ik ook de ouders bellen",
        "kunnen we anoniem advies vragen",
        "Wanneer moet de melding gedaan zijn",
    ],
)
def test_questions_are_recognised(text: str) -> None:
    assert conversation.is_question(text)


@pytest.mark.parametrize(
    "text",
    [
        "we hebben een melding gedaan bij Veilig Thuis",
        "Ik heb met de IB'er overlegd",
        "het gesprek met de ouders is geweest",
        "ik heb alles opgeschreven wat ik gezien heb",
        "de melding is rond",
        "we hebben besloten te melden en dat is gebeurd",
    ],
)
def test_statements_are_not_questions(text: str) -> None:
    assert not conversation.is_question(text)


def test_a_question_is_never_recorded_whatever_the_confidence() -> None:
    for confidence in (0.3, 0.9, 1.0):
        assert conversation.read_progress("We hebben besloten te melden. Hoe doe ik dat?", confidence) == QUESTION


@pytest.mark.parametrize(
    "text",
    [
        "We hebben besloten te melden",
        "we gaan morgen melden bij veilig thuis",
        "ik wil met de ouders praten",
        "de ib'er en ik zijn van plan om te overleggen",
    ],
)
def test_an_intention_is_confirmed_before_it_is_recorded(text: str) -> None:
    assert conversation.read_progress(text, 0.99) == CONFIRM


def test_an_unsure_statement_is_confirmed_and_a_sure_one_recorded() -> None:
    assert conversation.read_progress("de melding is rond", 0.5) == CONFIRM
    assert conversation.read_progress("de melding is rond", 0.95) == RECORD


def test_a_button_records_at_once() -> None:
    assert conversation.read_progress('/progress_reported{"milestone": "reported_to_vt"}', 1.0) == RECORD


@pytest.mark.parametrize(
    "text",
    [
        "Mijn leerling heeft striemen op zijn rug",
        "een leerling vertelde me net dat haar oom aan haar zit",
        "een kind uit groep 3 komt steeds zonder eten en met vieze kleren",
        "hij vertelde dat papa mama gisteren heeft geslagen en hij zag het",
        "ze is al drie weken niet op school geweest en de ouders reageren niet",
        "ik zag brandwonden op haar arm",
        "Ik ben gymdocent en een jongen heeft blauwe plekken op zijn benen",
    ],
)
def test_a_described_concern_is_told_from_a_generic_worry(text: str) -> None:
    assert conversation.describes_concern(text)


@pytest.mark.parametrize(
    "text",
    [
        "ik maak me zorgen over een leerling",
        "Ik maak me zorgen om een kind uit mijn klas",
        "ik wil een casus starten",
        "zorgen om een leerling",
        "ik wil de meldcode doorlopen",
        "/start_case",
        "ik maak me zorgen over n leerling, kan je helpen",
        "ik ben mentor en ik maak me zorgen over een leerling uit mijn klas",
    ],
)
def test_a_generic_worry_describes_no_concern(text: str) -> None:
    assert not conversation.describes_concern(text)


@pytest.mark.parametrize(
    "text",
    [
        "I am worried about a pupil, what should I do?",
        "Hello, can you help me? One of my students has bruises",
        "what is the meldcode",
        "Do I have to report child abuse?",
        "my student told me her uncle touches her",
    ],
)
def test_english_is_recognised(text: str) -> None:
    assert conversation.is_english(text)


@pytest.mark.parametrize(
    "text",
    [
        "ik maak me zorgen over een leerling",
        "wat is de meldcode?",
        "thanks",
        "ok",
        "Ik heb met de IB'er overlegd",
        "hij is in de war en heeft een blauwe plek",
        "de leerling zegt: I am fine",
    ],
)
def test_dutch_is_not_english(text: str) -> None:
    assert not conversation.is_english(text)


def test_a_clarification_just_asked_is_not_asked_again() -> None:
    question = "U heeft al een casus: 'Leerling K7', nu in stap 1. Gaat het om dezelfde leerling?"
    assert conversation.asked_just_now(question, [question])
    assert conversation.asked_just_now(question, ["Iets anders", question])
    assert not conversation.asked_just_now(question, [question, "Stap 1: ..."])
    assert not conversation.asked_just_now(question, [])


@pytest.mark.parametrize(
    "kind,fields,expected",
    [
        ("signaal", {}, ("signals_recorded",)),
        ("consultatie", {"met_wie": "de intern begeleider"}, ("colleague_consulted",)),
        ("consultatie", {"met_wie": "Veilig Thuis, anoniem"}, ("vt_advice_asked",)),
        ("gesprek", {"met_wie": "moeder en de intern begeleider"}, ("parents_talked",)),
        ("gesprek", {"met_wie": "de leerling zelf"}, ("pupil_talked",)),
        ("gesprek", {"met_wie": "vader en het kind"}, ("parents_talked", "pupil_talked")),
        ("weging", {}, ("weighing_done",)),
        ("melding", {"besproken_met_ouder": True}, ("reported_to_vt", "melding_discussed")),
        ("melding", {"besproken_met_ouder": False}, ("reported_to_vt",)),
        ("vervolg", {}, ("effects_followed",)),
    ],
)
def test_what_a_note_records_moves_the_case(kind: str, fields: dict, expected: tuple) -> None:
    assert steps.note_milestones(kind, fields) == expected
    assert set(expected) <= set(steps.milestone_ids())


def test_a_saved_conversation_note_moves_the_case_past_step_3() -> None:
    state = steps.CaseState(step=1)
    for milestone in steps.note_milestones("gesprek", {"met_wie": "moeder"}):
        state = steps.record_progress(state, milestone)
    assert state.step == 4


def test_every_note_kind_says_what_it_records() -> None:
    from bot.notes import NOTE_KINDS

    assert set(steps.NOTE_MILESTONES) == set(NOTE_KINDS)


def test_a_typed_button_title_means_that_button() -> None:
    """Staff type what they read: the title of an offered button is that button (channel guard)."""
    from plugins.channels.guard import guard_typed

    events = [
        {
            "event": "bot",
            "text": "Wat wilt u vastleggen?",
            "data": {
                "buttons": [
                    {
                        "title": "Gesprek met ouder of leerling (stap 3)",
                        "payload": '/record_note{"note_kind": "gesprek"}',
                    },
                    {"title": "Stoppen", "payload": "/stop_note"},
                ]
            },
        },
        {"event": "bot", "text": "...", "data": {"buttons": [{"title": "Wat kunt u allemaal?", "payload": "/help"}]}},
    ]
    assert guard_typed("Gesprek met ouder of leerling (stap 3)", events) == '/record_note{"note_kind": "gesprek"}'
    assert guard_typed("  gesprek met ouder  of leerling (stap 3) ", events) == '/record_note{"note_kind": "gesprek"}'
    assert guard_typed("Wat kunt u allemaal?", events) == "/help"
    assert guard_typed("Wat kunt u allemaal?", []) == "Wat kunt u allemaal?"  # never offered: the NLU reads it
    assert guard_typed('/inform_role{"role":"school_leader"}', events) == 'inform_role{"role":"school_leader"}'


@pytest.mark.parametrize(
    "text,expected",
    [
        ("ik ben mentor en ik maak me zorgen over een leerling", True),
        ("Ik ben gymdocent en een jongen heeft blauwe plekken", True),
        ("Ik ben aandachtsfunctionaris en een collega zag brandwonden bij een leerling", True),
        ("ik ben juf van groep 4", False),
        ("ik ben de intern begeleider", False),
        ("ik ben mentor van een tweede klas", False),
        ("ik ben ib-er op een basisschool", False),
        ("ik ben coördinator huiselijk geweld en kindermishandeling", False),
    ],
)
def test_a_role_told_with_a_worry_is_told_from_a_role_alone(text: str, expected: bool) -> None:
    assert conversation.concern_beside_role(text) is expected


@pytest.mark.parametrize(
    "text,role",
    [
        ("Ik ben gymdocent en ik zag bij het omkleden striemen", "teacher"),
        ("ik ben conciërge en zag een leerling met een blauw oog", "support_staff"),
        ("Ik ben de intern begeleider, een kind is al weken weg", "ib"),
        ("als zorgcoördinator wil ik weten wat ik moet doen", "care_coordinator"),
        ("Ik ben aandachtsfunctionaris en een collega zag brandwonden", "attention_officer"),
        ("de mentor zei dat hij blauwe plekken had", None),  # someone else's function, not the writer's
        ("ik ben bezorgd over een leerling", None),
        ("ik ben benieuwd wat de meldcode zegt", None),
        ("een leerling vertelde: ik ben bang voor de juf", None),
    ],
)
def test_a_role_is_read_only_from_what_the_writer_says_about_themselves(text: str, role) -> None:
    assert conversation.stated_role(text) == role


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Stap 1: In kaart brengen van signalen", "Stap 1: In kaart brengen van signalen."),
        (
            "Beslissen: is melden noodzakelijk? Is hulp (ook) mogelijk?",
            "Beslissen: is melden noodzakelijk? Is hulp (ook) mogelijk?",
        ),
        ("Bel nu 112!", "Bel nu 112!"),
        ("Klaar. ", "Klaar."),
    ],
)
def test_a_sentence_gets_one_closing_mark(text: str, expected: str) -> None:
    from bot.texts import sentence

    assert sentence(text) == expected


@pytest.mark.parametrize(
    "text,expected",
    [
        (
            "Moet ik altijd melden? Ben ik verplicht om te melden?",
            "Moet ik altijd melden? Ben ik verplicht om te melden?",
        ),
        ("Stap 1: Signalen in kaart brengen", "Stap 1: Signalen in kaart brengen?"),
        ("Kindermishandeling door een medewerker.", "Kindermishandeling door een medewerker?"),
        ("Wat doet Veilig Thuis? ", "Wat doet Veilig Thuis?"),
    ],
)
def test_a_title_asked_back_gets_one_question_mark(text: str, expected: str) -> None:
    from bot.texts import question

    assert question(text) == expected
