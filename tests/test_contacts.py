"""Regional contacts: every gemeente to its Veilig Thuis region, tolerant matching that never guesses a
wrong region, place extraction from whole messages, and whom to call per step from the sociale kaart."""

from __future__ import annotations

import csv
import re
from collections import Counter
from typing import Dict

import pytest
from pydantic import ValidationError

from bot.contacts import (
    Contact,
    GEMEENTE_COUNT,
    REGION_COUNT,
    SCHOOL_GEMEENTE_ENV,
    check_contacts,
    default_region,
    extract_place,
    normalise,
    outdated_names,
    region_answer,
    region_index,
    resolve_gemeente,
    social_map_answer,
    social_map_lookup,
    who_to_call,
)
from bot.knowledge import NATIONAL_KINDS, SHARED_DIR, KnowledgeBase, check_sources, load_all
from bot.profiles import Organisation, SocialMapEntry, is_one_phone_number, organisations

CBS_CSV = SHARED_DIR / "domain" / "gemeente_veiligthuisregio_2025.csv"
# Only the sections this capability reads, so these tests do not depend on other capabilities' files.
SECTIONS = {
    "sources.yml": "bot.knowledge:Sources",
    "organisations/": "bot.profiles:Organisation",
    "contacts.yml": "bot.contacts:NationalContacts",
    "regions/": "bot.contacts:RegionFile",
}
AMK_NUMBER = "0900-1231230"
VT_NUMBER = "0800-2000"


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_all(sections=SECTIONS)


@pytest.fixture(scope="module")
def orgs(kb: KnowledgeBase) -> Dict[str, Organisation]:
    return organisations(kb)


# --- knowledge ---------------------------------------------------------------------------------------


def test_knowledge_is_consistent_and_quotes_match_sources(kb):
    assert check_contacts(kb) == []
    assert check_sources(kb) == []


def test_counts(kb):
    index = region_index(kb)
    assert len(index.gemeenten) == GEMEENTE_COUNT == 342
    assert len(index.regions) == REGION_COUNT == 25


@pytest.mark.skipif(not CBS_CSV.exists(), reason="the CBS CSV (../shared) is not on this machine")
def test_every_gemeente_resolves_to_its_cbs_region(kb):
    with CBS_CSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == GEMEENTE_COUNT
    wrong = []
    for row in rows:
        result = resolve_gemeente(row["gemeentenaam"], kb)
        if (
            result.status != "found"
            or result.gemeente.code != row["gemeentecode"]
            or result.region.code != row["veiligthuis_code"]
        ):
            wrong.append((row["gemeentenaam"], result.status, result.region and result.region.code))
    assert wrong == []


def test_check_reports_a_gemeente_with_an_unknown_region(kb):
    index = region_index(kb)
    broken_file = kb.files["regions/"][1] if kb.files["regions/"][1].model.gemeenten else kb.files["regions/"][0]
    gemeenten = list(broken_file.model.gemeenten)
    gemeenten[0] = gemeenten[0].copy(update={"vt_code": "VT99"})
    patched = broken_file.__class__(
        path=broken_file.path, raw=broken_file.raw, model=broken_file.model.copy(update={"gemeenten": gemeenten})
    )
    files = dict(kb.files)
    files["regions/"] = tuple(patched if f is broken_file else f for f in kb.files["regions/"])
    problems = check_contacts(KnowledgeBase(files=files))
    assert any("VT99" in p for p in problems)
    assert len(index.gemeenten) == GEMEENTE_COUNT  # the original base is untouched


# --- resolving place names -----------------------------------------------------------------------------

TOLERATED = [
    ("enschde", "Enschede", "VT19"),
    ("ENSCHEDE", "Enschede", "VT19"),
    ("Sudwest Fryslan", "Súdwest-Fryslân", "VT04"),
    ("sudwest-fryslan", "Súdwest-Fryslân", "VT04"),
    ("Noardeast-Fryslan", "Noardeast-Fryslân", "VT04"),
    ("den bosch", "'s-Hertogenbosch", "VT27"),
    ("s-Hertogenbosch", "'s-Hertogenbosch", "VT27"),
    ("Den Haag", "'s-Gravenhage", "VT09"),
    ("'s Gravenhage", "'s-Gravenhage", "VT09"),
    ("Hengelo", "Hengelo (O.)", "VT19"),
    ("gemeente Hengelo", "Hengelo (O.)", "VT19"),
    ("Middelburg", "Middelburg (Z.)", "VT23"),
    ("Rijswijk", "Rijswijk (ZH.)", "VT09"),
    ("Amsterdm", "Amsterdam", "VT01"),
    ("Rotterdm", "Rotterdam", "VT18"),
    ("Groningn", "Groningen", "VT08"),
    ("Zwole", "Zwolle", "VT11"),
    ("Nijmegn", "Nijmegen", "VT06"),
    ("Apeldorn", "Apeldoorn", "VT14"),
    ("wijk bij duurstee", "Wijk bij Duurstede", "VT20"),
    ("Nuenen", "Nuenen, Gerwen en Nederwetten", "VT27"),
    ("Veghel", "Meierijstad", "VT27"),
    ("Tietjerksteradeel", "Tytsjerksteradiel", "VT04"),
    ("Bergen Noord-Holland", "Bergen (NH.)", "VT17"),
    ("bergen limburg", "Bergen (L.)", "VT13"),
    ("Bergen op Zoom", "Bergen op Zoom", "VT21"),
    ("Uitgeest", "Uitgeest", "VT17"),  # veiligheidsregio Kennemerland, but VT Noord-Holland Noord
    ("Heusden", "Heusden", "VT15"),  # Brabant-Noord, but VT Midden-Brabant
]


@pytest.mark.parametrize("text,name,vt_code", TOLERATED)
def test_names_aliases_diacritics_and_typos_resolve(kb, text, name, vt_code):
    result = resolve_gemeente(text, kb)
    assert (result.status, result.gemeente.name, result.region.code) == ("found", name, vt_code)


def test_den_haag_routes_to_veilig_thuis_haaglanden(kb, orgs):
    answer = region_answer(resolve_gemeente("Den Haag", kb), orgs["national"], kb)
    assert "'s-Gravenhage" in answer.lines[0] and "Veilig Thuis Haaglanden" in answer.lines[0]
    assert ("Veilig Thuis Haaglanden", VT_NUMBER) in answer.calls


@pytest.mark.parametrize("text", ["Bergen", "bergn"])
def test_bergen_is_ambiguous_between_two_regions(kb, text):
    result = resolve_gemeente(text, kb)
    assert result.status == "ambiguous"
    assert result.region is None and result.gemeente is None
    assert set(result.suggestions) == {"Bergen (L.)", "Bergen (NH.)"}
    for suggestion in result.suggestions:  # each suggestion, sent back as a button, resolves uniquely
        assert resolve_gemeente(suggestion, kb).status == "found"


@pytest.mark.parametrize(
    "text,expected",
    [
        ("Capelle", {"Capelle aan den IJssel", "Kapelle"}),  # VT18 vs VT23: never pick the look-alike
        ("Alphen", {"Alphen aan den Rijn", "Alphen-Chaam"}),
    ],
)
def test_close_candidates_in_different_regions_are_ambiguous(kb, text, expected):
    result = resolve_gemeente(text, kb)
    assert result.status == "ambiguous" and result.region is None
    assert set(result.suggestions) == expected


def test_short_typo_is_not_guessed(kb):
    result = resolve_gemeente("Eda", kb)  # Ede (VT05) or Edam (VT22)?
    assert result.status == "unknown" and result.region is None
    assert {"Ede", "Edam-Volendam"} <= set(result.suggestions)


def test_region_names_resolve_to_a_region_without_a_gemeente(kb):
    result = resolve_gemeente("Veilig Thuis Twente", kb)
    assert (result.status, result.gemeente, result.region.code) == ("found", None, "VT19")


@pytest.mark.parametrize("text", ["xyzzy", "", "   ", "!!!"])
def test_garbage_is_unknown_without_suggestions(kb, text):
    assert resolve_gemeente(text, kb).status == "unknown"
    assert resolve_gemeente(text, kb).suggestions == ()


def test_near_miss_is_unknown_with_suggestions(kb):
    result = resolve_gemeente("Goed", kb)
    assert result.status == "unknown" and "Goes" in result.suggestions


# --- extraction from whole messages -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "message,place,vt_code",
    [
        ("veilig thuis nummer voor enschde", "enschde", "VT19"),
        ("Welk Veilig Thuis hoort bij Hengelo?", "Hengelo", "VT19"),
        ("school in Sudwest Fryslan", "Sudwest Fryslan", "VT04"),
        ("Onze school staat in Den Bosch, welk VT?", "Den Bosch", "VT27"),
        ("Welke Veilig Thuis regio hoort bij 's-Hertogenbosch?", "'s-Hertogenbosch", "VT27"),
        ("ik werk in de gemeente hengelo", "hengelo", "VT19"),
        ("nummer veilig thuis zwolle", "zwolle", "VT11"),
        ("Hoe bereik ik VT vanuit capelle a/d ijssel?", "capelle a/d ijssel", "VT18"),
        ("school in Nuenen, Gerwen en Nederwetten", "Nuenen, Gerwen en Nederwetten", "VT27"),
        ("Bergen op Zoom", "Bergen op Zoom", "VT21"),
        ("den bosch", "den bosch", "VT27"),
    ],
)
def test_place_is_extracted_from_a_message(kb, message, place, vt_code):
    extracted = extract_place(message, kb)
    assert extracted == place
    assert resolve_gemeente(extracted, kb).region.code == vt_code


def test_ambiguous_place_in_a_message_stays_ambiguous(kb):
    assert resolve_gemeente(extract_place("mijn school zit in bergen", kb), kb).status == "ambiguous"


@pytest.mark.parametrize(
    "message",
    [
        "Wat is het veilig thuis nummer?",
        "de buren van de leerling maken vaak ruzie",
        "ik twijfel over een leerling in groep 5",
        "wie moet ik bellen in stap 2",
    ],
)
def test_no_place_in_messages_without_one(kb, message):
    assert extract_place(message, kb) is None


# --- answers --------------------------------------------------------------------------------------------


def test_region_answer_for_the_schools_own_region_adds_its_sociale_kaart(kb, orgs):
    answer = region_answer(resolve_gemeente("enschde", kb), orgs["symbio"], kb)
    text = "\n".join(answer.lines)
    assert answer.lines[0].startswith("Enschede hoort bij Veilig Thuis-regio Twente")
    assert VT_NUMBER in text and "24 uur" in text
    assert "info@veiligthuistwente.nl" in text  # from Symbio's sociale kaart
    assert "www.veiligthuistwente.nl" in text and "CBS 2025" in text
    assert any("CBS" in s for s in answer.sources)


@pytest.mark.parametrize("text", ["Bergen", "xyzzy"])
def test_unresolved_answer_asks_and_still_gives_the_national_number(kb, orgs, text):
    answer = region_answer(resolve_gemeente(text, kb), orgs["national"], kb)
    assert answer.lines[0].endswith("?")
    assert ("Veilig Thuis", VT_NUMBER) in answer.calls
    assert answer.suggestions == resolve_gemeente(text, kb).suggestions


def test_who_to_call_symbio_step_2(kb, orgs):
    org = orgs["symbio"]
    answer = who_to_call(2, org, default_region(org, None, kb), "teacher", kb)
    text = "\n".join(answer.lines)
    assert answer.lines[0] == "Direct gevaar? Bel 112."
    assert "SCP-er" in text  # the profile's internal contact
    assert "Veilig Thuis Twente: 0800-2000" in text
    assert "Zorgloket gemeente Hengelo: 14074 (Keuze 1)" in text  # one number; the menu choice beside it
    assert ("Zorgloket gemeente Hengelo", "14074") in answer.calls
    assert "protocol Stichting Symbio Hengelo, sociale kaart" in answer.sources


def test_who_to_call_symbio_step_1_has_no_zorgloket(kb, orgs):
    org = orgs["symbio"]
    answer = who_to_call(1, org, default_region(org, None, kb), "teacher", kb)
    assert not any("Zorgloket" in line for line in answer.lines)


@pytest.mark.parametrize("step", [None, 1, 2, 3, 4, 5])
def test_onzewijs_never_shows_the_amk_as_current(kb, orgs, step):
    org = orgs["onzewijs"]
    answer = who_to_call(step, org, default_region(org, None, kb), "teacher", kb)
    text = "\n".join(answer.lines)
    assert AMK_NUMBER not in text and "0118-677688" not in text and "0900 - 222 03 33" not in text
    assert "Veilig Thuis Zeeland: 0800-2000" in text
    assert all(phone not in {"0118-677688", "0900 - 222 03 33"} for _, phone in answer.calls)
    amk_lines = [line for line in answer.lines if "AMK" in line]
    assert amk_lines and all("sinds 2015 Veilig Thuis (0800-2000)" in line for line in amk_lines)


def test_who_to_call_for_the_attention_officer_differs_from_a_teacher(kb, orgs):
    org = orgs["symbio"]
    region = default_region(org, None, kb)
    officer = who_to_call(2, org, region, "attention_officer", kb).lines
    teacher = who_to_call(2, org, region, "teacher", kb).lines
    assert any("U bent zelf aanspreekpunt" in line and "SOT" in line for line in officer)
    assert not any("U bent zelf" in line for line in teacher)


def test_one_line_when_first_contact_is_the_attention_officer(kb, orgs):
    answer = who_to_call(2, orgs["onzewijs"], None, "teacher", kb)
    assert sum("IB-er" in line for line in answer.lines) == 1


def test_without_a_region_the_national_number_is_named(kb, orgs):
    answer = who_to_call(None, orgs["national"], None, None, kb)
    assert any(line.startswith("Veilig Thuis: 0800-2000") for line in answer.lines)


# --- sociale kaart lookups -------------------------------------------------------------------------------


def test_lookup_zorgloket_hengelo(kb, orgs):
    found = social_map_lookup("Wat is het nummer van de zorgloket in Hengelo?", orgs["symbio"], kb)
    assert found[0].id == "zorgloket_hengelo"
    assert "veilig_thuis_twente" not in [e.id for e in found]


@pytest.mark.parametrize(
    "query,first",
    [
        ("nummer van het wijkteam", "cjg_porthos_middelburg"),
        ("hoe bereik ik de jeugdarts", "ggd_zeeland"),
        ("maatschappelijk werk walcheren", "mw_walcheren_middelburg"),
        ("kindertelefon", "kindertelefoon"),
    ],
)
def test_lookup_by_kind_words_and_typos(kb, orgs, query, first):
    assert social_map_lookup(query, orgs["onzewijs"], kb)[0].id == first


def test_lookup_of_the_amk_answers_with_veilig_thuis(kb, orgs):
    answer = social_map_answer("Wat is het nummer van het AMK?", orgs["onzewijs"], kb)
    assert AMK_NUMBER not in "\n".join(answer.lines)
    assert "sinds 2015 Veilig Thuis" in answer.lines[0]
    assert answer.calls[0] == ("Veilig Thuis", VT_NUMBER)


def test_lookup_of_something_not_on_the_map(kb, orgs):
    assert social_map_lookup("tandarts", orgs["onzewijs"], kb) == []
    answer = social_map_answer("tandarts", orgs["onzewijs"], kb)
    assert "niet op de sociale kaart" in answer.lines[0] and VT_NUMBER in answer.lines[0]


# --- default region --------------------------------------------------------------------------------------


def test_default_region_precedence(kb, orgs, monkeypatch):
    org = orgs["symbio"]  # gemeente Hengelo -> Twente
    monkeypatch.delenv(SCHOOL_GEMEENTE_ENV, raising=False)
    assert default_region(org, None, kb).code == "VT19"
    monkeypatch.setenv(SCHOOL_GEMEENTE_ENV, "Middelburg")
    assert default_region(org, None, kb).code == "VT23"
    assert default_region(org, "Den Haag", kb).code == "VT09"
    assert default_region(org, "Bergen", kb).code == "VT23"  # ambiguous answer: fall back, never guess
    monkeypatch.delenv(SCHOOL_GEMEENTE_ENV)
    assert default_region(orgs["national"], None, kb) is None


# --- national lines in the lookup --------------------------------------------------------------------------


def test_national_lines_are_found_but_veilig_thuis_and_112_keep_their_own_routes(kb, orgs):
    """Veilig Thuis and 112 are answered by the region and whom-to-call routes, with the right region."""
    kindertelefoon = social_map_answer("nummer van de Kindertelefoon", orgs["national"], kb)
    assert kindertelefoon.calls == (("De Kindertelefoon", "0800-0432"),)
    for query in ("nummer van veilig thuis", "alarmnummer 112"):
        assert "niet op de sociale kaart" in social_map_answer(query, orgs["national"], kb).lines[0]


def test_a_side_word_does_not_pull_in_local_partners(kb, orgs):
    """'Centrum' (CJG) and 'geweld' (Steunpunt Huiselijk Geweld) alone do not answer a CSG question."""
    answer = social_map_answer("telefoonnummer Centrum Seksueel Geweld", orgs["onzewijs"], kb)
    assert answer.lines == (
        "Centrum Seksueel Geweld: 0800-0188 (24 uur per dag en 7 dagen per week; "
        "hulp is het belangrijkst in de eerste 7 dagen).",
    )


def test_a_national_number_the_kaart_already_gives_is_not_repeated(kb, orgs):
    answer = social_map_answer("nummer kindertelefoon", orgs["onzewijs"], kb)
    assert len(answer.lines) == 1 and answer.lines[0].startswith("Kindertelefoon: 0800 0432")
    national = social_map_answer("nummer kindertelefoon", orgs["national"], kb)
    assert "Let op: de openingstijden verschillen per bron" in national.lines[0]


# --- fidelity of the contact data (issue 11) -------------------------------------------------------------

STEPS = (None, 1, 2, 3, 4, 5)
YEAR_MARK = re.compile(r"\((?:19|20)\d\d\)")
COUNT_CLAIM = re.compile(r"(\d+)\s+gemeenten")


def _national_contacts(kb):
    return kb.one("contacts.yml")


def test_113_zelfmoordpreventie_is_a_national_contact_with_both_numbers(kb, orgs):
    contact = _national_contacts(kb).contact("suicide_prevention")
    assert (contact.phone, contact.alt_phone) == ("113", "0800-0113")
    assert "24 uur" in contact.availability
    answer = social_map_answer("nummer van 113 zelfmoordpreventie", orgs["national"], kb)
    text = "\n".join(answer.lines)
    assert "113" in text and "0800-0113" in text
    assert ("113 Zelfmoordpreventie", "113") in answer.calls and ("113 Zelfmoordpreventie", "0800-0113") in answer.calls


@pytest.mark.parametrize(
    "value",
    [
        "0900 -8844 of 112",
        "(0)14074 (Keuze 1)",
        "0800 0432 (gratis nummer)",
        "112 / 0900-8844",
        "0800-2000, 112",
        "bel de wijkagent",
    ],
)
def test_a_phone_field_with_more_than_one_number_or_words_is_rejected(value):
    assert not is_one_phone_number(value)
    with pytest.raises(ValidationError, match="one phone number"):
        SocialMapEntry.parse_obj(
            {"id": "x", "name": "X", "kind": "police", "phone": value, "source": {"doc": "symbio", "section": "x"}}
        )
    with pytest.raises(ValidationError, match="one phone number"):
        Contact.parse_obj({"id": "x", "name": "X", "phone": value, "source": {"doc": "symbio", "section": "x"}})


@pytest.mark.parametrize(
    "value",
    [
        "112",
        "113",
        "14074",
        "0800-2000",
        "0900-111 3 111",
        "088-669 60 60",
        "(0118) 751400",
        "(0118)-751400",
        "030- 250 02 50",
        "0113- 267000",
    ],
)
def test_one_phone_number_in_the_usual_dutch_spellings_is_accepted(value):
    assert is_one_phone_number(value)


def test_every_phone_field_in_the_knowledge_holds_one_number(kb, orgs):
    phones = [(c.id, p) for c in _national_contacts(kb).contacts for p in (c.phone, c.alt_phone) if p]
    phones += [(f"{o.id}/{e.id}", e.phone) for o in orgs.values() for e in o.social_map if e.phone]
    assert [(where, phone) for where, phone in phones if not is_one_phone_number(phone)] == []


def _rendered(org, kb):
    """Everything a user can see of a profile's contacts: whom to call per step and every kaart lookup."""
    region = default_region(org, None, kb)
    answers = [who_to_call(step, org, region, role, kb) for step in STEPS for role in ("teacher", None)]
    answers += [social_map_answer(entry.name, org, kb) for entry in org.social_map]
    return answers


def test_no_profile_shows_a_dissolved_organisation_as_current(kb, orgs):
    """A dissolved body (AMK, Steunpunt, Bureau Jeugdzorg, Intervence, Porthos) may be named only in the line
    that says it no longer exists; its old numbers never appear, neither in a line nor on a call button."""
    names = outdated_names(kb)
    assert {"bureau jeugdzorg", "intervence", "porthos", "amk", "mee zeeland"} <= set(names)
    entries = [e for o in orgs.values() for e in o.social_map if e.phone]
    dissolved = [e for e in entries if any(n in normalise(e.name) for n in names)]
    # A number a current partner on the kaart also lists (MW Walcheren sat in the Porthos building) stays.
    current = {e.phone for e in entries if e not in dissolved}
    old_phones = {e.phone for e in dissolved} - current
    assert {"030- 250 02 50", "0118-677600", "0118-677688", "0118-432000"} <= old_phones
    shown_as_current = []
    for org in orgs.values():
        for answer in _rendered(org, kb):
            for line in answer.lines:
                named = [n for n in names if re.search(rf"\b{n}\b", normalise(line))]
                if named and not line.startswith("Uw protocol noemt nog"):
                    shown_as_current.append((org.id, line))
                if any(phone in line for phone in old_phones):
                    shown_as_current.append((org.id, line))
            shown_as_current += [(org.id, call) for call in answer.calls if call[1] in old_phones]
    assert shown_as_current == []


def test_bureau_jeugdzorg_utrecht_points_to_samen_veilig_and_the_buurtteam(kb, orgs):
    org = orgs["lucstevens"]
    answer = who_to_call(5, org, default_region(org, None, kb), "teacher", kb)
    line = next(line for line in answer.lines if "Bureau Jeugdzorg" in line)
    assert "bestaat sinds 2015 niet meer" in line
    assert "Samen Veilig Midden Nederland" in line and "030-242 7800" in line and "Buurtteam Utrecht" in line
    lookup = social_map_answer("nummer van bureau jeugdzorg", org, kb)
    assert "bestaat sinds 2015 niet meer" in lookup.lines[0]
    assert ("Samen Veilig Midden Nederland", "030-242 7800") in lookup.calls


def test_intervence_is_named_with_jeugdbescherming_west_and_never_as_a_crisis_service(kb, orgs):
    org = orgs["onzewijs"]
    text = "\n".join(line for a in _rendered(org, kb) for line in a.lines)
    intervence = [line for line in text.splitlines() if "Intervence" in line]
    assert intervence and all("Jeugdbescherming west" in line and "geen crisisdienst" in line for line in intervence)
    assert not any(e.note and "crisisdienst bij noodsituaties" in e.note for e in org.social_map)


def test_porthos_points_to_the_municipal_desks_that_replaced_it(kb, orgs):
    answer = social_map_answer("hoe bereik ik het CJG", orgs["onzewijs"], kb)
    line = next(line for line in answer.lines if "Porthos" in line)
    assert "TIM" in line and "Team Wmo & Jeugd" in line
    assert "(0118) 751400" not in "\n".join(answer.lines)


@pytest.mark.skipif(not CBS_CSV.exists(), reason="the CBS CSV (../shared) is not on this machine")
def test_region_notes_shown_to_users_agree_with_the_mapping_and_carry_no_dated_claims(kb, orgs):
    with CBS_CSV.open(encoding="utf-8", newline="") as handle:
        counts = Counter(row["veiligthuis_code"] for row in csv.DictReader(handle))
    index = region_index(kb)
    wrong = []
    for region in index.regions.values():
        if region.gemeente_count != counts[region.code]:
            wrong.append((region.code, "gemeente_count", region.gemeente_count, counts[region.code]))
        if region.website and not re.fullmatch(r"(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)+(?:/[\w/-]*)?", region.website):
            wrong.append((region.code, "website", region.website))
        gemeente = next(g for g in index.gemeenten.values() if g.vt_code == region.code)
        text = "\n".join(region_answer(resolve_gemeente(gemeente.name, kb), orgs["national"], kb).lines)
        if YEAR_MARK.search(text) or "seed" in text or "CBS-naam" in text:
            wrong.append((region.code, "dated or internal note", text))
        wrong += [
            (region.code, "count claim", int(n)) for n in COUNT_CLAIM.findall(text) if int(n) != counts[region.code]
        ]
    assert wrong == []


def test_veilig_thuis_says_it_answers_mostly_urgent_matters_outside_office_hours(kb, orgs):
    contact = _national_contacts(kb).contact("veilig_thuis")
    assert "24 uur" in contact.availability and "buiten kantooruren" in contact.availability
    assert contact.availability_source is not None
    answer = who_to_call(None, orgs["national"], None, None, kb)
    assert any("buiten kantooruren" in line for line in answer.lines)
    assert "Veilig Thuis, advies of melding" in "; ".join(answer.sources)


@pytest.mark.parametrize("step", STEPS)
def test_the_national_profile_cites_only_national_sources(kb, orgs, step):
    """No school protocol and no glossary behind what the national profile shows."""
    org = orgs["national"]
    forbidden = {d.label for d in kb.sources().documents if d.kind not in NATIONAL_KINDS}
    assert {"protocol Stichting Symbio Hengelo", "begrippenlijst meldcode"} <= forbidden
    answers = [who_to_call(step, org, None, role, kb) for role in ("teacher", "attention_officer", None)]
    answers += [
        region_answer(resolve_gemeente("Zwolle", kb), org, kb),
        social_map_answer("nummer kindertelefoon", org, kb),
    ]
    labels = {label for answer in answers for label in answer.sources}
    assert [label for label in labels if any(label.startswith(f) for f in forbidden)] == []


# --- woonplaatsen: places staff name that are not gemeenten (issue 12) ------------------------------------


@pytest.mark.parametrize(
    "text,gemeente,vt_code",
    [
        ("Goor", "Hof van Twente", "VT19"),
        ("goor", "Hof van Twente", "VT19"),
        ("Sneek", "Súdwest-Fryslân", "VT04"),
        ("Delden", "Hof van Twente", "VT19"),
        ("Drachten", "Smallingerland", "VT04"),
    ],
)
def test_a_woonplaats_resolves_to_its_gemeente_and_region(kb, text, gemeente, vt_code):
    result = resolve_gemeente(text, kb)
    assert (result.status, result.gemeente.name, result.region.code) == ("found", gemeente, vt_code)


def test_a_gemeente_name_wins_over_a_woonplaats_of_the_same_name(kb):
    """Hengelo is also a village in Bronckhorst; the gemeente Hengelo (O.) is what staff mean."""
    assert resolve_gemeente("Hengelo", kb).gemeente.name == "Hengelo (O.)"


def test_the_answer_names_the_woonplaats_and_its_gemeente(kb, orgs):
    answer = region_answer(resolve_gemeente("Goor", kb), orgs["national"], kb)
    assert answer.lines[0].startswith("Goor (gemeente Hof van Twente) hoort bij Veilig Thuis-regio Twente")


def test_a_woonplaats_in_several_gemeenten_asks_which_gemeente(kb):
    result = resolve_gemeente("Alteveer", kb)
    assert result.status == "ambiguous" and len(result.suggestions) >= 2
    assert all(resolve_gemeente(s, kb).status == "found" for s in result.suggestions)


@pytest.mark.parametrize(
    "message,place",
    [
        ("En in Sneek?", "Sneek"),
        ("en in goor?", "goor"),
        ("Welk Veilig Thuis hoort bij Goor?", "Goor"),
        ("onze school staat in Delden", "Delden"),
    ],
)
def test_a_woonplaats_is_extracted_from_a_message(kb, message, place):
    assert extract_place(message, kb) == place


def test_the_woonplaats_table_is_large_and_every_row_points_at_a_known_gemeente(kb):
    index = region_index(kb)
    assert len(index.woonplaatsen) >= 2000
    assert all(code in index.gemeenten for codes in index.woonplaatsen.values() for code in codes)
