"""Dossier note schema, missing-field logic, Dutch date parsing, hypotheses and the summary."""
from datetime import datetime

import pytest

from bot.notes import (AMSTERDAM, DAY, DAYPART, FUTURE, MINUTE, NOTE_KINDS, OK, UNCLEAR, WEEK, DATETIME,
                       YES_NO, ParsedWhen, describe_when, from_field, hypothesis_markers, is_skip,
                       mark_hypotheses, missing_fields, moment_of, note_kind, occurred_at, parse_when, parse_yes_no,
                       split_hypotheses, summary)

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
    assert [n for n, f in fields.items() if f.required] == ["moment", "plaats", "situatie", "aanwezigen",
                                                          "waarnemingen"]
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
    assert missing_fields("signaal", {}) == ["moment", "plaats", "situatie", "aanwezigen", "waarnemingen",
                                             "hypothese", "bron"]


def test_only_what_is_missing_is_asked():
    filled = {"moment": "2024-11-12T08:30+01:00", "plaats": "klas", "waarnemingen": "Blauwe plek op de arm."}
    assert missing_fields("signaal", filled) == ["situatie", "aanwezigen", "hypothese", "bron"]


def test_empty_answer_does_not_satisfy_a_required_field():
    assert "plaats" in missing_fields("signaal", {"plaats": ""})


def test_optional_field_answered_with_nothing_is_not_asked_again():
    filled = {"moment": "2024-11-12", "plaats": "klas", "situatie": "gym", "aanwezigen": "geen",
              "waarnemingen": "Huilde.", "hypothese": "", "bron": ""}
    assert missing_fields("signaal", filled) == []


def test_consent_is_asked_only_when_a_third_party_is_the_source():
    base = {"moment": "2024-11-12", "plaats": "klas", "situatie": "gym", "aanwezigen": "geen",
            "waarnemingen": "Huilde.", "hypothese": ""}
    assert missing_fields("signaal", {**base, "bron": "de buurvrouw"}) == ["toestemming_bron"]
    assert missing_fields("signaal", {**base, "bron": "de buurvrouw", "toestemming_bron": False}) == []


def test_a_no_answer_to_a_yes_no_field_counts_as_answered():
    filled = {"moment": "2024-11-12", "met_wie": "IB", "anoniem": False, "advies": "observeren", "afspraken": ""}
    assert missing_fields("consultatie", filled) == []


@pytest.mark.parametrize("text,expected", [
    ("ja", True), ("Ja hoor", True), ("klopt", True), ("jazeker", True),
    ("nee", False), ("Nee, nog niet", False), ("niet gedaan", False),
    ("misschien", None), ("", None),
])
def test_parse_yes_no(text, expected):
    assert parse_yes_no(text) is expected


@pytest.mark.parametrize("text,expected", [
    ("nee", True), ("geen", True), ("n.v.t.", True), ("weet ik niet", True), ("-", True),
    ("nee, de moeder vertelde het", False), ("de buurvrouw", False),
])
def test_is_skip(text, expected):
    assert is_skip(text) is expected


# --- dates ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("text,stored", [
    ("12-11", "2024-11-12"),
    ("12-11 om half negen", "2024-11-12T08:30+01:00"),
    ("12-11 08:30", "2024-11-12T08:30+01:00"),
    ("12/11 om 8u30", "2024-11-12T08:30+01:00"),
    ("12 november", "2024-11-12"),
    ("12 november 2024 om 10:15", "2024-11-12T10:15+01:00"),
    ("dinsdag 12 november", "2024-11-12"),
    ("2024-11-12", "2024-11-12"),
    ("vorige week dinsdag", "2024-11-05"),
    ("dinsdag vorige week", "2024-11-05"),
    ("vorige week vrijdag om kwart voor drie", "2024-11-08T14:45+01:00"),
    ("afgelopen maandag", "2024-11-11"),
    ("afgelopen vrijdag rond 10.15 uur", "2024-11-08T10:15+01:00"),
    ("maandag", "2024-11-11"),
    ("donderdag", "2024-11-07"),  # today is Thursday: a bare weekday is the previous one
    ("dinsdagmiddag", "2024-11-12 middag"),
    ("vandaag om 8 uur", "2024-11-14T08:00+01:00"),
    ("om half negen", "2024-11-14T08:30+01:00"),
    ("vanochtend", "2024-11-14 ochtend"),
    ("vanmorgen om kwart over acht", "2024-11-14T08:15+01:00"),
    ("tien over half negen vanochtend", "2024-11-14T08:40+01:00"),
    ("gisteren om vijf voor half drie", "2024-11-13T14:25+01:00"),
    ("gisteren", "2024-11-13"),
    ("gisteren om 14:00", "2024-11-13T14:00+01:00"),
    ("gistermiddag", "2024-11-13 middag"),
    ("gistermiddag om half drie", "2024-11-13T14:30+01:00"),
    ("eergisteren", "2024-11-12"),
    ("eergisteravond", "2024-11-12 avond"),
    ("13-11-2024 om 9 uur 's avonds", "2024-11-13T21:00+01:00"),
    ("3 dagen geleden", "2024-11-11"),
    ("twee dagen geleden", "2024-11-12"),
    ("vorige week", "2024-W45"),
    ("ergens vorige week", "2024-W45"),
    ("zojuist", "2024-11-14T15:00+01:00"),
    ("Gisteren.", "2024-11-13"),
])
def test_parse_when_understands_everyday_dutch(text, stored):
    parsed = parse_when(text, NOW)
    assert parsed.status == OK, text
    assert parsed.to_field() == stored


@pytest.mark.parametrize("text", [
    "31-02", "31-02-2024", "gisteren om 25:70", "ergens vorig jaar", "vorige maand", "november", "blabla", "", "weet ik niet meer",
    "woensdag 12 november",  # 12 November 2024 was a Tuesday: a contradiction is asked again
    "gisteren bij het ophalen",  # extra words: asked again rather than guessed
])
def test_unclear_moments_are_asked_again(text):
    parsed = parse_when(text, NOW)
    assert parsed.status == UNCLEAR and parsed.value is None


@pytest.mark.parametrize("text", ["morgen", "vanavond", "vandaag 16:00", "12-12-2024", "volgende week"])
def test_an_observation_cannot_be_in_the_future(text):
    assert parse_when(text, NOW).status == FUTURE


def test_half_past_is_the_hour_before():
    assert parse_when("om half negen", NOW).value.hour == 8
    assert parse_when("om half drie", NOW).value.hour == 14  # school day: afternoon
    assert parse_when("om half een", NOW).value.hour == 12


def test_summer_time_is_applied():
    july = datetime(2024, 7, 4, 12, 0, tzinfo=AMSTERDAM)
    assert parse_when("vanochtend om half negen", july).to_field() == "2024-07-04T08:30+02:00"


def test_naive_now_is_taken_as_amsterdam_time():
    assert parse_when("gisteren", NOW.replace(tzinfo=None)).to_field() == "2024-11-13"


@pytest.mark.parametrize("stored,precision", [
    ("2024-11-12T08:30+01:00", MINUTE), ("2024-11-12 middag", DAYPART), ("2024-11-12", DAY), ("2024-W45", WEEK),
])
def test_stored_moment_round_trips(stored, precision):
    parsed = from_field(stored)
    assert parsed.precision == precision and parsed.to_field() == stored


def test_unclear_moment_cannot_be_stored():
    with pytest.raises(ValueError):
        ParsedWhen(UNCLEAR).to_field()


@pytest.mark.parametrize("stored,text", [
    ("2024-11-12T08:30+01:00", "dinsdag 12 november 2024 om 08:30"),
    ("2024-11-13 middag", "woensdag 13 november 2024, 's middags"),
    ("2024-11-12", "dinsdag 12 november 2024"),
    ("2024-W45", "de week van maandag 4 november 2024"),
])
def test_describe_when_reads_back_what_was_given(stored, text):
    assert describe_when(from_field(stored)) == text


def test_occurred_at_is_the_start_of_the_moment():
    assert occurred_at("signaal", {"moment": "2024-11-13 middag"}) == datetime(2024, 11, 13, 12, 0, tzinfo=AMSTERDAM)
    assert occurred_at("signaal", {}) is None


# --- hypotheses -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text,markers", [
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
])
def test_hypothesis_markers(text, markers):
    assert hypothesis_markers(text) == markers


def test_mark_hypotheses_tags_only_interpretation_sentences():
    text = "Hij had een blauwe plek op zijn arm. Ik denk dat vader hem slaat. Hij wilde niet naar huis."
    assert mark_hypotheses(text) == ("Hij had een blauwe plek op zijn arm. [hypothese] Ik denk dat vader hem "
                                     "slaat. Hij wilde niet naar huis.")


def test_split_hypotheses():
    facts, hypotheses = split_hypotheses("Ze huilde. Waarschijnlijk is er thuis iets gebeurd!")
    assert facts == ["Ze huilde."] and hypotheses == ["Waarschijnlijk is er thuis iets gebeurd!"]


# --- summary -------------------------------------------------------------------------------------


def test_summary_separates_observation_from_hypothesis():
    text = summary("signaal", {
        "moment": "2024-11-12T08:30+01:00", "plaats": "in de klas", "situatie": "bij binnenkomst",
        "aanwezigen": "[collega]", "waarnemingen": "Leerling K7 had een blauwe plek. Ik denk dat hij geslagen is.",
        "hypothese": "", "bron": "de buurvrouw", "toestemming_bron": True,
    })
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
    text = summary("weging", {"moment": "2024-11-14", "betrokkenen": "IB en directie",
                              "veilig_thuis_geraadpleegd": False, "besluit": "Hulp organiseren."})
    assert text.splitlines()[0] == "Weging en besluit (stap 4 en 5)"
    assert "- Veilig Thuis geraadpleegd: nee" in text.splitlines()


def test_moment_of_prefers_the_teachers_own_moment():
    written = datetime(2024, 11, 14, 9, 5, tzinfo=AMSTERDAM)
    assert moment_of({"moment": "2024-11-13 middag"}, written).to_field() == "2024-11-13 middag"
    assert moment_of({}, written).to_field() == "2024-11-14T09:05+01:00"
