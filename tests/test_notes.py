"""Dossier note schema, missing-field logic, hypotheses, the summary and the one-message extractor.

Dutch date parsing and yes/no live in bot.language (tests/test_language.py)."""

from datetime import datetime, timedelta, timezone

import pytest

from bot.notes import (
    requested_kind,
    AMSTERDAM,
    DATETIME,
    NOTE_KINDS,
    UNDO_WINDOW,
    YES_NO,
    asks_instead_of_answers,
    extract_fields,
    fields_from_answer,
    fields_to_ask_again,
    hypothesis_markers,
    is_skip,
    mark_hypotheses,
    missing_fields,
    moment_of,
    note_content,
    note_kind,
    occurred_at,
    split_hypotheses,
    summary,
    requests_note,
    undo_allowed,
)

# Thursday 14 November 2024, 15:00 in Amsterdam (CET, +01:00)
NOW = datetime(2024, 11, 14, 15, 0, tzinfo=AMSTERDAM)


# --- schema ------------------------------------------------------------------------------------


def test_every_step_has_a_note_kind():
    steps = {s for kind in NOTE_KINDS.values() for s in kind.steps}
    assert steps == {1, 2, 3, 4, 5}
    assert set(NOTE_KINDS) == {"signaal", "consultatie", "gesprek", "weging", "melding", "vervolg"}


def test_every_kind_starts_with_when_it_happened():
    for kind in NOTE_KINDS.values():
        assert kind.fields[0].name == "moment" and kind.fields[0].type == DATETIME, kind.id


def test_signaal_records_what_seed_002_step_1_lists():
    """'datum, plaats situatie en overige aanwezigen', facts, hypotheses apart, source + consent."""
    fields = {f.name: f for f in note_kind("signaal").fields}
    assert [n for n, f in fields.items() if f.required] == [
        "moment",
        "plaats",
        "situatie",
        "aanwezigen",
        "waarnemingen",
    ]
    assert fields["waarnemingen"].prompt == "Wat heeft u gezien of gehoord? Beschrijf alleen feiten."
    assert fields["waarnemingen"].factual
    assert not fields["hypothese"].required
    assert fields["toestemming_bron"].type == YES_NO and fields["toestemming_bron"].required_if == "bron"


def test_contact_kinds_say_with_whom():
    assert {k.id for k in NOTE_KINDS.values() if k.contact_field} == {"consultatie", "gesprek", "melding"}
    for kind in NOTE_KINDS.values():
        if kind.contact_field:
            assert kind.field(kind.contact_field).required


def test_prompts_use_formal_u():
    for kind in NOTE_KINDS.values():
        for f in kind.fields:
            assert not any(w in f.prompt.lower().split() for w in ("je", "jij", "jouw")), f.prompt


def test_unknown_kind_is_an_error():
    with pytest.raises(KeyError, match="known"):
        missing_fields("dagboek", {})


# --- missing fields ------------------------------------------------------------------------------


def test_nothing_filled_asks_every_field_but_the_conditional_one():
    assert missing_fields("signaal", {}) == [
        "moment",
        "plaats",
        "situatie",
        "aanwezigen",
        "waarnemingen",
        "hypothese",
        "bron",
    ]


def test_only_what_is_missing_is_asked():
    filled = {"moment": "2024-11-12T08:30+01:00", "plaats": "klas", "waarnemingen": "Blauwe plek op de arm."}
    assert missing_fields("signaal", filled) == ["situatie", "aanwezigen", "hypothese", "bron"]


def test_empty_answer_does_not_satisfy_a_required_field():
    assert "plaats" in missing_fields("signaal", {"plaats": ""})


def test_optional_field_answered_with_nothing_is_not_asked_again():
    filled = {
        "moment": "2024-11-12",
        "plaats": "klas",
        "situatie": "gym",
        "aanwezigen": "geen",
        "waarnemingen": "Huilde.",
        "hypothese": "",
        "bron": "",
    }
    assert missing_fields("signaal", filled) == []


def test_consent_is_asked_only_when_a_third_party_is_the_source():
    base = {
        "moment": "2024-11-12",
        "plaats": "klas",
        "situatie": "gym",
        "aanwezigen": "geen",
        "waarnemingen": "Huilde.",
        "hypothese": "",
    }
    assert missing_fields("signaal", {**base, "bron": "de buurvrouw"}) == ["toestemming_bron"]
    assert missing_fields("signaal", {**base, "bron": "de buurvrouw", "toestemming_bron": False}) == []


def test_a_no_answer_to_a_yes_no_field_counts_as_answered():
    filled = {"moment": "2024-11-12", "met_wie": "IB", "anoniem": False, "advies": "observeren", "afspraken": ""}
    assert missing_fields("consultatie", filled) == []


@pytest.mark.parametrize(
    "text,expected",
    [
        ("nee", True),
        ("geen", True),
        ("n.v.t.", True),
        ("weet ik niet", True),
        ("-", True),
        ("nee, de moeder vertelde het", False),
        ("de buurvrouw", False),
    ],
)
def test_is_skip(text, expected):
    assert is_skip(text) is expected


def test_occurred_at_is_the_start_of_the_moment():
    assert occurred_at("signaal", {"moment": "2024-11-13 middag"}) == datetime(2024, 11, 13, 12, 0, tzinfo=AMSTERDAM)
    assert occurred_at("signaal", {}) is None


# --- hypotheses -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,markers",
    [
        ("Ik denk dat hij thuis geslagen wordt.", ["ik denk"]),
        ("Vermoedelijk is er thuis ruzie.", ["vermoedelijk"]),
        ("Hij was waarschijnlijk te laat opgestaan.", ["waarschijnlijk"]),
        ("Het lijkt alsof ze bang is.", ["lijkt"]),
        ("Volgens mij drinkt vader.", ["volgens mij"]),
        ("Mogelijk is er sprake van verwaarlozing.", ["mogelijk"]),
        ("Ze had een blauwe plek op de linkerwang.", []),
        ("Ik heb zo snel mogelijk de IB-er gebeld.", []),
        ("Het was niet mogelijk om moeder te bereiken.", []),
        ("Volgens de moeder is hij gevallen.", []),  # a source, not the teacher's interpretation
    ],
)
def test_hypothesis_markers(text, markers):
    assert hypothesis_markers(text) == markers


def test_mark_hypotheses_tags_only_interpretation_sentences():
    text = "Hij had een blauwe plek op zijn arm. Ik denk dat vader hem slaat. Hij wilde niet naar huis."
    assert mark_hypotheses(text) == (
        "Hij had een blauwe plek op zijn arm. [hypothese] Ik denk dat vader hem slaat. Hij wilde niet naar huis."
    )


def test_split_hypotheses():
    facts, hypotheses = split_hypotheses("Ze huilde. Waarschijnlijk is er thuis iets gebeurd!")
    assert facts == ["Ze huilde."] and hypotheses == ["Waarschijnlijk is er thuis iets gebeurd!"]


# --- summary -------------------------------------------------------------------------------------


def test_summary_separates_observation_from_hypothesis():
    text = summary(
        "signaal",
        {
            "moment": "2024-11-12T08:30+01:00",
            "plaats": "in de klas",
            "situatie": "bij binnenkomst",
            "aanwezigen": "[collega]",
            "waarnemingen": "Leerling K7 had een blauwe plek. Ik denk dat hij geslagen is.",
            "hypothese": "",
            "bron": "de buurvrouw",
            "toestemming_bron": True,
        },
    )
    assert text.splitlines() == [
        "Signaal (stap 1)",
        "- Wanneer: dinsdag 12 november 2024 om 08:30",
        "- Waar: in de klas",
        "- Situatie (feiten): bij binnenkomst",
        "- Aanwezig: [collega]",
        "- Waarnemingen (feiten): Leerling K7 had een blauwe plek.",
        "- Hypothese of veronderstelling: Ik denk dat hij geslagen is.",
        "- Bron (informatie van derden): de buurvrouw",
        "- Toestemming van de bron om vast te leggen: ja",
    ]


def test_summary_of_a_weighing_names_both_steps_and_the_yes_no():
    text = summary(
        "weging",
        {
            "moment": "2024-11-14",
            "betrokkenen": "IB en directie",
            "veilig_thuis_geraadpleegd": False,
            "besluit": "Hulp organiseren.",
        },
    )
    assert text.splitlines()[0] == "Weging en besluit (stap 4 en 5)"
    assert "- Veilig Thuis geraadpleegd: nee" in text.splitlines()


def test_moment_of_prefers_the_teachers_own_moment():
    written = datetime(2024, 11, 14, 9, 5, tzinfo=AMSTERDAM)
    assert moment_of({"moment": "2024-11-13 middag"}, written).to_field() == "2024-11-13 middag"
    assert moment_of({}, written).to_field() == "2024-11-14T09:05+01:00"


# --- one message, many fields -------------------------------------------------------------------

ISSUE_16 = "Vandaag om 10 uur zag ik op het plein dat de leerling blauwe plekken op beide armen had"


@pytest.mark.parametrize(
    "text,expected",
    [
        (ISSUE_16, {"moment": "2024-11-14T10:00+01:00", "plaats": "op het plein", "waarnemingen": ISSUE_16}),
        (
            "Gisteren tijdens de gymles zag ik samen met de gymdocent striemen op zijn rug. Ik denk dat hij thuis "
            "geslagen wordt.",
            {
                "moment": "2024-11-13",
                "situatie": "tijdens de gymles",
                "aanwezigen": "de gymdocent",
                "waarnemingen": "Gisteren tijdens de gymles zag ik samen met de gymdocent striemen op zijn rug.",
                "hypothese": "Ik denk dat hij thuis geslagen wordt.",
            },
        ),
        (
            "12-11 om 10:15 in de gymzaal, in het bijzijn van de conciërge en de ib'er, zag ik een wond op haar been",
            {
                "moment": "2024-11-12T10:15+01:00",
                "plaats": "in de gymzaal",
                "aanwezigen": "de conciërge en de ib'er",
                "waarnemingen": "12-11 om 10:15 in de gymzaal, in het bijzijn van de conciërge en de ib'er, "
                "zag ik een wond op haar been",
            },
        ),
        (
            "vanochtend bij het hek vertelde de moeder van een klasgenoot dat het thuis niet goed gaat",
            {
                "moment": "2024-11-14 ochtend",
                "plaats": "bij het hek",
                "bron": "de moeder van een klasgenoot",
                "waarnemingen": "vanochtend bij het hek vertelde de moeder van een klasgenoot dat het thuis "
                "niet goed gaat",
            },
        ),
        (
            "Volgens de buurvrouw schreeuwt vader elke avond.",
            {"bron": "de buurvrouw", "waarnemingen": "Volgens de buurvrouw schreeuwt vader elke avond."},
        ),
        (
            "De conciërge was erbij toen ze in de gang begon te huilen",
            {
                "plaats": "in de gang",
                "aanwezigen": "De conciërge",
                "waarnemingen": "De conciërge was erbij toen ze in de gang begon te huilen",
            },
        ),
        (
            "Samen met twee collega's zag ik vanmiddag dat hij zijn jas niet uit wilde doen",
            {
                "moment": "2024-11-14 middag",
                "aanwezigen": "twee collega's",
                "waarnemingen": "Samen met twee collega's zag ik vanmiddag dat hij zijn jas niet uit wilde doen",
            },
        ),
        (
            "Er was niemand anders bij toen hij vertelde dat hij honger had",
            {"aanwezigen": "niemand", "waarnemingen": "Er was niemand anders bij toen hij vertelde dat hij honger had"},
        ),
        (
            "Ik heb het zelf gezien: hij at zijn lunch niet",
            {"bron": "", "waarnemingen": "Ik heb het zelf gezien: hij at zijn lunch niet"},
        ),
        (
            "dinsdagmiddag in de pauze zat ze alleen bij de fietsenstalling te huilen",
            {
                "moment": "2024-11-12 middag",
                "situatie": "in de pauze",
                "plaats": "bij de fietsenstalling",
                "waarnemingen": "dinsdagmiddag in de pauze zat ze alleen bij de fietsenstalling te huilen",
            },
        ),
        (
            "Bij het ophalen rook [moeder] naar drank",
            {"situatie": "Bij het ophalen", "waarnemingen": "Bij het ophalen rook [moeder] naar drank"},
        ),
        (
            "Mijn collega vertelde mij dat [persoon 1] in groep 5 een blauw oog had",
            {
                "bron": "Mijn collega",
                "plaats": "in groep 5",
                "waarnemingen": "Mijn collega vertelde mij dat [persoon 1] in groep 5 een blauw oog had",
            },
        ),
        (
            "gisteren op het plein, ik maak me zorgen",  # more than a date and a place: kept as the observation
            {
                "moment": "2024-11-13",
                "plaats": "op het plein",
                "waarnemingen": "gisteren op het plein, ik maak me zorgen",
            },
        ),
    ],
)
def test_extract_fields_reads_what_the_text_clearly_says(text, expected):
    assert extract_fields("signaal", text, NOW) == expected


@pytest.mark.parametrize(
    "text,absent",
    [
        ("Hij huilde een uur lang", {"moment"}),  # a duration, not a time of day
        ("Hij heeft al drie dagen dezelfde kleren aan", {"moment"}),
        ("Ze vertelde dat ze vorige week bij oma sliep", {"moment"}),  # the time of what she told, not of the note
        ("Vandaag om 10 uur zag ik het, en gisteren om half negen ook al", {"moment"}),  # two moments: ask
        ("morgen om negen uur komt moeder praten", {"moment"}),  # future
        ("Hij stond voor de klas te vertellen over zijn weekend", {"plaats"}),  # no place preposition we trust
        ("Ik maak me zorgen over hem in het algemeen", {"plaats", "situatie", "aanwezigen", "bron"}),
        ("Hij kwam met zijn broertje naar school", {"aanwezigen"}),  # "met" alone names no one present
        ("Volgens mij wordt ze thuis verwaarloosd.", {"bron", "waarnemingen"}),  # a hypothesis, not a source
    ],
)
def test_extract_fields_does_not_guess(text, absent):
    assert not absent & set(extract_fields("signaal", text, NOW))


def test_a_message_that_is_only_a_suspicion_fills_the_hypothesis():
    assert extract_fields("signaal", "Volgens mij wordt ze thuis verwaarloosd.", NOW) == {
        "hypothese": "Volgens mij wordt ze thuis verwaarloosd."
    }


def test_a_bare_date_or_place_is_no_observation():
    assert extract_fields("signaal", "gisteren om half negen", NOW) == {"moment": "2024-11-13T08:30+01:00"}
    assert extract_fields("signaal", "op het schoolplein", NOW) == {"plaats": "op het schoolplein"}


def test_other_kinds_get_only_their_own_fields():
    assert extract_fields("consultatie", ISSUE_16, NOW) == {"moment": "2024-11-14T10:00+01:00"}


@pytest.mark.parametrize(
    "text,content",
    [
        ("Ik wil een signaal noteren", ""),
        ("kan ik iets noteren over wat ik vanochtend zag", ""),
        ("Ik wil een signaal noteren: " + ISSUE_16, ISSUE_16),
        ("Signaal vastleggen. " + ISSUE_16, ISSUE_16),
        ("ik wil vastleggen dat hij vandaag weer te laat was", "hij vandaag weer te laat was"),
        (ISSUE_16, ISSUE_16),
    ],
)
def test_note_content_leaves_out_the_request(text, content):
    assert note_content(text) == content


def test_an_answer_to_the_date_question_that_says_everything_fills_every_field():
    assert fields_from_answer("signaal", "moment", ISSUE_16, NOW) == extract_fields("signaal", ISSUE_16, NOW)
    assert fields_from_answer("signaal", "moment", "gisteren om half negen", NOW) == {
        "moment": "2024-11-13T08:30+01:00"
    }
    assert fields_from_answer("signaal", "moment", "ergens vorig jaar", NOW) is None
    assert fields_from_answer("signaal", "moment", "morgen om negen uur", NOW) is None


@pytest.mark.parametrize("asked", ["plaats", "situatie", "aanwezigen", "waarnemingen"])
def test_a_moment_alone_answers_no_text_question(asked):
    """Only the moment is read from it; the asked field stays empty, so the form asks it again."""
    assert fields_from_answer("signaal", asked, "gisteren om half negen", NOW) == {"moment": "2024-11-13T08:30+01:00"}
    assert fields_from_answer("signaal", asked, "gisteren bij het hek", NOW) != {"moment": "2024-11-13"}


@pytest.mark.parametrize(
    "text, asks",
    [
        ("signaal vastleggen: hij had striemen op zijn rug", True),
        ("Ik wil een signaal noteren: vandaag zag ik een blauwe plek", True),
        ("noteer: moeder kwam dronken de leerling ophalen", True),
        ("leg dit vast als signaal: een bult op zijn hoofd", True),
        ("ik wil een notitie maken: hij vertelde dat hij thuis geslagen wordt", True),
        ("ik heb de signalen vastgelegd", False),
        ("ik heb een aantekening gemaakt", False),
        ("hij legde zijn hand op haar been", False),
        ("een leerling heeft striemen op zijn rug", False),
    ],
)
def test_a_request_to_record_is_told_from_a_report_that_it_is_done(text, asks):
    assert requests_note(text) is asks


def test_an_answer_to_a_text_question_keeps_the_whole_answer_unless_it_says_more():
    assert fields_from_answer("signaal", "situatie", "tijdens het buitenspelen met de andere kinderen", NOW) == {
        "situatie": "tijdens het buitenspelen met de andere kinderen"
    }
    answer = "tijdens de gymles zag ik blauwe plekken op zijn rug"
    assert fields_from_answer("signaal", "situatie", answer, NOW) == {
        "situatie": "tijdens de gymles",
        "waarnemingen": answer,
    }
    assert fields_from_answer("signaal", "plaats", "buiten, samen met een collega", NOW) == {
        "plaats": "buiten, samen met een collega",
        "aanwezigen": "een collega",
    }


def test_changing_a_source_forgets_its_consent():
    filled = {"moment": "2024-11-12", "bron": "de buurvrouw", "toestemming_bron": True, "plaats": "klas"}
    assert fields_to_ask_again("signaal", "bron", filled) == {"moment": "2024-11-12", "plaats": "klas"}
    assert fields_to_ask_again("signaal", "plaats", filled) == {
        "moment": "2024-11-12",
        "bron": "de buurvrouw",
        "toestemming_bron": True,
    }


@pytest.mark.parametrize(
    "text,question",
    [
        ("Moet ik dit ook melden?", True),
        ("wat moet ik nu doen?", True),
        ("Hoe lang bewaar ik dit?", True),
        ("Hij vroeg: 'mag ik vandaag bij u blijven?'", False),
        ("op het plein", False),
        ("Zou het kunnen dat hij thuis geslagen wordt?", False),  # a hypothesis put as a question
        ("Hij had blauwe plekken.", False),
    ],
)
def test_asks_instead_of_answers(text, question):
    assert asks_instead_of_answers(text) is question


def test_a_guess_put_as_a_question_answers_the_hypothesis_question():
    guess = "Is het mogelijk dat hij thuis geslagen wordt?"
    assert asks_instead_of_answers(guess, "waarnemingen")
    assert not asks_instead_of_answers(guess, "hypothese")
    assert asks_instead_of_answers("Moet ik dit melden?", "hypothese")


def test_undo_is_allowed_for_ten_minutes_after_saving():
    saved = datetime(2024, 11, 14, 14, 0, tzinfo=timezone.utc)
    assert undo_allowed(saved, saved + timedelta(minutes=9, seconds=59))
    assert undo_allowed(saved.replace(tzinfo=None), (saved + UNDO_WINDOW).astimezone(AMSTERDAM))
    assert not undo_allowed(saved, saved + UNDO_WINDOW + timedelta(seconds=1))


@pytest.mark.parametrize(
    "text,kind",
    [
        ("signaal vastleggen: gisteren om 10 uur zag ik op het plein striemen op haar rug", "signaal"),
        ("Ik wil een gesprek met moeder noteren: ze zei dat hij slecht slaapt", "gesprek"),
        ("Noteer de consultatie met de IB-er: we besloten te wachten", "consultatie"),
        ("een gesprek", "gesprek"),
        ("de melding", "melding"),
        ("Melding bij Veilig Thuis", "melding"),
        ("vervolg", "vervolg"),
    ],
)
def test_a_kind_named_where_the_note_is_asked_for_is_taken(text: str, kind: str) -> None:
    assert requested_kind(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        "ik wil iets vastleggen: het gesprek met vader ging slecht",  # the note's words choose no kind
        "gisteren had ik een gesprek met de moeder van Daan over zijn verzuim en zijn huiswerk",
        "signaal en gesprek vastleggen",  # two kinds: ask which one
        "ik wil iets noteren",
        "iets vastleggen: gesprek" + " " * 10,  # trailing spaces do not move the request into the note
        "",
    ],
)
def test_no_kind_is_read_from_the_note_itself_or_from_two_kinds(text: str) -> None:
    assert requested_kind(text) is None
