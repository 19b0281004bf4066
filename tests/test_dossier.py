"""bot.dossier: a case's dossier read from a real store (SQLite) as the viewer, the sealed download grant,
and the files the chat, the web download and `python -m bot export` hand out."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest
from cryptography import fernet
from pypdf import PdfReader

from bot import dossier
from bot.notes import AMSTERDAM
from bot.profiles import profile
from bot.store.db import repositories
from bot.store.identities import stored_identity
from bot.store.repositories import AccessDenied, CaseRecord, Repositories
from bot.weighing import ENTRY_ANSWER, ENTRY_PLAN

OWNER, OTHER, OFFICER = "web:teacher-1", "web:teacher-2", "web:af-1"
ORG_ID = "onzewijs"
SIGNAL = {
    "moment": "2026-11-12T08:30+01:00",
    "plaats": "klas",
    "situatie": "bij binnenkomst",
    "aanwezigen": "[collega]",
    "waarnemingen": "Blauwe plek op de wang van [leerling].",
    "hypothese": "Ik denk dat hij geslagen is.",
    "bron": "",
}
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=AMSTERDAM)


@pytest.fixture
def repos() -> Repositories:
    return repositories()


@pytest.fixture
def case(repos: Repositories) -> CaseRecord:
    """A case with a signal, a weighing that started help with a plan, and two follow-ups (one done)."""
    case = repos.cases.create(OWNER, ORG_ID, "Leerling K7MQ")
    repos.notes.add(case.id, "signaal", OWNER, "teacher", SIGNAL, datetime(2026, 11, 12, 7, 30, tzinfo=timezone.utc))
    for n, answer, outcome in ((1, "ja", None), (2, "nee", None), (3, "ja", None), (4, "ja", "start_help")):
        repos.weighing.add(case.id, n, answer, outcome, {"entry": ENTRY_ANSWER})
    repos.weighing.add(case.id, 4, "ja", "start_help", {"entry": ENTRY_PLAN, "term": "6 weken"})
    done = repos.followups.add(case.id, "parents_reached_help", date(2026, 11, 30), "Vraag na of de ouders ...")
    repos.followups.add(case.id, "help_term_end", date(2027, 1, 4), "De afgesproken termijn is voorbij.")
    repos.followups.complete(done.id, OWNER, "teacher")
    return case


def markdown(repos: Repositories, case: CaseRecord, viewer: str = OWNER, role: str = "teacher") -> str:
    _, overview = dossier.load(repos, case.id, viewer, role, profile(ORG_ID), NOW)
    return dossier.to_file(overview, case.pseudonym, dossier.MARKDOWN, NOW).data.decode("utf-8")


def test_the_dossier_holds_notes_weighing_plan_and_every_follow_up(repos: Repositories, case: CaseRecord) -> None:
    text = markdown(repos, case)
    assert "- **Leerling:** Leerling K7MQ" in text
    assert "Signaal" in text and "Blauwe plek op de wang van [leerling]." in text
    # The plan entry is not shown as a second answer to question 4: four answers, then the decisions.
    section = text.split("### Afwegingsvragen")[1].split("### Besluiten")[0]
    assert section.count(" — ") == 4
    assert "Besluit I" in text and "Besluit II" in text
    assert "### Afspraken over de hulp" in text and "6 weken" in text
    assert "30 november 2026: Vraag na of de ouders ... — afgerond op" in text
    assert "4 januari 2027: De afgesproken termijn is voorbij. — open" in text


def test_only_the_owner_and_the_attention_officer_of_the_organisation_may_load_it(
    repos: Repositories, case: CaseRecord
) -> None:
    with pytest.raises(AccessDenied):
        dossier.load(repos, case.id, OTHER, "teacher", profile(ORG_ID))
    with pytest.raises(AccessDenied):  # the stated role alone is not enough: the school must grant it
        dossier.load(repos, case.id, OFFICER, "attention_officer", profile(ORG_ID))
    repos.users.upsert(OFFICER, organisation_id=ORG_ID, role="attention_officer")
    with pytest.raises(AccessDenied):
        dossier.load(repos, case.id, OFFICER, "attention_officer", profile(ORG_ID))
    repos.roles.grant(OFFICER, ORG_ID, "attention_officer", actor="admin")
    assert "Leerling K7MQ" in markdown(repos, case, OFFICER, "attention_officer")


def test_timeline_puts_notes_and_the_weighing_in_time_order(repos: Repositories, case: CaseRecord) -> None:
    notes = repos.notes.list(case.id, OWNER, "teacher")
    lines = dossier.timeline(notes, repos.weighing.trace(case.id), profile(ORG_ID))
    assert lines[0] == "donderdag 12 november 2026 om 08:30: Signaal"
    assert lines[1].endswith("Weging: Hulp in gang zetten en het resultaat volgen")
    assert dossier.timeline([], [], profile(ORG_ID)) == []


def test_a_download_grant_round_trips_and_reveals_nothing(case: CaseRecord) -> None:
    token = dossier.download_token(dossier.Grant(case.id, OWNER, "teacher"))
    assert case.id not in token and "teacher" not in token
    assert dossier.read_download_token(token) == dossier.Grant(case.id, OWNER, "teacher")
    links = dossier.download_links(token)
    assert [link["url"] for link in links] == [f"dossier/{token}/pdf", f"dossier/{token}/md"]


def test_an_expired_forged_or_foreign_token_grants_nothing(case: CaseRecord, monkeypatch: pytest.MonkeyPatch) -> None:
    token = dossier.download_token(dossier.Grant(case.id, OWNER, None))
    later = fernet.time.time() + dossier.DOWNLOAD_MINUTES * 60 + 5
    monkeypatch.setattr(fernet.time, "time", lambda: later)
    assert dossier.read_download_token(token) is None
    monkeypatch.undo()
    assert dossier.read_download_token(token[:-4] + "AAAA") is None
    assert dossier.read_download_token(token + "x") is None  # base64 would silently ignore the extra text
    assert dossier.read_download_token("niet-een-token") is None
    assert dossier.read_download_token("ö") is None
    # Sealed with this key but for another purpose: refused.
    from bot.store import crypto

    assert dossier.read_download_token(crypto.seal({"p": "other", "c": case.id, "v": OWNER, "r": None})) is None


def test_export_file_renders_a_pdf_with_the_pseudonym_and_a_safe_name(repos: Repositories, case: CaseRecord) -> None:
    file = dossier.export_file(repos, dossier.Grant(case.id, OWNER, "teacher"), dossier.PDF, profile(ORG_ID), NOW)
    assert file.filename == "dossier-leerling-k7mq-2026-11-23.pdf" and file.content_type == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(file.data)).pages)
    assert "Leerling K7MQ" in text and "Blauwe plek op de wang" in text
    assert dossier.filename("Léérling / ../x", date(2026, 1, 2), "md") == "dossier-l-rling-x-2026-01-02.md"


def test_cli_export_writes_pdf_and_markdown_and_refuses_others(repos: Repositories, tmp_path) -> None:
    # The admin types the clear identity; the store holds the case under its keyed hash.
    case = repos.cases.create(stored_identity(OWNER), ORG_ID, "Leerling K7MQ")
    out = tmp_path / "export"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "export", case.id, "--out", str(out), "--viewer", OWNER],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert [n.rsplit(".", 1)[1] for n in names] == ["md", "pdf"]
    assert "Leerling K7MQ" in (out / names[0]).read_text(encoding="utf-8")
    assert PdfReader(str(out / names[1])).pages

    refused = subprocess.run(
        [sys.executable, "-m", "bot", "export", case.id, "--out", str(tmp_path / "x"), "--viewer", OTHER],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert refused.returncode == 1 and "may not read" in refused.stderr
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_cli_purge_reports_cases_and_conversation_events(repos: Repositories, case: CaseRecord) -> None:
    repos.cases.close(case.id)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "purge", "--older-than", "180d", "--conversations-older-than", "30d"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "deleted 0 closed case(s) and 0 conversation event(s)" in result.stdout
    assert repos.cases.get(case.id, OWNER, "teacher").closed_at > datetime.now(timezone.utc) - timedelta(minutes=5)
