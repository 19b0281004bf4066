"""Organisation profiles: complete national defaults, each school's own words, and sociale kaarten
copied exactly from the seed protocols (a wrong phone number on a worried teacher's screen is a harm)."""

import re
from datetime import date

import pytest
from pydantic import ValidationError

from bot.knowledge import document_text
from bot.profiles import (
    NATIONAL_PROFILE,
    TERM_KEYS,
    Organisation,
    check_profiles,
    organisations,
    profile,
    render,
    terms,
)
from steps_kb import copy_sections, load_copy, steps_kb

KB = steps_kb()
ORGS = organisations(KB)
SEED_PROFILES = ("symbio", "lucstevens", "onzewijs", "consent", "vo_school")
CONTACT_FIELDS = ("address", "phone", "email", "website")


def test_national_profile_defines_every_term_and_all_school_types():
    national = ORGS[NATIONAL_PROFILE]
    assert set(national.terms) == set(TERM_KEYS)
    assert set(national.school_types) == {"PO", "SO", "SBO", "VO"} and national.gemeente is None


def test_one_profile_per_seed_with_its_own_source_document():
    assert set(ORGS) == {NATIONAL_PROFILE, *SEED_PROFILES}
    assert all(ORGS[org_id].source_doc == org_id for org_id in SEED_PROFILES)


@pytest.mark.parametrize(
    "org_id, school_types, gemeente",
    [
        ("symbio", ["PO"], "Hengelo"),
        ("lucstevens", ["SO", "SBO"], "Utrecht"),
        ("onzewijs", ["PO"], "Middelburg"),
        ("consent", ["PO"], None),
        ("vo_school", ["VO"], None),
    ],
)
def test_school_types_and_gemeente(org_id, school_types, gemeente):
    assert ORGS[org_id].school_types == school_types and ORGS[org_id].gemeente == gemeente


@pytest.mark.parametrize(
    "org_id, key, word",
    [
        ("symbio", "attention_officer", "SCP-er"),
        ("symbio", "care_team", "SOT"),
        ("symbio", "board", "College van Bestuur"),
        ("symbio", "veilig_thuis", "VTT"),
        ("symbio", "municipal_team", "zorgloket van de gemeente Hengelo"),
        ("lucstevens", "attention_officer", "coördinator huiselijk geweld en kindermishandeling"),
        ("lucstevens", "care_team", "Commissie van Begeleiding"),
        ("lucstevens", "municipal_team", "Buurtteam Utrecht"),
        ("onzewijs", "ib", "IB-er"),
        ("onzewijs", "social_work", "SMW"),
        ("onzewijs", "care_team", "MDO"),
        ("onzewijs", "municipal_team", "TIM"),
        ("consent", "care_team", "ZAT"),
        ("consent", "care_team", "diepteteam"),
        ("consent", "first_contact", "interne vertrouwenspersoon"),
        ("vo_school", "attention_officer", "zorgcoördinator"),
        ("vo_school", "teacher", "mentor"),
    ],
)
def test_each_profile_uses_its_protocols_words(org_id, key, word):
    assert word in terms(ORGS[org_id], KB)[key]


def test_profiles_fall_back_to_the_national_words():
    assert terms(ORGS["vo_school"], KB)["veilig_thuis"] == "Veilig Thuis"
    assert (
        render("Bel {veilig_thuis} of de {youth_health}.", ORGS["symbio"], KB)
        == "Bel Veilig Thuis Twente (VTT) of de jeugdarts of jeugdverpleegkundige."
    )


def test_render_refuses_an_unknown_placeholder():
    with pytest.raises(KeyError):
        render("Bel {vertrouwensarts}.", ORGS["symbio"], KB)


def test_profile_comes_from_the_environment_with_national_default(monkeypatch):
    monkeypatch.delenv("MELDWIJZER_PROFILE", raising=False)
    assert profile(kb=KB).id == NATIONAL_PROFILE
    monkeypatch.setenv("MELDWIJZER_PROFILE", "lucstevens")
    assert profile(kb=KB).id == "lucstevens"
    assert profile("symbio", kb=KB).id == "symbio"
    with pytest.raises(KeyError):
        profile("onbekend", kb=KB)


def test_unknown_term_key_or_school_type_is_rejected():
    base = {"id": "x", "name": "X", "school_types": ["PO"], "terms": {}}
    with pytest.raises(ValidationError, match="unknown term keys"):
        Organisation.parse_obj({**base, "terms": {"intern_begeleider": "IB-er"}})
    with pytest.raises(ValidationError, match="school type"):
        Organisation.parse_obj({**base, "school_types": ["MBO"]})


def test_incomplete_national_profile_is_reported(tmp_path):
    root = copy_sections(tmp_path)
    path = root / "organisations" / "national.yml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('  youth_health: "jeugdarts of jeugdverpleegkundige"\n', ""), encoding="utf-8")
    assert any("terms missing ['youth_health']" in p for p in check_profiles(load_copy(root)))


def _normalised(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


@pytest.mark.parametrize("org_id", SEED_PROFILES)
def test_social_map_contacts_are_exactly_as_in_the_seed(org_id):
    seed = document_text(KB.sources().get(org_id))
    if seed is None:
        pytest.skip("seed texts (../shared/seeds) not on this machine")
    for entry in ORGS[org_id].social_map:
        for field in CONTACT_FIELDS:
            value = getattr(entry, field)
            assert value is None or _normalised(value) in seed, (entry.id, field, value)


def test_social_maps_list_the_seed_partners():
    ids = {org_id: {e.id for e in ORGS[org_id].social_map} for org_id in SEED_PROFILES}
    assert ids["symbio"] == {"police_emergency", "veilig_thuis_twente", "zorgloket_hengelo"}
    assert {
        "police_middelburg",
        "police_vlissingen",
        "amk",
        "cjg_porthos_middelburg",
        "cjg_porthos_vlissingen",
        "mw_walcheren_middelburg",
        "intervence",
        "emergis",
        "ggd_zeeland",
        "mee_zeeland",
        "shg_zeeland",
        "kindertelefoon",
    } <= ids["onzewijs"]
    assert {"samen_veilig", "bureau_jeugdzorg_utrecht", "buurtteam_utrecht"} <= ids["lucstevens"]
    assert ids["vo_school"] == set()


def test_outdated_partners_name_their_successor():
    outdated = {e.id: (e.successor, e.replaced_by) for e in ORGS["onzewijs"].social_map if e.successor}
    assert outdated == {
        "amk": ("amk", ["veilig_thuis"]),
        "shg_zeeland": ("shg", ["veilig_thuis"]),
        "intervence": ("intervence", []),
        "cjg_porthos_middelburg": ("porthos", []),
        "cjg_porthos_vlissingen": ("porthos", []),
        "mee_zeeland": ("mee_zeeland", ["mw_walcheren_middelburg", "mw_walcheren_vlissingen"]),
    }
    jeugdzorg = next(e for e in ORGS["lucstevens"].social_map if e.id == "bureau_jeugdzorg_utrecht")
    assert (jeugdzorg.successor, jeugdzorg.replaced_by) == ("bureau_jeugdzorg", ["samen_veilig", "buurtteam_utrecht"])


@pytest.mark.parametrize("org_id", SEED_PROFILES)
def test_social_map_entries_are_unique_and_name_real_steps(org_id):
    entries = ORGS[org_id].social_map
    assert len({e.id for e in entries}) == len(entries)
    assert all(1 <= n <= 5 for e in entries for n in e.steps)
    assert all(e.source.doc == org_id for e in entries)


# --- when the partners were last checked (issue 11) ------------------------------------------------------


def test_every_profile_says_when_its_partners_were_checked():
    today = date.today()
    assert all(ORGS[org_id].checked <= today for org_id in ORGS)


def test_a_profile_without_a_checked_date_is_rejected():
    with pytest.raises(ValidationError, match="checked"):
        Organisation.parse_obj({"id": "x", "name": "X", "school_types": ["PO"], "terms": {}})


def test_bot_check_prints_the_checked_date_of_every_profile(capsys):
    from bot.__main__ import run_check

    run_check()
    out = capsys.readouterr().out
    lines = [line for line in out.splitlines() if line.startswith("profile ")]
    assert len(lines) == len(organisations()) and all("partners checked 20" in line for line in lines)
    assert any(line.startswith("profile lucstevens (Luc Stevensschool Utrecht): partners checked ") for line in lines)
