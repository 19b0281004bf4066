"""Dossier export: Markdown structure and a real PDF read back with pypdf."""

import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Mapping, Optional

import pytest
from pypdf import PdfReader

from bot.export import (
    FOOTER,
    TITLE,
    CaseHeader,
    Decision,
    WeighingAnswer,
    WeighingTrace,
    _unicode_font_available,
    build_dossier,
    render_markdown,
    render_pdf,
)
from bot.notes import AMSTERDAM, FieldValue

NOW = datetime(2024, 11, 20, 16, 45, tzinfo=AMSTERDAM)


def export_markdown(*args, **kwargs) -> str:
    return render_markdown(build_dossier(*args, **kwargs))


def export_pdf(*args, generated_at: datetime, **kwargs) -> bytes:
    return render_pdf(build_dossier(*args, generated_at=generated_at, **kwargs), generated_at)


@dataclass(frozen=True)
class Note:
    """Shaped like the store's NoteRecord (the attributes export reads)."""

    kind: str
    author_role: Optional[str]
    moment: datetime
    fields: Mapping[str, FieldValue]


@dataclass(frozen=True)
class FollowUp:
    """Shaped like the store's FollowUpRecord."""

    description: str
    due_on: date
    done_at: Optional[datetime] = None


@dataclass(frozen=True)
class Org:
    name: str


def at(day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2024, 11, day, hour, minute, tzinfo=AMSTERDAM)


CASE = CaseHeader("Leerling K7", step="stap 5", opened_at=at(12, 9))
ORG = Org("Onze Wijs")
# Given out of order on purpose: the export must sort by moment.
NOTES = (
    Note(
        "gesprek",
        "teacher",
        at(15, 15),
        {
            "moment": "2024-11-15T15:00+01:00",
            "met_wie": "[moeder] en de intern begeleider",
            "doel": "Zorgen delen.",
            "feiten": "Blauwe plek op 12-11.",
            "reactie": "[moeder] herkende het.",
            "afspraken": "Moeder belt het buurtteam.",
            "ondertekend": True,
        },
    ),
    Note(
        "signaal",
        "teacher",
        at(12, 8, 30),
        {
            "moment": "2024-11-12T08:30+01:00",
            "plaats": "klas",
            "situatie": "bij binnenkomst",
            "aanwezigen": "[collega]",
            "hypothese": "",
            "bron": "",
            "waarnemingen": "Leerling K7 had een blauwe plek op de wang. Ik denk dat hij geslagen is.",
        },
    ),
    Note(
        "consultatie",
        "ib",
        at(13, 12),
        {
            "moment": "2024-11-13 middag",
            "met_wie": "Veilig Thuis (advies)",
            "anoniem": True,
            "advies": "Gesprek met moeder voeren.",
            "afspraken": "",
        },
    ),
    Note(
        "melding",
        None,
        at(19, 10),
        {
            "moment": "2024-11-19T10:00+01:00",
            "door_wie": "aandachtsfunctionaris",
            "besproken_met_ouder": True,
            "kenmerk": "VT-2024-118",
            "afspraken": "School blijft de leerling volgen.",
        },
    ),
)
TRACE = WeighingTrace(
    answers=(
        WeighingAnswer(
            "Heb ik op basis van stap 1 t/m 3 een vermoeden?",
            "Ja, een sterk vermoeden",
            at(18, 14),
            "attention_officer",
        ),
        WeighingAnswer(
            "Is er sprake van acute of structurele onveiligheid?", "Twijfel", at(18, 14, 10), "attention_officer"
        ),
    ),
    decisions=(
        Decision(
            "Besluit I – is een melding bij Veilig Thuis noodzakelijk?", "Ja: melden bij Veilig Thuis.", at(18, 14, 20)
        ),
        Decision(
            "Besluit II – is zelf hulp bieden of organiseren (ook) mogelijk?",
            "Dit besluit neemt u samen met Veilig Thuis.",
        ),
    ),
)
FOLLOWUPS = (
    FollowUp("Navragen bij Veilig Thuis wat er is besloten", date(2024, 11, 26)),
    FollowUp("Leerling K7 observeren in de klas", date(2024, 11, 22), done_at=at(20, 9)),
)


def markdown() -> str:
    return export_markdown(CASE, NOTES, TRACE, FOLLOWUPS, ORG, generated_at=NOW)


def positions(text: str, parts) -> list:
    found = [text.find(p) for p in parts]
    assert -1 not in found, [p for p, i in zip(parts, found) if i == -1]
    return found


# --- Markdown ------------------------------------------------------------------------------------


def test_markdown_header_names_the_pseudonym_organisation_and_date():
    lines = markdown().splitlines()
    assert lines[:7] == [
        f"# {TITLE}",
        "",
        "- **Leerling:** Leerling K7",
        "- **Organisatie:** Onze Wijs",
        "- **Huidige stap:** stap 5",
        "- **Dossier geopend:** 12 november 2024",
        "- **Gegenereerd op:** 20 november 2024 om 16:45",
    ]


def test_markdown_sections_come_in_order_and_end_with_the_footer():
    text = markdown()
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## Tijdlijn", "## Weging en besluiten (stap 4 en 5)", "## Contacten", "## Vervolgafspraken"]
    assert text.rstrip().splitlines()[-3:] == ["---", "", f"*{FOOTER}*"]


def test_timeline_is_in_time_order_with_author_role_and_precision():
    notes = [line for line in markdown().splitlines() if line.startswith("### ") and "vastgelegd door" in line]
    assert notes == [
        "### dinsdag 12 november 2024 om 08:30 — Signaal (stap 1), vastgelegd door leerkracht of docent",
        "### woensdag 13 november 2024, 's middags — Collegiale consultatie (stap 2), "
        "vastgelegd door intern begeleider",
        "### vrijdag 15 november 2024 om 15:00 — Gesprek met ouder of leerling (stap 3), "
        "vastgelegd door leerkracht of docent",
        "### dinsdag 19 november 2024 om 10:00 — Melding bij Veilig Thuis (stap 5), vastgelegd door onbekende rol",
    ]


def test_note_fields_keep_facts_and_hypotheses_apart():
    text = markdown()
    assert "- Waarnemingen (feiten): Leerling K7 had een blauwe plek op de wang.\n" in text
    assert "- Hypothese of veronderstelling: Ik denk dat hij geslagen is.\n" in text
    assert "- Verslag ondertekend: ja\n" in text
    assert "- Kenmerk Veilig Thuis: VT-2024-118\n" in text


def test_weighing_shows_answers_and_both_decisions():
    text = markdown()
    section = text[text.index("## Weging") : text.index("## Contacten")]
    assert (
        "- Heb ik op basis van stap 1 t/m 3 een vermoeden? — Ja, een sterk vermoeden "
        "(aandachtsfunctionaris, maandag 18 november 2024 om 14:00)"
    ) in section
    assert (
        "- Besluit I – is een melding bij Veilig Thuis noodzakelijk? Ja: melden bij Veilig Thuis. "
        "(maandag 18 november 2024 om 14:20)"
    ) in section
    assert (
        "- Besluit II – is zelf hulp bieden of organiseren (ook) mogelijk? Dit besluit neemt u samen met "
        "Veilig Thuis.\n"
    ) in section
    order = positions(
        section, ["### Afwegingsvragen", "vermoeden?", "onveiligheid?", "### Besluiten", "Besluit I –", "Besluit II –"]
    )
    assert order == sorted(order)


def test_contacts_list_consultation_conversation_and_report():
    text = markdown()
    section = text[text.index("## Contacten") : text.index("## Vervolgafspraken")]
    assert [line for line in section.splitlines() if line.startswith("- ")] == [
        "- woensdag 13 november 2024, 's middags — Collegiale consultatie — Met wie: Veilig Thuis (advies)",
        "- vrijdag 15 november 2024 om 15:00 — Gesprek met ouder of leerling — "
        "Met wie: [moeder] en de intern begeleider",
        "- dinsdag 19 november 2024 om 10:00 — Melding bij Veilig Thuis — Gemeld door: aandachtsfunctionaris",
    ]


def test_followups_sorted_by_due_date_with_status():
    text = markdown()
    section = text[text.index("## Vervolgafspraken") :]
    assert [line for line in section.splitlines() if line.startswith("- ")] == [
        "- 22 november 2024: Leerling K7 observeren in de klas — afgerond op 20 november 2024",
        "- 26 november 2024: Navragen bij Veilig Thuis wat er is besloten — open",
    ]


def test_empty_case_says_what_is_missing():
    text = export_markdown(CaseHeader("Leerling B2"), [], WeighingTrace(), [], ORG, generated_at=NOW)
    for line in (
        "- Nog geen aantekeningen.",
        "- Nog niet gewogen.",
        "- Nog geen besluit genomen.",
        "- Nog geen contacten vastgelegd.",
        "- Geen vervolgafspraken.",
    ):
        assert line in text.splitlines()
    assert "Huidige stap" not in text and "Dossier geopend" not in text


def test_line_breaks_in_a_field_do_not_break_the_list():
    note = Note(
        "vervolg",
        "teacher",
        at(20, 9),
        {"moment": "2024-11-20", "verloop": "Rustiger.\nEet weer.", "hulp_ontvangen": None, "volgende_stap": ""},
    )
    text = export_markdown(CASE, [note], WeighingTrace(), [], ORG, generated_at=NOW)
    assert "- Verloop (feiten): Rustiger. Eet weer.\n" in text


# --- PDF -----------------------------------------------------------------------------------------


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_pdf_contains_the_overview_in_order():
    data = export_pdf(CASE, NOTES, TRACE, FOLLOWUPS, ORG, generated_at=NOW)
    assert data.startswith(b"%PDF-")
    text = pdf_text(data)
    order = positions(
        text,
        [
            TITLE,
            "Leerling: Leerling K7",
            "Organisatie: Onze Wijs",
            "Gegenereerd op: 20 november 2024 om 16:45",
            "Tijdlijn",
            "Signaal (stap 1)",
            "Collegiale consultatie (stap 2)",
            "Gesprek met ouder of leerling",
            "Melding bij Veilig Thuis (stap 5)",
            "Weging en besluiten",
            "Besluit I –",
            "Besluit II –",
            "Contacten",
            "Vervolgafspraken",
            "Leerling K7 observeren",
            "Navragen bij Veilig Thuis",
        ],
    )
    assert order == sorted(order)
    pages = len(PdfReader(io.BytesIO(data)).pages)
    assert text.rstrip().endswith(f"{FOOTER} — pagina {pages}/{pages}")
    assert "Hypothese of veronderstelling: Ik denk dat hij geslagen is." in text


def test_pdf_metadata_has_no_names():
    reader = PdfReader(io.BytesIO(export_pdf(CASE, NOTES, TRACE, FOLLOWUPS, ORG, generated_at=NOW)))
    assert reader.metadata.title == TITLE
    assert reader.metadata.author is None


def test_every_pdf_page_carries_the_confidentiality_footer():
    many = [
        Note(
            "vervolg",
            "teacher",
            at(1 + i % 28, 10),
            {
                "moment": f"2024-11-{1 + i % 28:02d}",
                "verloop": "Gaat iets beter in de klas. " * 6,
                "hulp_ontvangen": True,
                "volgende_stap": "",
            },
        )
        for i in range(40)
    ]
    reader = PdfReader(io.BytesIO(export_pdf(CASE, many, TRACE, FOLLOWUPS, ORG, generated_at=NOW)))
    assert len(reader.pages) > 2
    for number, page in enumerate(reader.pages, start=1):
        assert f"{FOOTER} — pagina {number}/{len(reader.pages)}" in page.extract_text()


@pytest.mark.skipif(not _unicode_font_available(), reason="DejaVuSans (Debian fonts-dejavu-core) not installed")
def test_unicode_font_keeps_dutch_and_turkish_letters():
    note = Note(
        "vervolg",
        "teacher",
        at(20, 9),
        {
            "moment": "2024-11-20",
            "verloop": "Coördinatie met Şule’s team.",
            "hulp_ontvangen": True,
            "volgende_stap": "",
        },
    )
    dossier = build_dossier(CASE, [note], TRACE, [], ORG, generated_at=NOW)
    assert "Coördinatie met Şule’s team." in pdf_text(render_pdf(dossier, NOW, unicode_font=True))


def test_core_font_fallback_sanitises_instead_of_failing():
    note = Note(
        "vervolg",
        "teacher",
        at(20, 9),
        {
            "moment": "2024-11-20",
            "verloop": "Coördinatie met Şule’s team.",
            "hulp_ontvangen": True,
            "volgende_stap": "",
        },
    )
    dossier = build_dossier(CASE, [note], TRACE, [], ORG, generated_at=NOW)
    text = pdf_text(render_pdf(dossier, NOW, unicode_font=False))
    assert "Coördinatie met ?ule's team." in text
    assert "Vertrouwelijk - opnemen in het leerlingdossier" in text


def test_store_records_can_be_exported_as_they_are():
    """NoteRecord and FollowUpRecord satisfy the export's protocols: no mapping layer to drift."""
    from bot.store.repositories import FollowUpRecord, NoteRecord

    note = NoteRecord(
        1, "c1", "vervolg", "u1", "teacher", {"verloop": "Rustig.", "volgende_stap": ""}, None, at(18, 11, 5)
    )
    followup = FollowUpRecord(2, "c1", "check_help", date(2024, 12, 2), "Navragen of de hulp loopt", at(18), None)
    text = export_markdown(CASE, [note], WeighingTrace(), [followup], ORG, generated_at=NOW)
    assert "### maandag 18 november 2024 om 11:05 — Vervolg (stap 5), vastgelegd door leerkracht of docent" in text
    assert "- 2 december 2024: Navragen of de hulp loopt — open" in text
